package switchboard_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"switchboard/handlers/switchboard"
	"switchboard/inbound"
	"switchboard/models"
	"switchboard/store"
	"switchboard/store/storetest"
)

const (
	smsToken  = "twilio-auth-token"
	publicURL = "https://desk.example.test"
	smsNumber = "+14155550150"
	customer  = "+14155550101"
)

// inboundFixture is the fixture with an SMS inbox and an email inbox in
// account one, the router built with an SMS auth token and the public URL.
type inboundFixture struct {
	*fixture
	smsInbox, emailInbox models.Inbox
	cfg                  switchboard.InboundConfig
}

func mustInboundFixture(t *testing.T, st *store.Store, cfg switchboard.InboundConfig) *inboundFixture {
	t.Helper()
	f := &inboundFixture{fixture: mustFixture(t, st, switchboard.Config{Inbound: cfg}), cfg: cfg}
	var err error
	if f.smsInbox, err = st.CreateInbox(context.Background(), f.one.ID, models.InboxSMS, smsNumber); err != nil {
		t.Fatal(err)
	}
	if f.emailInbox, err = st.CreateInbox(context.Background(), f.one.ID, models.InboxEmail, "help@acme.example"); err != nil {
		t.Fatal(err)
	}
	if f.emailInbox.Secret == "" {
		t.Fatal("CreateInbox gave no secret")
	}
	return f
}

// post sends body with the content type and headers to the spec-checked
// server.
func (f *inboundFixture) post(t *testing.T, path, contentType string, body io.Reader, header http.Header) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, f.srv.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: string(b)}
}

// postSigned posts the form to path, signed for base+path with the token
// (sig, when not "", replaces the signature).
func (f *inboundFixture) postSigned(t *testing.T, base, path, token string, form url.Values, sig string) response {
	t.Helper()
	if sig == "" {
		sig = inbound.TwilioSignature(token, base+path, form)
	}
	return f.post(t, path, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()),
		http.Header{"X-Twilio-Signature": {sig}})
}

// smsForm is an inbound SMS as the provider posts it.
func smsForm(sid, from, to, body string) url.Values {
	return url.Values{"MessageSid": {sid}, "SmsSid": {sid}, "SmsMessageSid": {sid}, "AccountSid": {"AC123"},
		"From": {from}, "To": {to}, "Body": {body}, "NumMedia": {"0"}, "SmsStatus": {"received"}, "ApiVersion": {"2010-04-01"}}
}

// messagesBySource returns the messages recorded under the provider's id.
func messagesBySource(t *testing.T, st *store.Store, ref string) []models.Message {
	t.Helper()
	var ms []models.Message
	if err := st.GORM().Where("source_ref = ?", ref).Order("id").Find(&ms).Error; err != nil {
		t.Fatal(err)
	}
	return ms
}

const twiml = `<?xml version="1.0" encoding="UTF-8"?><Response></Response>`

