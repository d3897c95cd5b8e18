package main

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"switchboard/cmd/switchboard/binarytest"
	"switchboard/models"
	"switchboard/store/storetest"
)

// mailbox is an in-process SMTP server (emersion/go-smtp) that keeps what it
// receives.
type mailbox struct {
	addr string
	mu   sync.Mutex
	got  []received
}

type received struct {
	from string
	to   []string
	msg  *mail.Message
	body string
}

func mustMailbox(t *testing.T) *mailbox {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mb := &mailbox{addr: ln.Addr().String()}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &mailSession{mb: mb}, nil }))
	srv.Domain = "mx.test"
	srv.ErrorLog = log.New(io.Discard, "", 0)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return mb
}

func (mb *mailbox) mails() []received {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	return append([]received(nil), mb.got...)
}

type mailSession struct {
	mb   *mailbox
	from string
	to   []string
}

func (s *mailSession) Mail(from string, _ *smtp.MailOptions) error { s.from = from; return nil }
func (s *mailSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}
func (s *mailSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return err
	}
	s.mb.mu.Lock()
	defer s.mb.mu.Unlock()
	s.mb.got = append(s.mb.got, received{from: s.from, to: s.to, msg: msg, body: string(raw)})
	return nil
}
func (s *mailSession) Reset()        { s.from, s.to = "", nil }
func (s *mailSession) Logout() error { return nil }

// waitFor polls cond until it holds, failing after 30 s: a guard against a
// hung test, not a timing assertion.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
	}
}

