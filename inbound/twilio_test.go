package inbound_test

import (
	"errors"
	"net/url"
	"reflect"
	"slices"
	"testing"

	"switchboard/inbound"
	"switchboard/models"
	"switchboard/store"
)

// docURL, docToken and docForm are the example of Twilio's "Validating
// requests" (the Webhooks Security page, twilio.com/docs/usage/webhooks/
// webhooks-security): a call's webhook to this URL with auth token 12345.
// Two versions are published: the page's (numbers ending 5310) and the one
// twilio-node's test suite signs (numbers ending 5309), each with its
// expected signature.
const (
	docURL   = "https://mycompany.com/myapp.php?foo=1&bar=2"
	docToken = "12345"
)

func docForm(number string) url.Values {
	return url.Values{
		"CallSid": {"CA1234567890ABCDE"},
		"Caller":  {number},
		"Digits":  {"1234"},
		"From":    {number},
		"To":      {"+18005551212"},
	}
}

func TestTwilioSignature_PublishedExample(t *testing.T) {
	tests := []struct {
		name, number, want string
	}{
		{"the Webhooks Security page", "+14158675310", "GvWf1cFY/Q7PnoempGyD5oXAezc="},
		{"twilio-node's test suite", "+14158675309", "RSOYDt4T1cUTdK1PDd93/VVr8B8="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := inbound.TwilioSignature(docToken, docURL, docForm(tt.number)); got != tt.want {
				t.Errorf("TwilioSignature = %q, want %q", got, tt.want)
			}
			if !inbound.ValidTwilioSignature(docToken, docURL, docForm(tt.number), tt.want) {
				t.Error("ValidTwilioSignature refuses the published signature")
			}
		})
	}
}

func TestValidTwilioSignature(t *testing.T) {
	const good = "GvWf1cFY/Q7PnoempGyD5oXAezc="
	form := docForm("+14158675310")
	changed := docForm("+14158675310")
	changed.Set("Digits", "9999")
	extra := docForm("+14158675310")
	extra.Set("Body", "hi")
	sign := func(u string) string { return inbound.TwilioSignature(docToken, u, form) }
	tests := []struct {
		name            string
		token, url, sig string
		form            url.Values
		want            bool
	}{
		{"the published example", docToken, docURL, good, form, true},
		{"a changed parameter", docToken, docURL, good, changed, false},
		{"an added parameter", docToken, docURL, good, extra, false},
		{"another token", "54321", docURL, good, form, false},
		{"an empty token", "", docURL, inbound.TwilioSignature("", docURL, form), form, false},
		{"no signature", docToken, docURL, "", form, false},
		{"another URL", docToken, "https://mycompany.com/myapp.php?foo=1&bar=3", good, form, false},
		{"another scheme", docToken, "http://mycompany.com/myapp.php?foo=1&bar=2", good, form, false},
		{"signed with the default port, checked without", docToken, docURL, sign("https://mycompany.com:443/myapp.php?foo=1&bar=2"), form, true},
		{"signed without the default port, checked with", docToken, "https://mycompany.com:443/myapp.php?foo=1&bar=2", good, form, true},
		{"http's default port", docToken, "http://desk.test/sms", sign("http://desk.test:80/sms"), form, true},
		{"another port is another URL", docToken, "https://mycompany.com:8443/myapp.php?foo=1&bar=2", good, form, false},
		{"a signature cut short", docToken, docURL, good[:len(good)-2], form, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := inbound.ValidTwilioSignature(tt.token, tt.url, tt.form, tt.sig); got != tt.want {
				t.Errorf("ValidTwilioSignature = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestTwilioSignature_RepeatedName(t *testing.T) {
	// A name given twice is signed once per value, values sorted: the
	// order the form lists them in does not matter.
	a := url.Values{"X": {"2", "1"}}
	b := url.Values{"X": {"1", "2"}}
	if inbound.TwilioSignature("t", "https://h/p", a) != inbound.TwilioSignature("t", "https://h/p", b) {
		t.Error("the order of a name's values changes the signature")
	}
	if inbound.TwilioSignature("t", "https://h/p", a) == inbound.TwilioSignature("t", "https://h/p", url.Values{"X": {"1"}}) {
		t.Error("a second value does not change the signature")
	}
}

func boolPtr(b bool) *bool { return &b }

func TestKeyword(t *testing.T) {
	tests := []struct {
		body string
		want *bool
	}{
		{"STOP", boolPtr(true)},
		{"stop", boolPtr(true)},
		{"  Stop \n", boolPtr(true)},
		{"STOPALL", boolPtr(true)},
		{"unsubscribe", boolPtr(true)},
		{"CANCEL", boolPtr(true)},
		{"end", boolPtr(true)},
		{"Quit", boolPtr(true)},
		{"REVOKE", boolPtr(true)},
		{"optout", boolPtr(true)},
		{"START", boolPtr(false)},
		{"yes", boolPtr(false)},
		{"Unstop", boolPtr(false)},
		{"please stop", nil},
		{"STOP!", nil},
		{"stop all", nil},
		{"", nil},
		{"hello", nil},
	}
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			got := inbound.Keyword(tt.body)
			if (got == nil) != (tt.want == nil) || (got != nil && *got != *tt.want) {
				t.Errorf("Keyword(%q) = %v, want %v", tt.body, show(got), show(tt.want))
			}
		})
	}
}

func show(b *bool) string {
	if b == nil {
		return "nil"
	}
	if *b {
		return "opt out"
	}
	return "opt in"
}

// inboundForm is a provider's inbound-message webhook form, as Twilio
// posts one, with the fields of kv set over it ("" deletes one).
func inboundForm(kv ...string) url.Values {
	f := url.Values{
		"ToCountry": {"US"}, "SmsMessageSid": {"SM11"}, "NumMedia": {"0"}, "SmsSid": {"SM11"},
		"SmsStatus": {"received"}, "Body": {"Hello there"}, "To": {"+14155550150"}, "NumSegments": {"1"},
		"MessageSid": {"SM11"}, "AccountSid": {"AC123"}, "From": {"+14155550101"}, "ApiVersion": {"2010-04-01"},
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			f.Del(kv[i])
		} else {
			f.Set(kv[i], kv[i+1])
		}
	}
	return f
}

