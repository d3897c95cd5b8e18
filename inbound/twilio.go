package inbound

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"switchboard/models"
	"switchboard/store"
)

// Twilio-compatible providers post an SMS that arrived, and each status
// change of one that was sent, as a form to the URLs configured with them,
// signed in X-Twilio-Signature.

// MaxMedia is the most files one MMS carries: Twilio's NumMedia is 0 to 10.
const MaxMedia = 10

// TwilioSignature returns the X-Twilio-Signature of a request posted to
// fullURL (with its query) with the form parameters form: the base64 of the
// HMAC-SHA1, keyed with the auth token, of the URL followed by each
// parameter's name and value, the names in sorted order (a name given
// several values once per value, the values sorted).
func TwilioSignature(authToken, fullURL string, form url.Values) string {
	mac := hmac.New(sha1.New, []byte(authToken))
	mac.Write([]byte(fullURL))
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for k := range form {
			if !yield(k) {
				return
			}
		}
	}) {
		for _, v := range slices.Sorted(slices.Values(form[name])) {
			mac.Write([]byte(name))
			mac.Write([]byte(v))
		}
	}
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// ValidTwilioSignature reports whether sig is the signature of the request
// posted to fullURL with form, keyed with authToken. The URL is also tried
// with its scheme's default port written out and, when written, without
// it, as Twilio's own libraries do: which of the two the provider signed
// depends on how the URL was configured. An empty token or signature is
// never valid. The comparison takes the same time wherever the signatures
// differ.
func ValidTwilioSignature(authToken, fullURL string, form url.Values, sig string) bool {
	if authToken == "" || sig == "" {
		return false
	}
	ok := false
	for _, u := range urlVariants(fullURL) {
		want := TwilioSignature(authToken, u, form)
		// Every variant is checked, so that the time taken does not tell
		// which one matched.
		if subtle.ConstantTimeCompare([]byte(want), []byte(sig)) == 1 {
			ok = true
		}
	}
	return ok
}

// urlVariants returns raw, then raw with its scheme's default port added
// when it has none, or removed when it has it; just raw for a URL that is
// not absolute http(s).
func urlVariants(raw string) []string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return []string{raw}
	}
	def := map[string]string{"http": "80", "https": "443"}[strings.ToLower(u.Scheme)]
	if def == "" {
		return []string{raw}
	}
	// The host is swapped in the text itself, so that the rest of the URL
	// stays byte for byte as it was signed.
	prefix := u.Scheme + "://" + u.Host
	if !strings.HasPrefix(raw, prefix) {
		return []string{raw}
	}
	rest := raw[len(prefix):]
	var host string
	switch u.Port() {
	case "":
		host = net.JoinHostPort(u.Hostname(), def)
		if strings.HasSuffix(u.Host, ":") {
			host = u.Host + def
		}
	case def:
		host = strings.TrimSuffix(u.Host, ":"+def)
	default:
		return []string{raw}
	}
	return []string{raw, u.Scheme + "://" + host + rest}
}

// The keywords a whole SMS body may be (case aside) to opt its sender out
// of the number's messages, or back in: Twilio's default handling of long
// codes ("Customize users' opt-in and opt-out experience with Advanced
// Opt-Out", twilio.com/docs/messaging/tutorials/advanced-opt-out) and the
// industry's opt-in words.
var (
	optOutWords = []string{"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"}
	optInWords  = []string{"START", "YES", "UNSTOP"}
)

// Keyword returns what body means as an opt-out keyword: a pointer to true
// for STOP and the other opt-out words, to false for START and the other
// opt-in ones, nil for anything else. Only the whole body counts, spaces
// around it and case aside: "stop " opts out, "please stop" does not.
func Keyword(body string) *bool {
	w := strings.ToUpper(strings.TrimSpace(body))
	switch {
	case slices.Contains(optOutWords, w):
		out := true
		return &out
	case slices.Contains(optInWords, w):
		out := false
		return &out
	}
	return nil
}

