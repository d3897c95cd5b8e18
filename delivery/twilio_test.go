package delivery_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"switchboard/delivery"
	"switchboard/models"
	"switchboard/store"
)

const (
	testSID   = "AC0123456789abcdef0123456789abcdef"
	testToken = "tok/en:secret"
)

func sampleSMS() store.Outgoing {
	return store.Outgoing{
		Delivery: models.Delivery{ID: 9, MessageID: 21, Kind: models.InboxSMS, Attempts: 1, Reference: "sb-sms-21-abcdef"},
		Message:  models.Message{ID: 21, SMSFrom: "+14155550111", SMSTo: "+14155550122", Text: "Bonjour Zoë & co: 50% off = today"},
	}
}

func mustTwilio(tb testing.TB, baseURL string) *delivery.Twilio {
	tb.Helper()
	tw, err := delivery.NewTwilio(baseURL, testSID, testToken, delivery.TwilioOptions{})
	if err != nil {
		tb.Fatalf("NewTwilio: %v", err)
	}
	return tw
}

// checkSMSRequest checks one request to the fake provider against the SMS.
func checkSMSRequest(tb testing.TB, r smsRequest, o store.Outgoing) {
	tb.Helper()
	if r.Method != http.MethodPost || r.Path != "/2010-04-01/Accounts/"+testSID+"/Messages.json" {
		tb.Errorf("%s %s, want POST /2010-04-01/Accounts/%s/Messages.json", r.Method, r.Path, testSID)
	}
	if !r.BasicOK || r.User != testSID || r.Pass != testToken {
		tb.Errorf("Basic auth %v %q:%q, want %q:%q", r.BasicOK, r.User, r.Pass, testSID, testToken)
	}
	if r.Token != o.Delivery.Reference {
		tb.Errorf("I-Twilio-Idempotency-Token %q, want %q", r.Token, o.Delivery.Reference)
	}
	if r.ContentType != "application/x-www-form-urlencoded" {
		tb.Errorf("Content-Type %q, want a form", r.ContentType)
	}
	want := map[string]string{"To": o.Message.SMSTo, "From": o.Message.SMSFrom, "Body": o.Message.Text}
	for k, v := range want {
		if got := r.Form[k]; len(got) != 1 || got[0] != v {
			tb.Errorf("form %s = %q, want %q", k, got, v)
		}
	}
	if len(r.Form) != len(want) {
		tb.Errorf("form has %d fields %v, want %d", len(r.Form), r.Form, len(want))
	}
}

func TestTwilio_Send(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		body      any
		wantRef   string
		wantErr   bool
		permanent bool
		contains  string
	}{
		{"201 Created gives the sid", http.StatusCreated, nil, "SM00000000000000000000000000000001", false, false, ""},
		{"200 without a sid is still sent", http.StatusOK, `{"status":"queued"}`, "", false, false, ""},
		{"400 is permanent with the provider's message", http.StatusBadRequest,
			twilioError(400, 21211, "The 'To' number +14155550122 is not a valid phone number."), "", true, true,
			"The 'To' number +14155550122 is not a valid phone number. (code 21211)"},
		{"401 is permanent", http.StatusUnauthorized, twilioError(401, 20003, "Authentication Error - invalid username"), "", true, true,
			"Authentication Error"},
		{"404 with a text body is permanent", http.StatusNotFound, "no such route", "", true, true, "no such route"},
		{"429 is temporary", http.StatusTooManyRequests, twilioError(429, 20429, "Too Many Requests"), "", true, false, "Too Many Requests"},
		{"500 is temporary", http.StatusInternalServerError, twilioError(500, 20500, "Internal Server Error"), "", true, false, "500"},
		{"503 with an empty body is temporary", http.StatusServiceUnavailable, "", "", true, false, "503"},
		{"a redirect is not followed and is temporary", http.StatusMovedPermanently, "", "", true, false, "301"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fp := mustProvider(t, func(int, smsRequest) (int, any) { return tt.status, tt.body })
			o := sampleSMS()
			ref, err := mustTwilio(t, fp.URL+"/").Send(t.Context(), o)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Send = %q, %v; want error %v", ref, err, tt.wantErr)
			}
			if ref != tt.wantRef {
				t.Errorf("provider ref %q, want %q", ref, tt.wantRef)
			}
			if err != nil {
				if got := errors.Is(err, delivery.ErrPermanent); got != tt.permanent {
					t.Errorf("permanent %v, want %v: %v", got, tt.permanent, err)
				}
				if !strings.Contains(err.Error(), tt.contains) {
					t.Errorf("error %q does not say %q", err, tt.contains)
				}
			}
			reqs := fp.Requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests, want 1", len(reqs))
			}
			checkSMSRequest(t, reqs[0], o)
		})
	}
}

func TestTwilio_Send_network(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	base := srv.URL
	srv.Close()
	_, err := mustTwilio(t, base).Send(t.Context(), sampleSMS())
	if err == nil || errors.Is(err, delivery.ErrPermanent) {
		t.Fatalf("Send to a closed server = %v, want a temporary error", err)
	}
}