func TestInboundSMS(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustInboundFixture(t, st, switchboard.InboundConfig{PublicURL: publicURL + "/", SMSAuthToken: smsToken})
		const path = "/switchboard/v1/inbound/sms"

		t.Run("a signed SMS lands in an SMS case", func(t *testing.T) {
			res := f.postSigned(t, publicURL, path, smsToken, smsForm("SM1", customer, smsNumber, "Where is my order?"), "")
			if res.status != http.StatusOK || res.body != twiml || res.header.Get("Content-Type") != "text/xml" {
				t.Fatalf("POST = %d %q %q", res.status, res.header.Get("Content-Type"), res.body)
			}
			ms := messagesBySource(t, st, "SM1")
			if len(ms) != 1 || ms[0].Text != "Where is my order?" || ms[0].Sender != models.SenderContact || ms[0].SMSFrom != customer {
				t.Fatalf("messages %+v", ms)
			}
			var c models.Case
			if err := st.GORM().Take(&c, ms[0].CaseID).Error; err != nil {
				t.Fatal(err)
			}
			if c.Channel != models.ChannelSMS || c.AccountID != f.one.ID {
				t.Errorf("case %+v, want an SMS case of account one", c)
			}
		})

		t.Run("the same MessageSid again is one message", func(t *testing.T) {
			res := f.postSigned(t, publicURL, path, smsToken, smsForm("SM1", customer, smsNumber, "Where is my order?"), "")
			if res.status != http.StatusOK || res.body != twiml {
				t.Fatalf("replay = %d %s", res.status, res.body)
			}
			if n := len(messagesBySource(t, st, "SM1")); n != 1 {
				t.Errorf("%d messages, want 1", n)
			}
		})

		refused := []struct {
			name string
			base string
			tok  string
			sig  string
			form url.Values
		}{
			{"no signature", publicURL, smsToken, "-", smsForm("SM2", customer, smsNumber, "forged")},
			{"signed with another token", publicURL, "guessed", "", smsForm("SM3", customer, smsNumber, "forged")},
			{"signed for the request's own host, not the public URL", f.srv.URL, smsToken, "", smsForm("SM4", customer, smsNumber, "forged")},
		}
		for _, tt := range refused {
			t.Run(tt.name+" is 403 and writes nothing", func(t *testing.T) {
				sig := tt.sig
				if sig == "-" {
					sig = "bm90IGEgc2lnbmF0dXJl"
				}
				res := f.postSigned(t, tt.base, path, tt.tok, tt.form, sig)
				if res.status != http.StatusForbidden || errorCode(t, res.body) != "forbidden" {
					t.Fatalf("POST = %d %s, want 403 forbidden", res.status, res.body)
				}
				if ms := messagesBySource(t, st, tt.form.Get("MessageSid")); len(ms) != 0 {
					t.Errorf("a refused SMS was written: %+v", ms)
				}
			})
		}

		t.Run("a signature over a changed body is 403", func(t *testing.T) {
			form := smsForm("SM5", customer, smsNumber, "hello")
			sig := inbound.TwilioSignature(smsToken, publicURL+path, form)
			form.Set("Body", "STOP")
			if res := f.postSigned(t, publicURL, path, smsToken, form, sig); res.status != http.StatusForbidden {
				t.Fatalf("POST = %d %s, want 403", res.status, res.body)
			}
			if out, err := st.OptedOut(context.Background(), f.one.ID, customer); err != nil || out {
				t.Errorf("OptedOut = %v, %v after a forged STOP", out, err)
			}
		})

		t.Run("STOP opts out, START back in", func(t *testing.T) {
			for i, step := range []struct {
				body string
				want bool
			}{{"Stop", true}, {"start", false}, {" UNSUBSCRIBE ", true}, {"unstop", false}} {
				sid := fmt.Sprint("SMK", i)
				if res := f.postSigned(t, publicURL, path, smsToken, smsForm(sid, customer, smsNumber, step.body), ""); res.status != http.StatusOK {
					t.Fatalf("%q = %d %s", step.body, res.status, res.body)
				}
				out, err := st.OptedOut(context.Background(), f.one.ID, customer)
				if err != nil || out != step.want {
					t.Fatalf("after %q OptedOut = %v, %v; want %v", step.body, out, err, step.want)
				}
			}
		})

		t.Run("a number no account has is 404", func(t *testing.T) {
			res := f.postSigned(t, publicURL, path, smsToken, smsForm("SM6", customer, "+14155550199", "hi"), "")
			if res.status != http.StatusNotFound || errorCode(t, res.body) != "not_found" {
				t.Fatalf("POST = %d %s, want 404", res.status, res.body)
			}
		})

		t.Run("missing and wrong fields are one 422", func(t *testing.T) {
			form := smsForm("SM7", "", smsNumber, "hi")
			form.Set("NumMedia", "99")
			res := f.postSigned(t, publicURL, path, smsToken, form, "")
			if res.status != http.StatusUnprocessableEntity || !strings.Contains(res.body, `"field":"From"`) || !strings.Contains(res.body, `"field":"NumMedia"`) {
				t.Fatalf("POST = %d %s, want 422 naming From and NumMedia", res.status, res.body)
			}
		})

		t.Run("media are kept by their URLs", func(t *testing.T) {
			form := smsForm("SM8", customer, smsNumber, "")
			form.Set("NumMedia", "1")
			form.Set("MediaUrl0", "https://api.twilio.com/2010-04-01/Accounts/AC123/Messages/MM8/Media/ME8")
			form.Set("MediaContentType0", "image/png")
			if res := f.postSigned(t, publicURL, path, smsToken, form, ""); res.status != http.StatusOK {
				t.Fatalf("POST = %d %s", res.status, res.body)
			}
			ms := messagesBySource(t, st, "SM8")
			if len(ms) != 1 {
				t.Fatalf("%d messages", len(ms))
			}
			var as []models.Attachment
			if err := st.GORM().Where("message_id = ?", ms[0].ID).Find(&as).Error; err != nil {
				t.Fatal(err)
			}
			if len(as) != 1 || as[0].Name != "media-0" || as[0].ContentType != "image/png" || !strings.HasSuffix(as[0].SourceURL, "/ME8") {
				t.Errorf("attachments %+v", as)
			}
		})
	})
}