// ParseSMS returns the SMS of a provider's inbound-message webhook form:
// From, To, Body, MessageSid (or, from older senders, SmsSid or
// SmsMessageSid), and NumMedia files, each MediaUrlN with its
// MediaContentTypeN, named media-N. The body's opt-out keyword, if it is
// one, is in OptOut. It returns store.FieldErrors naming, by the form's
// names, every field missing or wrong: MessageSid, From, To, NumMedia (not
// 0 to 10) and a MediaUrlN that NumMedia counts but that is not there. The
// numbers themselves are checked by the store.
func ParseSMS(form url.Values) (store.InboundSMS, error) {
	var fe store.FieldErrors
	sms := store.InboundSMS{
		SID:  firstOf(form, "MessageSid", "SmsSid", "SmsMessageSid"),
		From: strings.TrimSpace(form.Get("From")),
		To:   strings.TrimSpace(form.Get("To")),
		Body: form.Get("Body"),
	}
	sms.OptOut = Keyword(sms.Body)
	for _, f := range []struct{ name, value string }{{"MessageSid", sms.SID}, {"From", sms.From}, {"To", sms.To}} {
		if f.value == "" {
			fe.AddReason(store.ReasonRequired, f.name, nil, "is required")
		}
	}
	n := 0
	if raw := strings.TrimSpace(form.Get("NumMedia")); raw != "" {
		var err error
		n, err = strconv.Atoi(raw)
		if err != nil || n < 0 || n > MaxMedia {
			fe.AddReason(store.ReasonInvalid, "NumMedia", raw, "must be a whole number from 0 to %d", MaxMedia)
			n = 0
		}
	}
	for i := range n {
		u := strings.TrimSpace(form.Get(fmt.Sprintf("MediaUrl%d", i)))
		if u == "" {
			fe.AddReason(store.ReasonRequired, fmt.Sprintf("MediaUrl%d", i), nil, "is required: NumMedia is %d", n)
			continue
		}
		sms.Media = append(sms.Media, store.NewAttachment{
			Name:        fmt.Sprintf("media-%d", i),
			ContentType: strings.TrimSpace(form.Get(fmt.Sprintf("MediaContentType%d", i))),
			SourceURL:   u,
		})
	}
	if err := fe.Err(); err != nil {
		return store.InboundSMS{}, err
	}
	return sms, nil
}

// receiptStatuses maps a provider's message status to the model's words
// and whether it is final. Twilio reads: "read" comes after "delivered" on
// channels that report it; "canceled" ends a scheduled message that was
// never sent.
var receiptStatuses = map[string]struct {
	status models.DeliveryStatus
	final  bool
}{
	"accepted":            {models.DeliveryQueued, false},
	"scheduled":           {models.DeliveryQueued, false},
	"queued":              {models.DeliveryQueued, false},
	"sending":             {models.DeliverySending, false},
	"sent":                {models.DeliverySent, false},
	"partially_delivered": {models.DeliverySent, false},
	"delivered":           {models.DeliveryDelivered, true},
	"read":                {models.DeliveryDelivered, true},
	"undelivered":         {models.DeliveryUndelivered, true},
	"failed":              {models.DeliveryFailed, true},
	"canceled":            {models.DeliveryFailed, true},
}

// errorTitles are the titles of the error codes a status callback most
// often carries, as Twilio's error dictionary words them
// (twilio.com/docs/api/errors/30003, .../30006).
var errorTitles = map[string]string{
	"30003": "Unreachable destination handset",
	"30006": "Landline or unreachable carrier",
}

// IsReceipt reports whether form is a status callback rather than an SMS
// that arrived: it has a status other than "received" (MessageStatus, or
// SmsStatus from older senders), or a MessageStatus and no Body. Twilio
// sends both to one URL when a number's webhook doubles as the status
// callback.
func IsReceipt(form url.Values) bool {
	st := strings.ToLower(strings.TrimSpace(firstOf(form, "MessageStatus", "SmsStatus")))
	if st != "" && st != "received" && st != "receiving" {
		return true
	}
	return form.Get("MessageStatus") != "" && !form.Has("Body")
}

// ParseReceipt returns what a provider's status callback form says of the
// SMS it sent as sid: its status (MessageStatus, or SmsStatus) in the
// model's words, whether that is final (delivered, undelivered or failed),
// and for a failure the reason: "error N" for its ErrorCode, followed by
// its ErrorMessage or, for the common codes, Twilio's title of it. It
// returns store.FieldErrors naming MessageSid when it is missing and
// MessageStatus when missing or not a status of an outgoing message.
func ParseReceipt(form url.Values) (sid string, status models.DeliveryStatus, reason string, final bool, err error) {
	var fe store.FieldErrors
	sid = firstOf(form, "MessageSid", "SmsSid", "SmsMessageSid")
	if sid == "" {
		fe.AddReason(store.ReasonRequired, "MessageSid", nil, "is required")
	}
	raw := strings.TrimSpace(firstOf(form, "MessageStatus", "SmsStatus"))
	st, ok := receiptStatuses[strings.ToLower(raw)]
	switch {
	case raw == "":
		fe.AddReason(store.ReasonRequired, "MessageStatus", nil, "is required")
	case !ok:
		fe.AddReason(store.ReasonInvalid, "MessageStatus", raw, "%q is not a status of a message sent", models.Truncate(raw, 40))
	}
	if err := fe.Err(); err != nil {
		return "", "", "", false, err
	}
	if code := strings.TrimSpace(form.Get("ErrorCode")); code != "" && st.status != models.DeliveryDelivered {
		reason = "error " + code
		if msg := strings.TrimSpace(form.Get("ErrorMessage")); msg != "" {
			reason += ": " + msg
		} else if title := errorTitles[code]; title != "" {
			reason += ": " + title
		}
	}
	return sid, st.status, reason, st.final, nil
}

// firstOf returns the first of the form's fields names that is not blank,
// trimmed.
func firstOf(form url.Values, names ...string) string {
	for _, n := range names {
		if v := strings.TrimSpace(form.Get(n)); v != "" {
			return v
		}
	}
	return ""
}
