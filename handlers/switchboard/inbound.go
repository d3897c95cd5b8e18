package switchboard

import (
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"switchboard/delivery"
	"switchboard/inbound"
	"switchboard/models"
	"switchboard/store"
)

// The routes that take in what customers send back. Providers cannot send
// an API key: the SMS routes check the provider's X-Twilio-Signature, the
// email route the inbox's own secret.
const (
	pathInboundSMS    = prefix + "/inbound/sms"
	pathInboundStatus = InboundSMSStatusPath
	pathInboundEmail  = prefix + "/inbound/email/:inbox"
)

// InboundSMSStatusPath is the path of the SMS status callback: the SMS
// sender asks the provider to post delivery receipts to the public URL
// followed by it.
const InboundSMSStatusPath = prefix + "/inbound/sms/status"

// smsBodyLimit bounds a provider's SMS or status form: a few kilobytes of
// fields, ten media URLs at most.
const smsBodyLimit = "64K"

// emailFormSlack is what a multipart or form body may carry beyond the
// email itself: the other fields a provider posts beside it and the
// encoding's overhead.
const emailFormSlack = 1 << 20

// emptyTwiML answers an SMS that arrived: a TwiML response without a
// message, so that the provider sends no automatic reply.
const emptyTwiML = `<?xml version="1.0" encoding="UTF-8"?><Response></Response>`

// InboundStore is what the inbound routes write; *store.Store is the real
// one.
type InboundStore interface {
	ReceiveSMS(ctx context.Context, in store.InboundSMS) ([]store.InboundResult, error)
	SMSReceipt(ctx context.Context, r store.InboundReceipt) (store.InboundResult, error)
	InboxBySecret(ctx context.Context, id int64, secret string) (models.Inbox, error)
	ReceiveEmail(ctx context.Context, inboxID int64, in store.InboundEmail) (store.InboundResult, error)
}

// The inbound routes' own refusals.
var (
	errBadSignature = &apiError{status: http.StatusForbidden, code: codeForbidden,
		message: "X-Twilio-Signature is missing or does not match this request signed with the SMS provider's auth token"}
	errInboxAuth = &apiError{status: http.StatusUnauthorized, code: codeUnauthorized,
		message: "Unknown inbox or wrong secret: send the email inbox's secret as Authorization: Bearer <secret> (or as the Basic password)"}
	errEmailTooLarge = &apiError{status: http.StatusRequestEntityTooLarge, code: codeTooLarge,
		message: "The email is larger than this server takes"}
	errNoEmailField = &apiError{status: http.StatusBadRequest, code: codeBadRequest,
		message: "The form has no field email (SendGrid's raw MIME) or body-mime (Mailgun's): post the message itself, or one of those"}
)

// inboundRoute is one of the inbound routes and its body limit.
type inboundRoute struct {
	method, path, bodyLimit string
	handler                 func(*api, echo.Context) error
}

// inboundRoutes lists the inbound routes; emailLimit is the largest email
// the email route takes.
func inboundRoutes(emailLimit int64) []inboundRoute {
	return []inboundRoute{
		{http.MethodPost, pathInboundSMS, smsBodyLimit, (*api).inboundSMS},
		{http.MethodPost, pathInboundStatus, smsBodyLimit, (*api).inboundSMSStatus},
		{http.MethodPost, pathInboundEmail, strconv.FormatInt(emailLimit+emailFormSlack, 10), (*api).inboundEmail},
	}
}

// emailLimit returns the largest email the email route takes.
func (c InboundConfig) emailLimit() int64 {
	if c.EmailLimit <= 0 {
		return inbound.DefaultMaxMessageBytes
	}
	return c.EmailLimit
}

// inboundSMS is POST /switchboard/v1/inbound/sms, the provider's webhook
// for an SMS that arrived at one of the accounts' numbers. A form signed
// wrongly, or with no auth token configured, is refused with 403 before
// anything is read into the store. A status callback sent to this URL is
// taken as one (and answered the same way). The SMS lands in every account with the number, once per
// MessageSid; the answer is an empty TwiML response (no automatic reply).
func (a *api) inboundSMS(c echo.Context) error {
	form, err := a.signedForm(c)
	if err != nil {
		return err
	}
	if inbound.IsReceipt(form) {
		if err := a.receipt(c, form); err != nil {
			return err
		}
		return c.Blob(http.StatusOK, "text/xml", []byte(emptyTwiML))
	}
	sms, err := inbound.ParseSMS(form)
	if err != nil {
		return err
	}
	if _, err := a.inbound.ReceiveSMS(c.Request().Context(), sms); err != nil {
		return err
	}
	return c.Blob(http.StatusOK, "text/xml", []byte(emptyTwiML))
}

