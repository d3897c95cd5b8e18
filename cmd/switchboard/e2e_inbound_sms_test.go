package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"switchboard/cmd/switchboard/binarytest"
	"switchboard/inbound"
	"switchboard/models"
	"switchboard/store/storetest"
)

// smsProvider is an in-test Twilio-compatible provider: it answers each SMS
// with a new sid and keeps the forms it was sent.
type smsProvider struct {
	*httptest.Server
	mu    sync.Mutex
	forms []url.Values
	// early, when set, runs with each SMS's form and sid before the
	// provider answers the send, as a provider's status callback may.
	early func(form url.Values, sid string)
}

// setEarly sets the provider's early hook (nil for none).
func (p *smsProvider) setEarly(f func(form url.Values, sid string)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.early = f
}

func mustSMSProvider(t *testing.T, sid, token string) *smsProvider {
	t.Helper()
	p := &smsProvider{}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if user, pass, ok := r.BasicAuth(); !ok || user != sid || pass != token {
			http.Error(w, `{"code":20003,"message":"Authenticate","status":401}`, http.StatusUnauthorized)
			return
		}
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		p.mu.Lock()
		p.forms = append(p.forms, r.PostForm)
		n, early := len(p.forms), p.early
		p.mu.Unlock()
		sid := fmt.Sprintf("SMout%d", n)
		if early != nil {
			early(r.PostForm, sid)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"sid":%q,"status":"queued"}`, sid)
	}))
	t.Cleanup(p.Close)
	return p
}

// sent returns the forms of the SMS sent so far.
func (p *smsProvider) sent() []url.Values {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]url.Values(nil), p.forms...)
}

// postSigned posts form to the server's path (with any query) as the
// provider does, signed with token for base+path (sig, when not "",
// replaces the signature), and returns the answer.
func (s *server) postSigned(t *testing.T, base, path, token string, form url.Values, sig string) (int, string) {
	t.Helper()
	code, body, err := s.postSignedErr(base, path, token, form, sig)
	if err != nil {
		t.Fatal(err)
	}
	return code, body
}

// postSignedErr is postSigned returning the transport's error, for callers
// outside the test's goroutine.
func (s *server) postSignedErr(base, path, token string, form url.Values, sig string) (int, string, error) {
	if sig == "" {
		sig = inbound.TwilioSignature(token, base+path, form)
	}
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, "http://"+s.addr+path, strings.NewReader(form.Encode()))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", sig)
	res, err := s.client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b), nil
}

// TestE2E_InboundSMS runs the real binary with an SMS provider and a public
// URL: a customer's signed SMS lands in an SMS case that HelpCrunch and
// Acquire show, a forged one is 403 and writes nothing; an agent's
// send-sms asks the provider for receipts, and a signed "delivered"
// receipt changes the SMS's status; STOP refuses the next send-sms in
// Acquire's error format, START allows it again.
func TestE2E_InboundSMS(t *testing.T) {
	bin := mustBuild(t)
	const (
		accountSID = "AC123"
		authToken  = "tok-e2e"
		publicURL  = "https://desk.example.test"
		number     = "+14155550150"
		customer   = "+14155550101"
		smsPath    = "/switchboard/v1/inbound/sms"
		statusPath = "/switchboard/v1/inbound/sms/status"
	)
	for _, b := range storetest.Backends(t) {
		t.Run(string(b), func(t *testing.T) {
			provider := mustSMSProvider(t, accountSID, authToken)
			dbURL := storetest.MustURL(t, b)
			t.Setenv("SWITCHBOARD_SMS_URL", provider.URL)
			t.Setenv("SWITCHBOARD_SMS_ACCOUNT_SID", accountSID)
			t.Setenv("SWITCHBOARD_SMS_AUTH_TOKEN", authToken)
			t.Setenv("SWITCHBOARD_PUBLIC_URL", publicURL)
			s := mustStart(t, bin, dbURL)
			_, _, token := binarytest.MustCredentials(t, s.stdout)
			c := cli{dbURL: dbURL}
			c.mustID(t, "inbox", "create", "--account", "1", "--kind", "sms", "--address", number)
			st := storetest.MustOpenURL(t, dbURL)
			t.Cleanup(func() { st.Close() })
			messages := func(ref string) []models.Message {
				t.Helper()
				var ms []models.Message
				if err := st.GORM().Where("source_ref = ?", ref).Find(&ms).Error; err != nil {
					t.Fatal(err)
				}
				return ms
			}
			inboundSMS := func(sid, body string) url.Values {
				return url.Values{"MessageSid": {sid}, "SmsSid": {sid}, "AccountSid": {accountSID}, "From": {customer},
					"To": {number}, "Body": {body}, "NumMedia": {"0"}, "SmsStatus": {"received"}}
			}

			// A customer's SMS, signed for the public URL, lands in an SMS case.
			code, body := s.postSigned(t, publicURL, smsPath, authToken, inboundSMS("SMin1", "Is my order on its way?"), "")
			if code != 200 || !strings.Contains(body, "<Response></Response>") {
				t.Fatalf("inbound SMS = %d %s", code, body)
			}
			ms := messages("SMin1")
			if len(ms) != 1 {
				t.Fatalf("%d messages for SMin1, want 1", len(ms))
			}
			caseID := ms[0].CaseID

			// A forged one is refused and writes nothing.
			code, body = s.postSigned(t, publicURL, smsPath, "guessed-token", inboundSMS("SMforged", "STOP"), "")
			if code != 403 || !strings.Contains(body, `"code":"forbidden"`) {
				t.Fatalf("forged SMS = %d %s, want 403", code, body)
			}
			if n := len(messages("SMforged")); n != 0 {
				t.Fatalf("the forged SMS was written (%d messages)", n)
			}

			// HelpCrunch and Acquire show the SMS case and its message.
			code, body = s.call(t, http.MethodGet, fmt.Sprintf("/v1/chats/%d/messages", caseID), token, "", nil)
			if code != 200 || !strings.Contains(body, "Is my order on its way?") {
				t.Fatalf("HelpCrunch messages = %d %s", code, body)
			}
			code, body = s.call(t, http.MethodGet, fmt.Sprintf("/api/v1/crm/objects/case/%d", caseID), token, "", nil)
			var acase struct {
				Data struct {
					TimelineID int64
					ContactID  int64
				}
			}
			mustJSON(t, "case", body, &acase)
			if code != 200 || acase.Data.TimelineID == 0 || acase.Data.ContactID == 0 {
				t.Fatalf("Acquire case = %d %s", code, body)
			}
			sendSMS := func(text string) (int, string) {
				return s.call(t, http.MethodPost, "/api/v1/voip/send-sms", token, "", map[string]any{
					"Body": text, "From": number, "To": customer, "contactId": acase.Data.ContactID, "threadId": caseID,
					"timelineId": acase.Data.TimelineID,
				})
			}

			// The agent's reply goes out asking for receipts at the public URL.
			code, body = sendSMS("It ships today")
			if code != 200 || !strings.Contains(body, `"status":"queued"`) {
				t.Fatalf("send-sms = %d %s", code, body)
			}
			waitFor(t, "the SMS at the provider", func() bool { return len(provider.sent()) == 1 })
			if got := provider.sent()[0].Get("StatusCallback"); !strings.HasPrefix(got, publicURL+statusPath+"?") {
				t.Errorf("StatusCallback %q, want %q with the delivery in its query", got, publicURL+statusPath)
			}
			var reply models.Message
			waitFor(t, "the SMS recorded as sent", func() bool {
				return st.GORM().Where("case_id = ? AND sms_to = ? AND delivery_status = ?", caseID, customer, models.DeliverySent).
					Take(&reply).Error == nil
			})

			// A signed receipt marks it delivered; a forged one changes nothing.
			receipt := url.Values{"MessageSid": {"SMout1"}, "SmsSid": {"SMout1"}, "MessageStatus": {"undelivered"},
				"SmsStatus": {"undelivered"}, "ErrorCode": {"30003"}, "AccountSid": {accountSID}, "From": {number}, "To": {customer}}
			if code, body = s.postSigned(t, publicURL, statusPath, "guessed-token", receipt, ""); code != 403 {
				t.Fatalf("forged receipt = %d %s, want 403", code, body)
			}
			receipt.Set("MessageStatus", "delivered")
			receipt.Set("SmsStatus", "delivered")
			receipt.Del("ErrorCode")
			if code, body = s.postSigned(t, publicURL, statusPath, authToken, receipt, ""); code != 200 {
				t.Fatalf("receipt = %d %s", code, body)
			}
			if err := st.GORM().Take(&reply, reply.ID).Error; err != nil {
				t.Fatal(err)
			}
			if reply.DeliveryStatus != string(models.DeliveryDelivered) || reply.FailReason != "" {
				t.Errorf("after the receipts the SMS is %q %q, want delivered", reply.DeliveryStatus, reply.FailReason)
			}

			// STOP refuses the next send-sms in Acquire's error format.
			if code, body = s.postSigned(t, publicURL, smsPath, authToken, inboundSMS("SMin2", "STOP"), ""); code != 200 {
				t.Fatalf("STOP = %d %s", code, body)
			}
			code, body = sendSMS("One more thing")
			if code < 400 || code >= 500 || !strings.Contains(body, `"type":"ERROR_`) || !strings.Contains(body, "opted out") {
				t.Fatalf("send-sms after STOP = %d %s, want Acquire's refusal", code, body)
			}
			// START allows it again.
			if code, body = s.postSigned(t, publicURL, smsPath, authToken, inboundSMS("SMin3", "start"), ""); code != 200 {
				t.Fatalf("START = %d %s", code, body)
			}
			// The provider posts this one's "delivered" receipt, to the
			// callback URL the SMS asked for, before it answers the send:
			// the receipt finds the SMS by the delivery that URL names, and
			// the worker's record of the answer leaves it delivered.
			type early struct {
				code int
				body string
				err  error
			}
			earlies := make(chan early, 1)
			// note keeps the first send's outcome: a send the worker retried
			// must not block the provider's handler on a full channel.
			note := func(e early) {
				select {
				case earlies <- e:
				default:
				}
			}
			provider.setEarly(func(form url.Values, sid string) {
				cb, err := url.Parse(form.Get("StatusCallback"))
				if err != nil {
					note(early{err: err})
					return
				}
				receipt := url.Values{"MessageSid": {sid}, "SmsSid": {sid}, "MessageStatus": {"delivered"}, "SmsStatus": {"delivered"},
					"AccountSid": {accountSID}, "From": {number}, "To": {customer}}
				code, body, err := s.postSignedErr(publicURL, cb.RequestURI(), authToken, receipt, "")
				note(early{code, body, err})
			})
			if code, body = sendSMS("One more thing"); code != 200 {
				t.Fatalf("send-sms after START = %d %s", code, body)
			}
			waitFor(t, "the second SMS at the provider", func() bool { return len(provider.sent()) == 2 })
			if got := provider.sent()[1].Get("Body"); got != "One more thing" {
				t.Errorf("second SMS body %q", got)
			}
			if e := <-earlies; e.err != nil || e.code != http.StatusOK {
				t.Errorf("the receipt before the send's answer = %d %s, %v; want 200", e.code, e.body, e.err)
			}
			var second models.Message
			var sentRow models.Delivery
			waitFor(t, "the second SMS recorded as sent", func() bool {
				return st.GORM().Where("case_id = ? AND text = ?", caseID, "One more thing").Take(&second).Error == nil &&
					st.GORM().Where("message_id = ? AND status = ?", second.ID, models.DeliverySent).Take(&sentRow).Error == nil
			})
			if err := st.GORM().Take(&second, second.ID).Error; err != nil {
				t.Fatal(err)
			}
			if second.DeliveryStatus != string(models.DeliveryDelivered) || sentRow.ProviderRef != "SMout2" {
				t.Errorf("the second SMS is %q with sid %q; want delivered, SMout2", second.DeliveryStatus, sentRow.ProviderRef)
			}
			if err := s.stop(t); err != nil {
				t.Errorf("exit after SIGTERM: %v\n%s", err, s.logs.String())
			}
		})
	}
}
