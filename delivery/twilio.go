package delivery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"switchboard/models"
	"switchboard/store"
)

// Twilio sends SMS through Twilio's Messages API or any service that speaks
// it. It is safe for concurrent use.
type Twilio struct {
	endpoint       string
	accountSID     string
	authToken      string
	statusCallback *url.URL
	client         *http.Client
}

// TwilioOptions tunes a Twilio sender; its zero value is the defaults.
type TwilioOptions struct {
	// Client sends the requests; nil is a client without timeout (Send's
	// context bounds each request). A copy of it is used that does not
	// follow redirects, since following one would turn the POST into a GET.
	Client *http.Client
	// StatusCallback, when set, is the absolute http(s) URL the provider is
	// asked to post each SMS's status changes to (its delivery receipts):
	// the server's /switchboard/v1/inbound/sms/status. Each SMS's callback
	// names its delivery in the query (see CallbackDelivery).
	StatusCallback string
}

// maxResponse bounds how much of a provider's answer is read: a JSON object
// of a few hundred bytes, or an error page.
const maxResponse = 1 << 20

// NewTwilio returns a sender posting to {baseURL}/2010-04-01/Accounts/{sid}/Messages.json
// (baseURL is https://api.twilio.com for Twilio itself) with HTTP Basic auth
// accountSID:authToken, tuned by opts. It returns an error for a base URL or
// status callback URL that is not absolute http(s), or empty credentials.
func NewTwilio(baseURL, accountSID, authToken string, opts TwilioOptions) (*Twilio, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("sms provider url %q: must be an absolute http or https URL without query", baseURL)
	}
	if accountSID == "" || authToken == "" {
		return nil, errors.New("sms provider: account SID and auth token are required")
	}
	var callback *url.URL
	if cb := opts.StatusCallback; cb != "" {
		cu, err := url.Parse(cb)
		if err != nil || (cu.Scheme != "http" && cu.Scheme != "https") || cu.Host == "" || cu.Fragment != "" {
			return nil, fmt.Errorf("sms status callback %q: must be an absolute http or https URL", cb)
		}
		callback = cu
	}
	var c http.Client
	if opts.Client != nil {
		c = *opts.Client
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &Twilio{
		endpoint:       strings.TrimSuffix(u.String(), "/") + "/2010-04-01/Accounts/" + url.PathEscape(accountSID) + "/Messages.json",
		accountSID:     accountSID,
		authToken:      authToken,
		statusCallback: callback,
		client:         &c,
	}, nil
}

// The query parameters of an SMS's status callback URL that name its
// delivery.
const (
	callbackDeliveryParam  = "delivery"
	callbackReferenceParam = "ref"
)

// callbackURL returns the status callback URL for the SMS of d: base with
// the delivery's id and reference added to its query. The provider posts
// its receipt to exactly this URL and signs it, query included, so a
// receipt that comes before the send's answer has been recorded still
// names its SMS.
func callbackURL(base *url.URL, d models.Delivery) string {
	u := *base
	q := u.Query()
	q.Set(callbackDeliveryParam, strconv.FormatInt(d.ID, 10))
	q.Set(callbackReferenceParam, d.Reference)
	u.RawQuery = q.Encode()
	return u.String()
}

// CallbackDelivery returns the delivery id and reference that a status
// callback URL made by a Twilio sender carries in query, or 0 and "" when
// it carries none (a receipt to a URL set by hand, or an older send).
func CallbackDelivery(query url.Values) (id int64, reference string) {
	id, err := strconv.ParseInt(query.Get(callbackDeliveryParam), 10, 64)
	reference = query.Get(callbackReferenceParam)
	if err != nil || id < 1 || reference == "" {
		return 0, ""
	}
	return id, reference
}

// twilioAnswer is the part of the provider's JSON this client reads: sid on
// success, code and message on error.
type twilioAnswer struct {
	SID     string `json:"sid"`
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// Send posts the SMS of o with the delivery's reference as the
// I-Twilio-Idempotency-Token, so that a resend is not a second SMS, and the
// status callback URL when there is one. It
// returns the provider's message sid. A 429, a 5xx, another unexpected
// status and network errors are temporary; any other 4xx is ErrPermanent
// with the provider's message and code.
func (t *Twilio) Send(ctx context.Context, o store.Outgoing) (string, error) {
	if o.Delivery.Kind != models.InboxSMS {
		return "", fmt.Errorf("%w: sms sender given a %s delivery", ErrPermanent, o.Delivery.Kind)
	}
	if o.Delivery.Reference == "" {
		// Without its token a resend would be a second SMS.
		return "", fmt.Errorf("%w: delivery %d has no idempotency reference", ErrPermanent, o.Delivery.ID)
	}
	form := url.Values{"To": {o.Message.SMSTo}, "From": {o.Message.SMSFrom}, "Body": {o.Message.Text}}
	if t.statusCallback != nil {
		form.Set("StatusCallback", callbackURL(t.statusCallback, o.Delivery))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return "", fmt.Errorf("%w: sms request: %w", ErrPermanent, err)
	}
	req.SetBasicAuth(t.accountSID, t.authToken)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("I-Twilio-Idempotency-Token", o.Delivery.Reference)
	resp, err := t.client.Do(req)
	if err != nil {
		return "", fmt.Errorf("sms provider: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	var ans twilioAnswer
	jsonErr := json.Unmarshal(body, &ans)
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode <= 299:
		// The provider took the message: a body cut short or without a sid
		// costs the reference, not the send, which must not be repeated.
		return ans.SID, nil
	case err != nil:
		return "", fmt.Errorf("sms provider answered %s and the body failed: %w", resp.Status, err)
	}
	detail := providerDetail(body, ans, jsonErr)
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 ||
		resp.StatusCode < 400 {
		return "", fmt.Errorf("sms provider answered %s: %s", resp.Status, detail)
	}
	return "", fmt.Errorf("%w: sms provider answered %s: %s", ErrPermanent, resp.Status, detail)
}

// providerDetail returns the provider's error message and code, or the start
// of a body that is not its JSON.
func providerDetail(body []byte, ans twilioAnswer, jsonErr error) string {
	switch {
	case jsonErr == nil && ans.Message != "" && ans.Code != 0:
		return fmt.Sprintf("%s (code %d)", ans.Message, ans.Code)
	case jsonErr == nil && ans.Message != "":
		return ans.Message
	}
	s := strings.TrimSpace(string(body))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	if s == "" {
		return "empty body"
	}
	return s
}