// inboundSMSStatus is POST /switchboard/v1/inbound/sms/status, the status
// callback of an SMS sent: checked like inboundSMS, then recorded by
// receipt.
func (a *api) inboundSMSStatus(c echo.Context) error {
	form, err := a.signedForm(c)
	if err != nil {
		return err
	}
	if err := a.receipt(c, form); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, struct{}{})
}

// receipt records the status callback form: a final status (delivered,
// undelivered, failed) changes the SMS's delivery status, once; any other
// changes nothing. The URL's query names the delivery when the sender put
// it there (delivery.Twilio does), which finds an SMS whose sid is not
// recorded yet. It returns the form's FieldErrors, and the store's
// ErrNotFound for a final status of an SMS never sent.
func (a *api) receipt(c echo.Context, form url.Values) error {
	sid, status, reason, final, err := inbound.ParseReceipt(form)
	if err != nil || !final {
		return err
	}
	r := store.InboundReceipt{SID: sid, Status: status, Reason: reason}
	r.DeliveryID, r.Reference = delivery.CallbackDelivery(c.Request().URL.Query())
	_, err = a.inbound.SMSReceipt(c.Request().Context(), r)
	return err
}

// signedForm returns the request's form parameters if X-Twilio-Signature
// is their signature with the URL the provider posted to, keyed with the
// SMS auth token; errBadSignature otherwise, and always when no token is
// configured.
func (a *api) signedForm(c echo.Context) (url.Values, error) {
	r := c.Request()
	if err := r.ParseForm(); err != nil {
		var he *echo.HTTPError
		if errors.As(err, &he) {
			return nil, he
		}
		return nil, &apiError{status: http.StatusBadRequest, code: codeBadRequest, message: "The body is not a form: " + err.Error()}
	}
	sig := r.Header.Get("X-Twilio-Signature")
	for _, u := range a.signedURLs(c) {
		if inbound.ValidTwilioSignature(a.inboundCfg.SMSAuthToken, u, r.PostForm, sig) {
			return r.PostForm, nil
		}
	}
	return nil, errBadSignature
}

// signedURLs returns the URLs the provider may have signed for this
// request: the configured public URL with the request's path and query;
// or, without one, the request's host with the scheme the connection or a
// proxy's X-Forwarded-Proto says and with the connection's own. The
// headers choose only between http and https for the same host and URI,
// and the signature must still be made with the token either way.
func (a *api) signedURLs(c echo.Context) []string {
	r := c.Request()
	uri := r.RequestURI
	if uri == "" {
		uri = r.URL.RequestURI()
	}
	if base := strings.TrimSuffix(a.inboundCfg.PublicURL, "/"); base != "" {
		return []string{base + uri}
	}
	own := "http"
	if r.TLS != nil {
		own = "https"
	}
	out := []string{own + "://" + r.Host + uri}
	if s := c.Scheme(); s != own && (s == "http" || s == "https") {
		out = append(out, s+"://"+r.Host+uri)
	}
	return out
}

// inboundEmailJSON is the answer to an email taken in: what it did, and the
// case and message it wrote or found (null for none).
type inboundEmailJSON struct {
	Outcome   string `json:"outcome"`
	CaseID    *int64 `json:"case_id"`
	MessageID *int64 `json:"message_id"`
}

// inboundEmail is POST /switchboard/v1/inbound/email/{inbox}: a provider
// forwarding an email that arrived for the email inbox, authenticated by
// the inbox's secret (Bearer, or the Basic password). The body is the raw
// message, or a multipart or URL-encoded form with it in the field email
// (SendGrid's raw MIME) or body-mime (Mailgun's). An unknown inbox, an SMS
// inbox and a wrong or missing secret get the same 401; an email larger
// than the configured limit 413; one that is not a message 400.
func (a *api) inboundEmail(c echo.Context) error {
	ctx := c.Request().Context()
	inbox, err := a.emailInbox(c)
	if err != nil {
		return err
	}
	body, err := emailBody(c)
	if err != nil {
		return err
	}
	capped := &cappedReader{r: body, left: a.inboundCfg.emailLimit()}
	in, err := inbound.ParseEmail(capped)
	if err == nil {
		// What the parser left unread still counts toward the limit.
		_, err = io.Copy(io.Discard, capped)
	}
	switch {
	case capped.over || errors.Is(err, echo.ErrStatusRequestEntityTooLarge):
		return errEmailTooLarge
	case errors.Is(err, inbound.ErrMalformed):
		return &apiError{status: http.StatusBadRequest, code: codeBadRequest, message: "The body is not an email: " + err.Error()}
	case err != nil:
		return err
	}
	res, err := a.inbound.ReceiveEmail(ctx, inbox.ID, in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, inboundEmailJSON{Outcome: string(res.Outcome), CaseID: idOrNull(res.CaseID), MessageID: idOrNull(res.MessageID)})
}