// fieldNames returns the fields of err's store.FieldErrors, nil for none.
func fieldNames(err error) []string {
	var fe store.FieldErrors
	if !errors.As(err, &fe) {
		return nil
	}
	var out []string
	for _, f := range fe {
		out = append(out, f.Field)
	}
	return out
}

func TestParseSMS(t *testing.T) {
	tests := []struct {
		name       string
		form       url.Values
		want       store.InboundSMS
		wantFields []string
	}{
		{"a text", inboundForm(), store.InboundSMS{SID: "SM11", From: "+14155550101", To: "+14155550150", Body: "Hello there"}, nil},
		{"STOP opts out", inboundForm("Body", "Stop"), store.InboundSMS{SID: "SM11", From: "+14155550101", To: "+14155550150", Body: "Stop", OptOut: boolPtr(true)}, nil},
		{"START opts in", inboundForm("Body", "start"), store.InboundSMS{SID: "SM11", From: "+14155550101", To: "+14155550150", Body: "start", OptOut: boolPtr(false)}, nil},
		{"SmsSid when MessageSid is missing", inboundForm("MessageSid", "", "SmsMessageSid", "", "SmsSid", "SM22"),
			store.InboundSMS{SID: "SM22", From: "+14155550101", To: "+14155550150", Body: "Hello there"}, nil},
		{"SmsMessageSid as the last resort", inboundForm("MessageSid", "", "SmsSid", "", "SmsMessageSid", "SM33"),
			store.InboundSMS{SID: "SM33", From: "+14155550101", To: "+14155550150", Body: "Hello there"}, nil},
		{"no NumMedia is none", inboundForm("NumMedia", ""), store.InboundSMS{SID: "SM11", From: "+14155550101", To: "+14155550150", Body: "Hello there"}, nil},
		{"two files", inboundForm("NumMedia", "2", "MediaUrl0", "https://api.twilio.com/m/ME0", "MediaContentType0", "image/jpeg",
			"MediaUrl1", "https://api.twilio.com/m/ME1", "MediaContentType1", "video/mp4", "Body", ""),
			store.InboundSMS{SID: "SM11", From: "+14155550101", To: "+14155550150", Media: []store.NewAttachment{
				{Name: "media-0", ContentType: "image/jpeg", SourceURL: "https://api.twilio.com/m/ME0"},
				{Name: "media-1", ContentType: "video/mp4", SourceURL: "https://api.twilio.com/m/ME1"},
			}}, nil},
		{"every required field missing", inboundForm("MessageSid", "", "SmsSid", "", "SmsMessageSid", "", "From", "", "To", ""),
			store.InboundSMS{}, []string{"MessageSid", "From", "To"}},
		{"NumMedia not a number", inboundForm("NumMedia", "two"), store.InboundSMS{}, []string{"NumMedia"}},
		{"NumMedia negative", inboundForm("NumMedia", "-1"), store.InboundSMS{}, []string{"NumMedia"}},
		{"NumMedia over 10", inboundForm("NumMedia", "11"), store.InboundSMS{}, []string{"NumMedia"}},
		{"a counted file missing", inboundForm("NumMedia", "2", "MediaUrl0", "https://m/0"), store.InboundSMS{}, []string{"MediaUrl1"}},
		{"every wrong field at once", inboundForm("From", "", "NumMedia", "x"), store.InboundSMS{}, []string{"From", "NumMedia"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := inbound.ParseSMS(tt.form)
			if tt.wantFields != nil {
				if names := fieldNames(err); !slices.Equal(names, tt.wantFields) {
					t.Fatalf("ParseSMS error %v names %v, want %v", err, names, tt.wantFields)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseSMS: %v", err)
			}
			if got.SID != tt.want.SID || got.From != tt.want.From || got.To != tt.want.To || got.Body != tt.want.Body ||
				show(got.OptOut) != show(tt.want.OptOut) || !reflect.DeepEqual(got.Media, tt.want.Media) {
				t.Errorf("ParseSMS = %+v (opt-out %s), want %+v (opt-out %s)", got, show(got.OptOut), tt.want, show(tt.want.OptOut))
			}
		})
	}
}

// receiptForm is a provider's status callback form with status and the
// fields of kv.
func receiptForm(status string, kv ...string) url.Values {
	f := url.Values{"SmsSid": {"SM9"}, "SmsStatus": {status}, "MessageStatus": {status}, "To": {"+14155550101"},
		"MessageSid": {"SM9"}, "AccountSid": {"AC123"}, "From": {"+14155550150"}, "ApiVersion": {"2010-04-01"}}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			f.Del(kv[i])
		} else {
			f.Set(kv[i], kv[i+1])
		}
	}
	return f
}