func TestTwilio_Send_noReference(t *testing.T) {
	fp := mustProvider(t, nil)
	o := sampleSMS()
	o.Delivery.Reference = ""
	_, err := mustTwilio(t, fp.URL).Send(t.Context(), o)
	if !errors.Is(err, delivery.ErrPermanent) {
		t.Fatalf("Send without a reference = %v, want ErrPermanent", err)
	}
	if n := len(fp.Requests()); n != 0 {
		t.Errorf("%d requests sent without an idempotency token", n)
	}
}

func TestNewTwilio(t *testing.T) {
	tests := []struct {
		name, base, sid, token, callback string
		ok                               bool
	}{
		{"twilio", "https://api.twilio.com", testSID, testToken, "", true},
		{"local http with a path", "http://127.0.0.1:8080/twilio/", testSID, testToken, "", true},
		{"relative", "/2010-04-01", testSID, testToken, "", false},
		{"other scheme", "ftp://api.twilio.com", testSID, testToken, "", false},
		{"query", "https://api.twilio.com?x=1", testSID, testToken, "", false},
		{"no sid", "https://api.twilio.com", "", testToken, "", false},
		{"no token", "https://api.twilio.com", testSID, "", "", false},
		{"a status callback", "https://api.twilio.com", testSID, testToken, "https://desk.example.com/switchboard/v1/inbound/sms/status", true},
		{"a relative status callback", "https://api.twilio.com", testSID, testToken, "/switchboard/v1/inbound/sms/status", false},
		{"a status callback of another scheme", "https://api.twilio.com", testSID, testToken, "ftp://desk.example.com/status", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := delivery.NewTwilio(tt.base, tt.sid, tt.token, delivery.TwilioOptions{Client: http.DefaultClient, StatusCallback: tt.callback})
			if (err == nil) != tt.ok {
				t.Fatalf("NewTwilio = %v, want ok %v", err, tt.ok)
			}
		})
	}
}

func TestTwilio_Send_StatusCallback(t *testing.T) {
	const callback = "https://desk.example.com/switchboard/v1/inbound/sms/status"
	o := sampleSMS()
	tests := []struct {
		name, callback string
		// want is the StatusCallback the provider is given: the URL with
		// the delivery's id and reference in its query ("" for none).
		want string
	}{
		{"asked for when set", callback, callback + "?delivery=9&ref=sb-sms-21-abcdef"},
		{"a query of its own is kept", callback + "?tenant=a%20b", callback + "?delivery=9&ref=sb-sms-21-abcdef&tenant=a+b"},
		{"left out when not", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fp := mustProvider(t, nil)
			tw, err := delivery.NewTwilio(fp.URL, testSID, testToken, delivery.TwilioOptions{StatusCallback: tt.callback})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tw.Send(t.Context(), o); err != nil {
				t.Fatalf("Send: %v", err)
			}
			reqs := fp.Requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests, want 1", len(reqs))
			}
			got, ok := reqs[0].Form["StatusCallback"]
			switch {
			case tt.want == "" && ok:
				t.Errorf("StatusCallback %q sent without one configured", got)
			case tt.want != "" && (len(got) != 1 || got[0] != tt.want):
				t.Errorf("StatusCallback %q, want %q", got, tt.want)
			case tt.want != "":
				// What the receipt's handler reads back from that URL.
				u, err := url.Parse(got[0])
				if err != nil {
					t.Fatal(err)
				}
				if id, ref := delivery.CallbackDelivery(u.Query()); id != o.Delivery.ID || ref != o.Delivery.Reference {
					t.Errorf("CallbackDelivery = %d, %q; want %d, %q", id, ref, o.Delivery.ID, o.Delivery.Reference)
				}
			}
			for _, k := range []string{"To", "From", "Body"} {
				if len(reqs[0].Form[k]) != 1 {
					t.Errorf("form %s = %q", k, reqs[0].Form[k])
				}
			}
		})
	}
}

func TestCallbackDelivery(t *testing.T) {
	tests := []struct {
		name, query string
		id          int64
		ref         string
	}{
		{"both", "delivery=12&ref=sb-sms-1-x", 12, "sb-sms-1-x"},
		{"none", "", 0, ""},
		{"no reference", "delivery=12", 0, ""},
		{"no delivery", "ref=sb-sms-1-x", 0, ""},
		{"a delivery that is no id", "delivery=12a&ref=sb-sms-1-x", 0, ""},
		{"a delivery below 1", "delivery=0&ref=sb-sms-1-x", 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := url.ParseQuery(tt.query)
			if err != nil {
				t.Fatal(err)
			}
			if id, ref := delivery.CallbackDelivery(q); id != tt.id || ref != tt.ref {
				t.Errorf("CallbackDelivery(%q) = %d, %q; want %d, %q", tt.query, id, ref, tt.id, tt.ref)
			}
		})
	}
}