func TestInboundSMS_NoToken(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustInboundFixture(t, st, switchboard.InboundConfig{PublicURL: publicURL})
		res := f.postSigned(t, publicURL, "/switchboard/v1/inbound/sms", "", smsForm("SN1", customer, smsNumber, "hi"), "")
		if res.status != http.StatusForbidden {
			t.Fatalf("POST = %d %s, want 403", res.status, res.body)
		}
		if ms := messagesBySource(t, st, "SN1"); len(ms) != 0 {
			t.Errorf("written: %+v", ms)
		}
	})
}

func TestInboundSMS_NoPublicURL(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		const path = "/switchboard/v1/inbound/sms?source=twilio"
		t.Run("the request's own URL, query included, is signed", func(t *testing.T) {
			f := mustInboundFixture(t, st, switchboard.InboundConfig{SMSAuthToken: smsToken})
			res := f.postSigned(t, f.srv.URL, path, smsToken, smsForm("SN2", customer, smsNumber, "hi"), "")
			if res.status != http.StatusOK {
				t.Fatalf("POST = %d %s", res.status, res.body)
			}
			res = f.postSigned(t, strings.Replace(f.srv.URL, "http:", "https:", 1), path, smsToken, smsForm("SN3", customer, smsNumber, "hi"), "")
			if res.status != http.StatusForbidden {
				t.Fatalf("signed for https, posted over http: %d %s, want 403", res.status, res.body)
			}
		})
	})
}

