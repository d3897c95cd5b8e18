package main

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"switchboard/cmd/switchboard/binarytest"
	"switchboard/models"
	"switchboard/store"
	"switchboard/store/storetest"
)

// hookReceiver keeps the webhook requests it receives, answering 200.
type hookReceiver struct {
	mu  sync.Mutex
	got []hookRequest
}

type hookRequest struct {
	header http.Header
	body   []byte
	at     time.Time
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	h.got = append(h.got, hookRequest{header: r.Header.Clone(), body: body, at: time.Now()})
	h.mu.Unlock()
}

func (h *hookReceiver) requests() []hookRequest {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]hookRequest(nil), h.got...)
}

// TestE2E_Webhooks runs the real binary with two subscriptions made in the
// database (the CLI is another command's): a customer's message posted
// through HelpCrunch reaches a HelpCrunch-format receiver as
// message.chat.customer and a standard one as message.created, each signed
// as its description says, checked here from those descriptions.
func TestE2E_Webhooks(t *testing.T) {
	bin := mustBuild(t)
	for _, b := range storetest.Backends(t) {
		t.Run(string(b), func(t *testing.T) {
			hc, std := &hookReceiver{}, &hookReceiver{}
			hcSrv, stdSrv := httptest.NewServer(hc), httptest.NewServer(std)
			t.Cleanup(hcSrv.Close)
			t.Cleanup(stdSrv.Close)

			dbURL := storetest.MustURL(t, b)
			t.Setenv("SWITCHBOARD_WEBHOOK_ALLOW_PRIVATE", "true")
			s := mustStart(t, bin, dbURL)
			_, _, token := binarytest.MustCredentials(t, s.stdout)

			const hcSecret = "hc-signing-key"
			stdKey := []byte("a standard webhooks key of 32 bytes")
			stdSecret := "whsec_" + base64.StdEncoding.EncodeToString(stdKey)
			st := storetest.MustOpenURL(t, dbURL)
			for _, w := range []store.NewWebhook{
				{URL: hcSrv.URL + "/hook", Format: models.FormatHelpCrunch, Events: []string{"message.chat.customer"},
					Types: []models.EventType{models.EventMessageCreated}, Secret: hcSecret},
				{URL: stdSrv.URL, Format: models.FormatStandard, Events: []string{"message.created"},
					Types: []models.EventType{models.EventMessageCreated}, Secret: stdSecret},
			} {
				if _, err := st.CreateWebhook(t.Context(), 1, w); err != nil {
					t.Fatal(err)
				}
			}
			st.Close()

			code, body := s.call(t, http.MethodPost, "/v1/customers", token, "", map[string]any{"name": "Ann", "email": "ann@example.com"})
			var cust struct{ ID int64 }
			mustJSON(t, "customer", body, &cust)
			if code != 200 {
				t.Fatalf("POST /v1/customers = %d %s", code, body)
			}
			code, body = s.call(t, http.MethodPost, "/v1/chats", token, "", map[string]any{"customer": cust.ID})
			var chat struct{ ID int64 }
			mustJSON(t, "chat", body, &chat)
			if code != 200 {
				t.Fatalf("POST /v1/chats = %d %s", code, body)
			}
			posted := time.Now()
			code, body = s.call(t, http.MethodPost, "/v1/messages", token, "", map[string]any{"chat": chat.ID, "text": "Where is my order?", "type": "message"})
			var msg struct{ ID int64 }
			mustJSON(t, "message", body, &msg)
			if code != 200 {
				t.Fatalf("POST /v1/messages = %d %s", code, body)
			}

			waitFor(t, "the HelpCrunch webhook", func() bool { return len(hc.requests()) >= 1 })
			waitFor(t, "the standard webhook", func() bool { return len(std.requests()) >= 1 })
			// A figure, not an assertion: from sending the POST to the receivers.
			t.Logf("POST /v1/messages to the receivers: helpcrunch %v, standard %v",
				hc.requests()[0].at.Sub(posted), std.requests()[0].at.Sub(posted))

			t.Run("HelpCrunch", func(t *testing.T) {
				r := hc.requests()[0]
				// X-HelpCrunch-Signature: hex HMAC-SHA1 of the raw body with the signing key.
				mac := hmac.New(sha1.New, []byte(hcSecret))
				mac.Write(r.body)
				if got := r.header.Get("X-HelpCrunch-Signature"); got != hex.EncodeToString(mac.Sum(nil)) {
					t.Errorf("X-HelpCrunch-Signature %q does not sign %s", got, r.body)
				}
				var env struct {
					Event     string
					EventData struct {
						ChatID   int64 `json:"chat_id"`
						Customer struct{ ID int64 }
						Message  struct {
							ID   int64
							Text string
						}
					}
					Attempts int
					ID       string
				}
				mustJSON(t, "HelpCrunch webhook", string(r.body), &env)
				if env.Event != "message.chat.customer" || env.EventData.ChatID != chat.ID || env.EventData.Customer.ID != cust.ID ||
					env.EventData.Message.ID != msg.ID || env.EventData.Message.Text != "Where is my order?" || env.Attempts != 1 || env.ID == "" {
					t.Errorf("body %s", r.body)
				}
				if r.header.Get("Content-Type") != "application/json" || r.header.Get("User-Agent") != "switchboard" {
					t.Errorf("headers %v", r.header)
				}
			})
			t.Run("Standard", func(t *testing.T) {
				r := std.requests()[0]
				// webhook-signature: v1,base64(HMAC-SHA256(key, id.timestamp.body)).
				id, ts := r.header.Get("webhook-id"), r.header.Get("webhook-timestamp")
				mac := hmac.New(sha256.New, stdKey)
				mac.Write([]byte(id + "." + ts + "." + string(r.body)))
				want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
				if !strings.Contains(" "+r.header.Get("webhook-signature")+" ", " "+want+" ") || id == "" {
					t.Errorf("webhook-signature %q, want %q", r.header.Get("webhook-signature"), want)
				}
				var ev struct {
					Type string
					Data struct {
						MessageID int64 `json:"message_id"`
						CaseID    int64 `json:"case_id"`
					}
				}
				if err := json.Unmarshal(r.body, &ev); err != nil {
					t.Fatal(err)
				}
				if ev.Type != "message.created" || ev.Data.MessageID != msg.ID || ev.Data.CaseID != chat.ID {
					t.Errorf("body %s", r.body)
				}
			})
			if err := s.stop(t); err != nil {
				t.Errorf("exit after SIGTERM: %v\n%s", err, s.logs.String())
			}
			if n := len(hc.requests()); n != 1 {
				t.Errorf("the HelpCrunch receiver got %d requests, want 1", n)
			}
		})
	}
}