// TestE2E_EmailAndSMS runs the real binary with an SMTP relay and an SMS
// provider: an agent's email and SMS through Acquire arrive once, with the
// delivery time recorded on the message, and the second email threads
// under the first.
func TestE2E_EmailAndSMS(t *testing.T) {
	bin := mustBuild(t)
	for _, b := range storetest.Backends(t) {
		t.Run(string(b), func(t *testing.T) {
			mb := mustMailbox(t)
			var smsMu sync.Mutex
			var sms []http.Header
			var smsForms []string
			provider := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if user, pass, ok := r.BasicAuth(); !ok || user != "AC123" || pass != "tok" || r.URL.Path != "/2010-04-01/Accounts/AC123/Messages.json" {
					http.Error(w, `{"code":20003,"message":"Authenticate","status":401}`, http.StatusUnauthorized)
					return
				}
				r.ParseForm()
				smsMu.Lock()
				sms = append(sms, r.Header.Clone())
				smsForms = append(smsForms, r.PostForm.Encode())
				smsMu.Unlock()
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusCreated)
				fmt.Fprint(w, `{"sid":"SM0001","status":"queued"}`)
			}))
			t.Cleanup(provider.Close)

			dbURL := storetest.MustURL(t, b)
			t.Setenv("SWITCHBOARD_SMTP_URL", "smtp://"+mb.addr)
			t.Setenv("SWITCHBOARD_SMS_URL", provider.URL)
			t.Setenv("SWITCHBOARD_SMS_ACCOUNT_SID", "AC123")
			t.Setenv("SWITCHBOARD_SMS_AUTH_TOKEN", "tok")
			s := mustStart(t, bin, dbURL)
			_, _, token := binarytest.MustCredentials(t, s.stdout)
			c := cli{dbURL: dbURL}
			c.mustID(t, "inbox", "create", "--account", "1", "--kind", "email", "--address", "help@acme.example")
			c.mustID(t, "inbox", "create", "--account", "1", "--kind", "sms", "--address", "+14155550150")

			code, body := s.call(t, http.MethodPost, "/v1/customers", token, "", map[string]any{"name": "Ann", "email": "ann@example.com", "phone": "+14155550101"})
			if code != 200 {
				t.Fatalf("POST /v1/customers = %d %s", code, body)
			}
			var cust struct{ ID int64 }
			mustJSON(t, "customer", body, &cust)
			code, body = s.call(t, http.MethodPost, "/v1/chats", token, "", map[string]any{"customer": cust.ID})
			var chat struct{ ID int64 }
			mustJSON(t, "chat", body, &chat)
			if code != 200 {
				t.Fatalf("POST /v1/chats = %d %s", code, body)
			}

			var ids []string
			// The second email carries a file, which arrives as a MIME part.
			invoice := base64.StdEncoding.EncodeToString([]byte("%PDF-1.4 invoice 42"))
			attachments := [][]map[string]any{{}, {{"name": "invoice.pdf", "contentType": "application/pdf", "content": invoice}}}
			for i, subject := range []string{"Your order", "Re: Your order"} {
				code, body = s.call(t, http.MethodPost, "/api/v1/mail/add-message", token, "", map[string]any{"data": map[string]any{
					"caseId": chat.ID, "to": []string{"ann@example.com"}, "from": "help@acme.example", "cc": []string{}, "bcc": []string{"audit@acme.example"},
					"subject": subject, "contactId": cust.ID, "type": "message", "textBody": fmt.Sprint("text ", i), "htmlBody": fmt.Sprint("<p>html ", i, "</p>"),
					"attachments": attachments[i],
				}})
				var sent struct {
					Data struct {
						MessageID    string `json:"messageId"`
						DateDelivery *string
					}
				}
				mustJSON(t, "mail/add-message", body, &sent)
				if code != 200 || sent.Data.MessageID == "" || sent.Data.DateDelivery != nil {
					t.Fatalf("mail/add-message = %d %s", code, body)
				}
				ids = append(ids, sent.Data.MessageID)
				waitFor(t, "the email", func() bool { return len(mb.mails()) == i+1 })
			}
			got := mb.mails()
			for i, r := range got {
				if r.msg.Header.Get("Message-Id") != ids[i] || r.from != "help@acme.example" || len(r.to) != 2 || r.msg.Header.Get("Bcc") != "" {
					t.Errorf("mail %d: from %s to %v, headers %v", i, r.from, r.to, r.msg.Header)
				}
				if !strings.Contains(r.body, fmt.Sprint("text ", i)) || !strings.Contains(r.body, fmt.Sprint("html ", i)) {
					t.Errorf("mail %d lacks a part:\n%s", i, r.body)
				}
			}
			if !strings.Contains(got[1].body, `filename="invoice.pdf"`) || !strings.Contains(got[1].body, invoice) || strings.Contains(got[0].body, "invoice") {
				t.Errorf("the attachment is not in the second mail alone:\n%s", got[1].body)
			}
			if got[1].msg.Header.Get("In-Reply-To") != ids[0] {
				t.Errorf("second mail In-Reply-To = %q, want %q", got[1].msg.Header.Get("In-Reply-To"), ids[0])
			}

			// The case's timeline, as Acquire's page says to find it: from the case.
			code, body = s.call(t, http.MethodGet, fmt.Sprintf("/api/v1/crm/objects/case/%d", chat.ID), token, "", nil)
			var acase struct {
				Data struct{ TimelineID int64 }
			}
			mustJSON(t, "case", body, &acase)
			if code != 200 || acase.Data.TimelineID == 0 {
				t.Fatalf("GET case = %d %s", code, body)
			}
			code, body = s.call(t, http.MethodPost, "/api/v1/voip/send-sms", token, "", map[string]any{
				"Body": "Your order ships today", "From": "+14155550150", "To": "+14155550101", "contactId": cust.ID, "threadId": chat.ID,
				"timelineId": acase.Data.TimelineID,
			})
			if code != 200 || !strings.Contains(body, `"status":"queued"`) {
				t.Fatalf("send-sms = %d %s", code, body)
			}
			waitFor(t, "the SMS", func() bool { smsMu.Lock(); defer smsMu.Unlock(); return len(sms) == 1 })
			if !strings.Contains(smsForms[0], "Body=Your+order+ships+today") || sms[0].Get("I-Twilio-Idempotency-Token") == "" {
				t.Errorf("SMS request %v %s", sms[0], smsForms[0])
			}

			// Every reply shows its delivery on the message.
			st := storetest.MustOpenURL(t, dbURL)
			waitFor(t, "the deliveries recorded", func() bool {
				var n int64
				st.GORM().Model(&models.Message{}).Where("case_id = ? AND delivery_status = 'sent' AND delivered_at IS NOT NULL", chat.ID).Count(&n)
				return n == 3
			})
			st.Close()
			if err := s.stop(t); err != nil {
				t.Errorf("exit after SIGTERM: %v\n%s", err, s.logs.String())
			}
			if len(mb.mails()) != 2 {
				t.Errorf("%d emails arrived, want each once", len(mb.mails()))
			}
		})
	}
}