// mustSentSMS returns the id of an SMS an agent sent from the SMS inbox to
// the customer, recorded by the worker as sent with the provider's sid.
func mustSentSMS(t *testing.T, f *inboundFixture, st *store.Store, sid string) int64 {
	t.Helper()
	ctx := context.Background()
	contact := storetest.MustContact(t, st, f.one.ID, "Ann", "", customer)
	c := storetest.MustOfflineCase(t, st, f.one.ID, contact.ID, "order", "hello", time.Now())
	var agent models.Agent
	if err := st.GORM().Where("account_id = ?", f.one.ID).Order("id").Take(&agent).Error; err != nil {
		t.Fatal(err)
	}
	sm, err := st.AddSMS(ctx, f.one.ID, c.ID, store.NewSMS{Sender: models.SenderAgent, AgentID: &agent.ID, From: smsNumber, To: customer, Body: "It ships today"})
	if err != nil {
		t.Fatal(err)
	}
	out, err := st.ClaimDeliveries(ctx, []models.InboxKind{models.InboxSMS}, 10, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range out {
		if o.Delivery.MessageID == sm.Message.ID {
			if err := st.DeliverySent(ctx, o.Delivery.ID, o.Delivery.Attempts, sid, time.Now()); err != nil {
				t.Fatal(err)
			}
			return sm.Message.ID
		}
	}
	t.Fatal("the SMS was not claimed")
	return 0
}

func TestInboundSMSStatus(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustInboundFixture(t, st, switchboard.InboundConfig{PublicURL: publicURL, SMSAuthToken: smsToken})
		delivered := mustSentSMS(t, f, st, "SMout1")
		undelivered := mustSentSMS(t, f, st, "SMout2")
		receipt := func(sid, status string, kv ...string) url.Values {
			form := url.Values{"MessageSid": {sid}, "SmsSid": {sid}, "MessageStatus": {status}, "SmsStatus": {status},
				"AccountSid": {"AC123"}, "From": {smsNumber}, "To": {customer}}
			for i := 0; i+1 < len(kv); i += 2 {
				form.Set(kv[i], kv[i+1])
			}
			return form
		}
		tests := []struct {
			name       string
			path       string
			form       url.Values
			sig        string
			wantStatus int
			message    int64
			wantDS     models.DeliveryStatus
			wantReason string
		}{
			{"sent changes nothing", "/switchboard/v1/inbound/sms/status", receipt("SMout1", "sent"), "", 200, delivered, models.DeliverySent, ""},
			{"a forged delivered is 403", "/switchboard/v1/inbound/sms/status", receipt("SMout1", "delivered"), "Zm9yZ2Vk", 403, delivered, models.DeliverySent, ""},
			{"delivered", "/switchboard/v1/inbound/sms/status", receipt("SMout1", "delivered"), "", 200, delivered, models.DeliveryDelivered, ""},
			{"a late sent leaves it delivered", "/switchboard/v1/inbound/sms/status", receipt("SMout1", "sent"), "", 200, delivered, models.DeliveryDelivered, ""},
			{"undelivered, posted to the SMS URL", "/switchboard/v1/inbound/sms", receipt("SMout2", "undelivered", "ErrorCode", "30003"), "", 200,
				undelivered, models.DeliveryUndelivered, "error 30003: Unreachable destination handset"},
			{"a final status of an unknown sid is 404", "/switchboard/v1/inbound/sms/status", receipt("SMnope", "delivered"), "", 404, 0, "", ""},
			{"a passing status of an unknown sid is 200", "/switchboard/v1/inbound/sms/status", receipt("SMnope", "queued"), "", 200, 0, "", ""},
			{"an unknown status is 422", "/switchboard/v1/inbound/sms/status", receipt("SMout2", "exploded"), "", 422, undelivered, models.DeliveryUndelivered, "error 30003: Unreachable destination handset"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				res := f.postSigned(t, publicURL, tt.path, smsToken, tt.form, tt.sig)
				if res.status != tt.wantStatus {
					t.Fatalf("POST = %d %s, want %d", res.status, res.body, tt.wantStatus)
				}
				if want := "{}\n"; tt.wantStatus == 200 && tt.path == "/switchboard/v1/inbound/sms" {
					if res.body != twiml {
						t.Errorf("body %q, want empty TwiML", res.body)
					}
				} else if tt.wantStatus == 200 && res.body != want {
					t.Errorf("body %q, want {}", res.body)
				}
				if tt.message == 0 {
					return
				}
				var m models.Message
				if err := st.GORM().Take(&m, tt.message).Error; err != nil {
					t.Fatal(err)
				}
				if models.DeliveryStatus(m.DeliveryStatus) != tt.wantDS || m.FailReason != tt.wantReason {
					t.Errorf("message delivery %q %q, want %q %q", m.DeliveryStatus, m.FailReason, tt.wantDS, tt.wantReason)
				}
			})
		}
	})
}

// rawEmail is a message from ann@example.com with the Message-ID id.
func rawEmail(id, body string) string {
	return "From: Ann <ann@example.com>\r\nTo: help@acme.example\r\nSubject: Re: Your order\r\nMessage-ID: " + id +
		"\r\nDate: Mon, 7 Dec 2026 10:00:00 +0000\r\n\r\n" + body + "\r\n"
}

// emailAnswer is the email route's answer.
type emailAnswer struct {
	Outcome   string `json:"outcome"`
	CaseID    *int64 `json:"case_id"`
	MessageID *int64 `json:"message_id"`
}