// TestE2E_WebhooksKilledMidDelivery SIGKILLs the server while a receiver
// holds its request unanswered, then starts it again: once the delivery's
// lease (--webhook-lease, 11 s here) has run out the restarted server sends
// it again, with the same webhook-id, and the receiver takes it. At least
// once, and a duplicate is recognisable.
func TestE2E_WebhooksKilledMidDelivery(t *testing.T) {
	bin := mustBuild(t)
	for _, b := range storetest.Backends(t) {
		t.Run(string(b), func(t *testing.T) {
			var mu sync.Mutex
			var got []hookRequest
			holding := make(chan struct{})
			var holdOnce sync.Once
			recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				mu.Lock()
				got = append(got, hookRequest{header: r.Header.Clone(), body: body, at: time.Now()})
				first := len(got) == 1
				mu.Unlock()
				if first {
					// Hold the first request until its sender is gone.
					holdOnce.Do(func() { close(holding) })
					<-r.Context().Done()
				}
			}))
			t.Cleanup(recv.Close)
			requests := func() []hookRequest {
				mu.Lock()
				defer mu.Unlock()
				return append([]hookRequest(nil), got...)
			}

			dbURL := storetest.MustURL(t, b)
			t.Setenv("SWITCHBOARD_WEBHOOK_ALLOW_PRIVATE", "true")
			t.Setenv("SWITCHBOARD_WEBHOOK_LEASE", "11s")
			s := mustStart(t, bin, dbURL)
			_, _, token := binarytest.MustCredentials(t, s.stdout)
			st := storetest.MustOpenURL(t, dbURL)
			if _, err := st.CreateWebhook(t.Context(), 1, store.NewWebhook{URL: recv.URL, Format: models.FormatStandard,
				Events: []string{"contact.created"}, Types: []models.EventType{models.EventContactCreated},
				Secret: "whsec_" + base64.StdEncoding.EncodeToString([]byte("kill test key"))}); err != nil {
				t.Fatal(err)
			}
			st.Close()
			code, body := s.call(t, http.MethodPost, "/v1/customers", token, "", map[string]any{"name": "Ann", "email": "ann@example.com"})
			if code != 200 {
				t.Fatalf("POST /v1/customers = %d %s", code, body)
			}
			select {
			case <-holding:
			case <-time.After(30 * time.Second):
				t.Fatal("the webhook did not reach the receiver")
			}
			if err := s.cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			<-s.done

			mustStart(t, bin, dbURL)
			waitFor(t, "the delivery sent again after the restart", func() bool { return len(requests()) >= 2 })
			reqs := requests()
			first, again := reqs[0], reqs[1]
			if id := first.header.Get("webhook-id"); id == "" || again.header.Get("webhook-id") != id {
				t.Errorf("webhook-id %q then %q, want the same", id, again.header.Get("webhook-id"))
			}
			var a, a2 struct{ Data struct{ Seq int64 } }
			mustJSON(t, "first", string(first.body), &a)
			mustJSON(t, "again", string(again.body), &a2)
			if a.Data.Seq == 0 || a.Data.Seq != a2.Data.Seq {
				t.Errorf("event %d then %d, want the same", a.Data.Seq, a2.Data.Seq)
			}
			st = storetest.MustOpenURL(t, dbURL)
			defer st.Close()
			waitFor(t, "the delivery recorded as sent", func() bool {
				hooks, err := st.Webhooks(t.Context(), 1)
				if err != nil || len(hooks) != 1 {
					return false
				}
				ds, err := st.WebhookDeliveries(t.Context(), 1, hooks[0].ID, store.WebhookDeliveryFilter{Status: models.DeliverySent})
				return err == nil && len(ds) == 1 && ds[0].Attempts == 2
			})
		})
	}
}