// emailInbox returns the email inbox the request names, if its credentials
// carry the inbox's secret; errInboxAuth for every other case alike, and
// the store's error when it fails.
func (a *api) emailInbox(c echo.Context) (models.Inbox, error) {
	id, err := strconv.ParseInt(c.Param("inbox"), 10, 64)
	if err != nil || id <= 0 {
		return models.Inbox{}, errInboxAuth
	}
	secret := ""
	if _, pass, ok := c.Request().BasicAuth(); ok {
		secret = pass
	} else if tok, ok := strings.CutPrefix(c.Request().Header.Get(echo.HeaderAuthorization), "Bearer "); ok {
		secret = strings.TrimSpace(tok)
	}
	if secret == "" {
		return models.Inbox{}, errInboxAuth
	}
	inbox, err := a.inbound.InboxBySecret(c.Request().Context(), id, secret)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return models.Inbox{}, errInboxAuth
	case err != nil:
		return models.Inbox{}, err
	case inbox.Kind != models.InboxEmail:
		return models.Inbox{}, errInboxAuth
	}
	return inbox, nil
}

// emailBody returns the reader of the raw email in the request: the body
// itself, or the email or body-mime field of a multipart form (read as it
// streams in) or of a URL-encoded one. It returns errNoEmailField for a
// form without either.
func emailBody(c echo.Context) (io.Reader, error) {
	r := c.Request()
	ct, params, _ := mime.ParseMediaType(r.Header.Get(echo.HeaderContentType))
	switch ct {
	case echo.MIMEMultipartForm:
		if params["boundary"] == "" {
			return nil, &apiError{status: http.StatusBadRequest, code: codeBadRequest, message: "The multipart form has no boundary"}
		}
		mr, err := r.MultipartReader()
		if err != nil {
			return nil, &apiError{status: http.StatusBadRequest, code: codeBadRequest, message: "The body is not a multipart form: " + err.Error()}
		}
		for {
			p, err := mr.NextPart()
			switch {
			case errors.Is(err, io.EOF):
				return nil, errNoEmailField
			case errors.Is(err, echo.ErrStatusRequestEntityTooLarge):
				return nil, errEmailTooLarge
			case err != nil:
				return nil, &apiError{status: http.StatusBadRequest, code: codeBadRequest, message: "The multipart form is broken: " + err.Error()}
			}
			if name := p.FormName(); name == "email" || name == "body-mime" {
				return p, nil
			}
		}
	case echo.MIMEApplicationForm:
		if err := r.ParseForm(); err != nil {
			if errors.Is(err, echo.ErrStatusRequestEntityTooLarge) {
				return nil, errEmailTooLarge
			}
			return nil, &apiError{status: http.StatusBadRequest, code: codeBadRequest, message: "The body is not a form: " + err.Error()}
		}
		for _, name := range []string{"email", "body-mime"} {
			if v := r.PostForm.Get(name); v != "" {
				return strings.NewReader(v), nil
			}
		}
		return nil, errNoEmailField
	}
	return r.Body, nil
}

// cappedReader reads r up to left bytes; reading past them fails, and over
// records that it did.
type cappedReader struct {
	r    io.Reader
	left int64
	over bool
}

func (c *cappedReader) Read(p []byte) (int, error) {
	if c.over {
		return 0, errEmailTooLarge
	}
	if int64(len(p)) > c.left+1 {
		p = p[:c.left+1]
	}
	n, err := c.r.Read(p)
	if int64(n) > c.left {
		c.over = true
		return int(c.left), errEmailTooLarge
	}
	c.left -= int64(n)
	return n, err
}

// idOrNull returns &id, nil for 0.
func idOrNull(id int64) *int64 {
	if id == 0 {
		return nil
	}
	return &id
}
