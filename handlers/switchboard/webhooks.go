package switchboard

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"switchboard/handlers/errkind"
	"switchboard/handlers/jsonbody"
	"switchboard/handlers/keyauth"
	"switchboard/models"
	"switchboard/store"
)

// WebhookRequest is a new subscription as the REST route and the CLI take
// it, before it is checked.
type WebhookRequest struct {
	URL    string
	Format string
	// Events are event names of the format (nil: all of them).
	Events []string
	// Secret signs the requests; "" makes one (NewSecret).
	Secret string
}

// standardSecretPrefix starts every Standard Webhooks secret.
const standardSecretPrefix = "whsec_"

// NewSecret returns a fresh random secret in the format's usual form: for
// standard "whsec_" and the base64 of 24 random bytes, as Standard Webhooks
// spells its secrets; for helpcrunch and acquire 64 hex characters (32
// random bytes, a full HMAC-SHA256 block's worth of key). It returns an
// error only when the system's random source fails.
func NewSecret(f models.WebhookFormat) (string, error) {
	n := 32
	if f == models.FormatStandard {
		n = 24
	}
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("make a webhook secret: %w", err)
	}
	if f == models.FormatStandard {
		return standardSecretPrefix + base64.StdEncoding.EncodeToString(b), nil
	}
	return hex.EncodeToString(b), nil
}

// Minimum lengths of a secret the client gives: Standard Webhooks asks for
// 24 to 64 bytes of key; the vendors' HMACs take any, but a short one is
// guessable.
const (
	minSecretBytes = 24
	maxSecretBytes = 64
	minSecretChars = 16
)

// BuildWebhook checks a new subscription against the format's catalog and
// returns what the store takes: the event names as given, the model's event
// types they stand for, and the secret given or a new one. It returns
// store.FieldErrors naming every field that is wrong (url, format, events,
// secret), each by the request's name of it, or the random source's error.
func BuildWebhook(catalogs map[models.WebhookFormat]Catalog, in WebhookRequest) (store.NewWebhook, error) {
	var fe store.FieldErrors
	checkURL(&fe, in.URL)
	f := models.WebhookFormat(in.Format)
	if !f.Valid() {
		fe.Add("format", "must be helpcrunch, acquire or standard")
	}
	out := store.NewWebhook{URL: strings.TrimSpace(in.URL), Format: f}
	if f.Valid() && len(in.Events) > 0 {
		cat := catalogs[f]
		seen := map[string]bool{}
		for _, name := range in.Events {
			name = strings.TrimSpace(name)
			if seen[name] {
				continue
			}
			seen[name] = true
			var types []models.EventType
			ok := cat != nil
			if ok {
				types, ok = cat.TypesOf(name)
			}
			if !ok {
				fe.Add("events", "%q is no %s event", name, f)
				continue
			}
			out.Events = append(out.Events, name)
			for _, t := range types {
				if !slices.Contains(out.Types, t) {
					out.Types = append(out.Types, t)
				}
			}
		}
	}
	if in.Secret != "" {
		checkSecret(&fe, f, in.Secret)
		out.Secret = in.Secret
	}
	if err := fe.Err(); err != nil {
		return store.NewWebhook{}, err
	}
	if out.Secret == "" {
		s, err := NewSecret(f)
		if err != nil {
			return store.NewWebhook{}, err
		}
		out.Secret = s
	}
	return out, nil
}

// checkURL adds to fe what is wrong with a subscription's url: it must be
// an absolute http or https URL with a host and no user or fragment. Where
// it points is checked when it is sent to (the delivery worker refuses
// private addresses unless allowed).
func checkURL(fe *store.FieldErrors, raw string) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		fe.Add("url", "must not be empty")
		return
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		fe.Add("url", "is not a URL")
	case u.Scheme != "http" && u.Scheme != "https":
		fe.Add("url", "must start with https:// or http://")
	case u.Host == "" || u.Hostname() == "":
		fe.Add("url", "must name a host")
	case u.User != nil:
		fe.Add("url", "must not carry a user or password")
	case u.Fragment != "":
		fe.Add("url", "must not have a fragment")
	case len(raw) > models.MaxURLLen:
		fe.Add("url", "must be at most %d characters", models.MaxURLLen)
	}
}

// checkSecret adds to fe what is wrong with a secret the client gave.
func checkSecret(fe *store.FieldErrors, f models.WebhookFormat, s string) {
	if strings.TrimSpace(s) != s || strings.ContainsAny(s, "\x00\r\n") {
		fe.Add("secret", "must not have spaces at its ends or control characters")
		return
	}
	if f != models.FormatStandard {
		if len(s) < minSecretChars || len(s) > models.MaxNameLen {
			fe.Add("secret", "must be %d to %d characters", minSecretChars, models.MaxNameLen)
		}
		return
	}
	b64, ok := strings.CutPrefix(s, standardSecretPrefix)
	key, err := base64.StdEncoding.DecodeString(b64)
	if !ok || err != nil || len(key) < minSecretBytes || len(key) > maxSecretBytes {
		fe.Add("secret", "must be %s followed by the base64 of %d to %d bytes", standardSecretPrefix, minSecretBytes, maxSecretBytes)
	}
}