func TestParseReceipt(t *testing.T) {
	tests := []struct {
		name       string
		form       url.Values
		status     models.DeliveryStatus
		reason     string
		final      bool
		wantFields []string
	}{
		{"queued", receiptForm("queued"), models.DeliveryQueued, "", false, nil},
		{"accepted", receiptForm("accepted"), models.DeliveryQueued, "", false, nil},
		{"sending", receiptForm("sending"), models.DeliverySending, "", false, nil},
		{"sent", receiptForm("sent"), models.DeliverySent, "", false, nil},
		{"delivered", receiptForm("delivered"), models.DeliveryDelivered, "", true, nil},
		{"read is delivered", receiptForm("read"), models.DeliveryDelivered, "", true, nil},
		{"undelivered with a documented code", receiptForm("undelivered", "ErrorCode", "30003"), models.DeliveryUndelivered,
			"error 30003: Unreachable destination handset", true, nil},
		{"failed with another documented code", receiptForm("failed", "ErrorCode", "30006"), models.DeliveryFailed,
			"error 30006: Landline or unreachable carrier", true, nil},
		{"an undocumented code", receiptForm("undelivered", "ErrorCode", "30008"), models.DeliveryUndelivered, "error 30008", true, nil},
		{"the provider's message wins", receiptForm("failed", "ErrorCode", "30003", "ErrorMessage", "Phone off"), models.DeliveryFailed,
			"error 30003: Phone off", true, nil},
		{"failed without a code", receiptForm("failed"), models.DeliveryFailed, "", true, nil},
		{"status in capitals", receiptForm("DELIVERED"), models.DeliveryDelivered, "", true, nil},
		{"SmsStatus alone", receiptForm("sent", "MessageStatus", ""), models.DeliverySent, "", false, nil},
		{"no sid", receiptForm("sent", "MessageSid", "", "SmsSid", ""), "", "", false, []string{"MessageSid"}},
		{"no status", receiptForm("", "MessageStatus", "", "SmsStatus", ""), "", "", false, []string{"MessageStatus"}},
		{"an unknown status", receiptForm("exploded"), "", "", false, []string{"MessageStatus"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sid, status, reason, final, err := inbound.ParseReceipt(tt.form)
			if tt.wantFields != nil {
				if names := fieldNames(err); !slices.Equal(names, tt.wantFields) {
					t.Fatalf("ParseReceipt error %v names %v, want %v", err, names, tt.wantFields)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseReceipt: %v", err)
			}
			if sid != "SM9" || status != tt.status || reason != tt.reason || final != tt.final {
				t.Errorf("ParseReceipt = %q %q %q %v, want SM9 %q %q %v", sid, status, reason, final, tt.status, tt.reason, tt.final)
			}
		})
	}
}

func TestIsReceipt(t *testing.T) {
	tests := []struct {
		name string
		form url.Values
		want bool
	}{
		{"an SMS that arrived", inboundForm(), false},
		{"an empty SMS that arrived", inboundForm("Body", ""), false},
		{"a status callback", receiptForm("delivered"), true},
		{"a callback with SmsStatus only", receiptForm("sent", "MessageStatus", ""), true},
		{"MessageStatus and no Body", url.Values{"MessageSid": {"SM1"}, "MessageStatus": {"received"}}, true},
		{"MessageStatus received with a Body", url.Values{"MessageSid": {"SM1"}, "MessageStatus": {"received"}, "Body": {"x"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := inbound.IsReceipt(tt.form); got != tt.want {
				t.Errorf("IsReceipt = %v, want %v", got, tt.want)
			}
		})
	}
}