func TestInboundEmail(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustInboundFixture(t, st, switchboard.InboundConfig{EmailLimit: 4096})
		path := fmt.Sprintf("/switchboard/v1/inbound/email/%d", f.emailInbox.ID)
		bearer := http.Header{"Authorization": {"Bearer " + f.emailInbox.Secret}}
		basic := func(user, pass string) http.Header {
			r, _ := http.NewRequest(http.MethodPost, "/", nil)
			r.SetBasicAuth(user, pass)
			return http.Header{"Authorization": {r.Header.Get("Authorization")}}
		}
		multipartBody := func(field, raw string) (string, io.Reader) {
			var b bytes.Buffer
			w := multipart.NewWriter(&b)
			w.WriteField("to", "help@acme.example")
			w.WriteField("from", "Ann <ann@example.com>")
			w.WriteField(field, raw)
			w.Close()
			return w.FormDataContentType(), &b
		}
		tests := []struct {
			name        string
			path        string
			header      http.Header
			contentType string
			body        func() io.Reader
			wantStatus  int
			wantCode    string
			wantOutcome string
		}{
			{"raw MIME with the Bearer secret", path, bearer, "message/rfc822", func() io.Reader { return strings.NewReader(rawEmail("<r1@example.com>", "Thanks")) },
				200, "", "message"},
			{"the same Message-ID again", path, bearer, "message/rfc822", func() io.Reader { return strings.NewReader(rawEmail("<r1@example.com>", "Thanks")) },
				200, "", "duplicate"},
			{"the secret as the Basic password", path, basic("sendgrid", f.emailInbox.Secret), "text/plain",
				func() io.Reader { return strings.NewReader(rawEmail("<r2@example.com>", "Basic")) }, 200, "", "message"},
			{"SendGrid's multipart field email", path, bearer, "", nil, 200, "", "message"},
			{"Mailgun's form field body-mime", path, bearer, "application/x-www-form-urlencoded", func() io.Reader {
				return strings.NewReader(url.Values{"body-mime": {rawEmail("<r4@example.com>", "Mailgun")}}.Encode())
			}, 200, "", "message"},
			{"no credentials", path, nil, "message/rfc822", func() io.Reader { return strings.NewReader(rawEmail("<x1@example.com>", "x")) },
				401, "unauthorized", ""},
			{"a wrong secret", path, http.Header{"Authorization": {"Bearer nope"}}, "message/rfc822",
				func() io.Reader { return strings.NewReader(rawEmail("<x2@example.com>", "x")) }, 401, "unauthorized", ""},
			{"an unknown inbox", "/switchboard/v1/inbound/email/999999", bearer, "message/rfc822",
				func() io.Reader { return strings.NewReader(rawEmail("<x3@example.com>", "x")) }, 401, "unauthorized", ""},
			{"an inbox id that is no number", "/switchboard/v1/inbound/email/help", bearer, "message/rfc822",
				func() io.Reader { return strings.NewReader(rawEmail("<x4@example.com>", "x")) }, 401, "unauthorized", ""},
			{"the SMS inbox with its own secret", fmt.Sprintf("/switchboard/v1/inbound/email/%d", f.smsInbox.ID),
				http.Header{"Authorization": {"Bearer " + f.smsInbox.Secret}}, "message/rfc822",
				func() io.Reader { return strings.NewReader(rawEmail("<x5@example.com>", "x")) }, 401, "unauthorized", ""},
			{"over the size limit", path, bearer, "message/rfc822",
				func() io.Reader { return strings.NewReader(rawEmail("<x6@example.com>", strings.Repeat("a", 5000))) }, 413, "too_large", ""},
			{"not an email", path, bearer, "message/rfc822", func() io.Reader { return strings.NewReader("Subject: no sender\r\n\r\nhi\r\n") },
				400, "bad_request", ""},
			{"a form without the email", path, bearer, "application/x-www-form-urlencoded",
				func() io.Reader { return strings.NewReader("to=help%40acme.example") }, 400, "bad_request", ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				ct, body := tt.contentType, io.Reader(nil)
				if tt.body != nil {
					body = tt.body()
				} else {
					ct, body = multipartBody("email", rawEmail("<r3@example.com>", "SendGrid"))
				}
				res := f.post(t, tt.path, ct, body, tt.header)
				if res.status != tt.wantStatus {
					t.Fatalf("POST = %d %s, want %d", res.status, res.body, tt.wantStatus)
				}
				if tt.wantCode != "" {
					if got := errorCode(t, res.body); got != tt.wantCode {
						t.Errorf("code %q, want %q", got, tt.wantCode)
					}
					return
				}
				var a emailAnswer
				if err := json.Unmarshal([]byte(res.body), &a); err != nil {
					t.Fatal(err)
				}
				if a.Outcome != tt.wantOutcome || a.CaseID == nil || a.MessageID == nil {
					t.Fatalf("answer %s, want outcome %s with a case and message", res.body, tt.wantOutcome)
				}
				var m models.Message
				if err := st.GORM().Take(&m, *a.MessageID).Error; err != nil {
					t.Fatal(err)
				}
				if m.CaseID != *a.CaseID || m.EmailFrom != "ann@example.com" || m.AccountID != f.one.ID {
					t.Errorf("message %+v", m)
				}
			})
		}
		for _, ref := range []string{"<x1@example.com>", "<x2@example.com>", "<x3@example.com>", "<x5@example.com>", "<x6@example.com>"} {
			if ms := messagesBySource(t, st, ref); len(ms) != 0 {
				t.Errorf("refused email %s was written", ref)
			}
		}
	})
}