// webhookJSON is a subscription as the REST route shows it. Secret is set
// only in the answer to its creation.
type webhookJSON struct {
	ID             int64    `json:"id"`
	URL            string   `json:"url"`
	Format         string   `json:"format"`
	Events         []string `json:"events"`
	Status         string   `json:"status"`
	DisabledReason string   `json:"disabled_reason"`
	Secret         string   `json:"secret,omitempty"`
	CreatedAt      string   `json:"created_at"`
	UpdatedAt      string   `json:"updated_at"`
}

// timeJSON is how the namespace writes times: RFC 3339 UTC with
// milliseconds.
func timeJSON(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") }

// ToWebhookJSON returns the subscription as the REST route shows it,
// without its secret; events is [] for all.
func toWebhookJSON(w models.Webhook) webhookJSON {
	events := []string{}
	if w.Events != "" {
		events = strings.Split(w.Events, ",")
	}
	return webhookJSON{ID: w.ID, URL: w.URL, Format: string(w.Format), Events: events, Status: string(w.Status),
		DisabledReason: w.DisabledReason, CreatedAt: timeJSON(w.CreatedAt), UpdatedAt: timeJSON(w.UpdatedAt)}
}

// deliveryJSON is one delivery of a subscription as the REST route shows
// it.
type deliveryJSON struct {
	ID             int64   `json:"id"`
	DeliveryID     string  `json:"delivery_id"`
	EventID        int64   `json:"event_id"`
	EventSeq       int64   `json:"event_seq"`
	Status         string  `json:"status"`
	Attempts       int     `json:"attempts"`
	NextAttemptAt  *string `json:"next_attempt_at"`
	LastAttemptAt  *string `json:"last_attempt_at"`
	LastError      string  `json:"last_error"`
	ResponseStatus int     `json:"response_status"`
	CreatedAt      string  `json:"created_at"`
}

// toDeliveryJSON returns the delivery as the REST route shows it: its next
// attempt only while one is due.
func toDeliveryJSON(d models.WebhookDelivery) deliveryJSON {
	out := deliveryJSON{ID: d.ID, DeliveryID: d.Reference, EventID: d.EventID, EventSeq: d.EventSeq, Status: string(d.Status),
		Attempts: d.Attempts, LastError: d.LastError, ResponseStatus: d.ResponseStatus, CreatedAt: timeJSON(d.CreatedAt)}
	if d.Status == models.DeliveryQueued || d.Status == models.DeliverySending {
		s := timeJSON(d.NextAttemptAt)
		out.NextAttemptAt = &s
	}
	if d.LastAttemptAt != nil {
		s := timeJSON(*d.LastAttemptAt)
		out.LastAttemptAt = &s
	}
	return out
}

// errNotJSON is a create body that is not a JSON object.
var errNotJSON = &apiError{status: http.StatusBadRequest, code: codeBadRequest, message: "The body must be a JSON object"}

// readWebhookRequest reads a create body: {url, format, events?, secret?}.
// A member of the wrong type is a field error beside the others; a body
// that is not a JSON object is errNotJSON.
func readWebhookRequest(c echo.Context) (WebhookRequest, store.FieldErrors, error) {
	b, err := io.ReadAll(c.Request().Body)
	if err != nil {
		var he *echo.HTTPError
		if errors.As(err, &he) {
			return WebhookRequest{}, nil, err
		}
		return WebhookRequest{}, nil, errNotJSON
	}
	var fe store.FieldErrors
	report := func(f jsonbody.FieldError) {
		switch f.Kind {
		case jsonbody.Missing:
			fe.Add(f.Path.Full(), "is required")
		case jsonbody.WrongType:
			fe.Add(f.Path.Full(), "must be a %s", f.Want)
		default:
			fe.Add(f.Path.Full(), "%s", f.Kind)
		}
	}
	obj, err := jsonbody.Parse(b, report)
	if err != nil {
		return WebhookRequest{}, nil, errNotJSON
	}
	var in WebhookRequest
	in.URL, _ = obj.String("url")
	in.Format, _ = obj.String("format")
	in.Events, _ = obj.StringArray("events", false)
	in.Secret, _ = obj.OptionalString("secret")
	return in, fe, nil
}

// createWebhook is POST /switchboard/v1/webhooks: 201 with the
// subscription and its secret, shown only here.
func (a *api) createWebhook(c echo.Context) error {
	cl, err := keyauth.Caller(c)
	if err != nil {
		return err
	}
	in, fe, err := readWebhookRequest(c)
	if err != nil {
		return err
	}
	nw, err := BuildWebhook(a.catalogs, in)
	if err != nil {
		var more store.FieldErrors
		if !errors.As(err, &more) {
			return err
		}
		// The type errors first, then what BuildWebhook found of the
		// rest; a field reported twice keeps the first.
		for _, f := range more {
			if !slices.ContainsFunc(fe, func(g store.FieldError) bool { return g.Field == f.Field }) {
				fe = append(fe, f)
			}
		}
	}
	if err := fe.Err(); err != nil {
		return err
	}
	w, err := a.store.CreateWebhook(c.Request().Context(), cl.AccountID, nw)
	if err != nil {
		return err
	}
	out := toWebhookJSON(w)
	out.Secret = w.Secret
	return c.JSON(http.StatusCreated, out)
}

// webhookList is the answer of GET /switchboard/v1/webhooks.
type webhookList struct {
	Webhooks []webhookJSON `json:"webhooks"`
}

// listWebhooks is GET /switchboard/v1/webhooks: the account's
// subscriptions by id, without their secrets.
func (a *api) listWebhooks(c echo.Context) error {
	cl, err := keyauth.Caller(c)
	if err != nil {
		return err
	}
	list, err := a.store.Webhooks(c.Request().Context(), cl.AccountID)
	if err != nil {
		return err
	}
	out := webhookList{Webhooks: make([]webhookJSON, len(list))}
	for i, w := range list {
		out.Webhooks[i] = toWebhookJSON(w)
	}
	return c.JSON(http.StatusOK, out)
}

// pathWebhookID returns the :id of the path; one that is not a positive
// integer is a webhook that does not exist.
func pathWebhookID(c echo.Context) (int64, error) {
	raw := c.Param("id")
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id <= 0 {
		return 0, errkind.LookupPath(&store.NotFoundError{Entity: "webhook"}, "webhook", raw)
	}
	return id, nil
}

// webhookTarget returns the caller's account and the webhook id of the
// path: a route on one subscription starts with both.
func webhookTarget(c echo.Context) (accountID, id int64, err error) {
	cl, err := keyauth.Caller(c)
	if err != nil {
		return 0, 0, err
	}
	id, err = pathWebhookID(c)
	if err != nil {
		return 0, 0, err
	}
	return cl.AccountID, id, nil
}

// getWebhook is GET /switchboard/v1/webhooks/{id}.
func (a *api) getWebhook(c echo.Context) error {
	acct, id, err := webhookTarget(c)
	if err != nil {
		return err
	}
	w, err := a.store.Webhook(c.Request().Context(), acct, id)
	if err != nil {
		return errkind.LookupPath(err, "webhook", c.Param("id"))
	}
	return c.JSON(http.StatusOK, toWebhookJSON(w))
}

// deleteWebhook is DELETE /switchboard/v1/webhooks/{id}: 204, the
// subscription and its deliveries gone.
func (a *api) deleteWebhook(c echo.Context) error {
	acct, id, err := webhookTarget(c)
	if err != nil {
		return err
	}
	if err := a.store.DeleteWebhook(c.Request().Context(), acct, id); err != nil {
		return errkind.LookupPath(err, "webhook", c.Param("id"))
	}
	return c.NoContent(http.StatusNoContent)
}

// disabledByAPI is the reason a subscription disabled through the REST
// route shows.
const disabledByAPI = "disabled through the API"

// disableWebhook is POST /switchboard/v1/webhooks/{id}/disable: the
// subscription, now disabled (and as it was when it already was).
func (a *api) disableWebhook(c echo.Context) error {
	acct, id, err := webhookTarget(c)
	if err != nil {
		return err
	}
	w, err := a.store.DisableWebhook(c.Request().Context(), acct, id, disabledByAPI)
	if err != nil {
		return errkind.LookupPath(err, "webhook", c.Param("id"))
	}
	return c.JSON(http.StatusOK, toWebhookJSON(w))
}

// deliveryList is the answer of GET /switchboard/v1/webhooks/{id}/deliveries.
type deliveryList struct {
	Deliveries []deliveryJSON `json:"deliveries"`
}

// listDeliveries is GET /switchboard/v1/webhooks/{id}/deliveries: the
// subscription's deliveries, newest first; ?status= keeps one status,
// ?before= pages back (deliveries with a smaller id), ?limit= (1 to 100,
// default 100) bounds the page.
func (a *api) listDeliveries(c echo.Context) error {
	acct, id, err := webhookTarget(c)
	if err != nil {
		return err
	}
	var fe store.FieldErrors
	var f store.WebhookDeliveryFilter
	q := c.QueryParams()
	if s := q.Get("status"); s != "" {
		st := models.DeliveryStatus(s)
		if !slices.Contains([]models.DeliveryStatus{models.DeliveryQueued, models.DeliverySending, models.DeliverySent, models.DeliveryFailed}, st) {
			fe.Add("status", "must be queued, sending, sent or failed")
		}
		f.Status = st
	}
	if s := q.Get("before"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 {
			fe.Add("before", "must be a positive integer")
		}
		f.Before = n
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 100 {
			fe.Add("limit", "must be an integer from 1 to 100")
		}
		f.Limit = n
	}
	if err := fe.Err(); err != nil {
		return err
	}
	list, err := a.store.WebhookDeliveries(c.Request().Context(), acct, id, f)
	if err != nil {
		return errkind.LookupPath(err, "webhook", c.Param("id"))
	}
	out := deliveryList{Deliveries: make([]deliveryJSON, len(list))}
	for i, d := range list {
		out.Deliveries[i] = toDeliveryJSON(d)
	}
	return c.JSON(http.StatusOK, out)
}
