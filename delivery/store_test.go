package delivery_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"switchboard/delivery"
	"switchboard/models"
	"switchboard/store"
	"switchboard/store/storetest"
)

// These tests run the worker over the real store, on every backend, against
// the in-process SMTP server and the fake SMS provider.

const (
	inboxEmail = "support@acme.com"
	inboxSMS   = "+14155550111"
)

// fixture is an account with an agent, a contact, an email inbox, an SMS
// number and an email case and an SMS case.
type fixture struct {
	s         *store.Store
	acct      models.Account
	agent     models.Agent
	contact   models.Contact
	emailCase int64
	smsCase   int64
}

func mustFixture(tb testing.TB, s *store.Store) fixture {
	tb.Helper()
	ctx := context.Background()
	f := fixture{s: s}
	f.acct = storetest.MustAccount(tb, s, storetest.Name("acme "))
	f.agent = storetest.MustAgent(tb, s, f.acct.ID, storetest.Name("agent")+"@acme.com", models.RoleAgent, "hash")
	f.contact = storetest.MustContact(tb, s, f.acct.ID, "Zoë", "zoe@example.com", "+14155550122")
	for _, in := range []struct {
		kind models.InboxKind
		addr string
	}{{models.InboxEmail, inboxEmail}, {models.InboxSMS, inboxSMS}} {
		if _, err := s.CreateInbox(ctx, f.acct.ID, in.kind, in.addr); err != nil {
			tb.Fatalf("create inbox: %v", err)
		}
	}
	for _, c := range []struct {
		channel models.Channel
		id      *int64
	}{{models.ChannelEmail, &f.emailCase}, {models.ChannelSMS, &f.smsCase}} {
		v, err := s.CreateCase(ctx, f.acct.ID, store.NewCase{ContactID: f.contact.ID, Channel: c.channel, Subject: "Order #42"})
		if err != nil {
			tb.Fatalf("create case: %v", err)
		}
		*c.id = v.ID
	}
	return f
}

// email is what mustEmail queues.
func (f fixture) email(subject string) store.NewEmail {
	return store.NewEmail{
		Sender: models.SenderAgent, AgentID: &f.agent.ID, From: inboxEmail,
		To: []string{"zoe@example.com"}, Cc: []string{"boss@example.com"}, Bcc: []string{"audit@acme.com"},
		Subject: subject, TextBody: "Bonjour Zoë,\nyour order shipped.", HTMLBody: "<p>Bonjour Zoë,</p><p>your order shipped.</p>",
	}
}

// mustEmail queues an agent's email in the email case.
func (f fixture) mustEmail(tb testing.TB, in store.NewEmail) store.SentMessage {
	tb.Helper()
	m, err := f.s.AddEmail(context.Background(), f.acct.ID, f.emailCase, in)
	if err != nil {
		tb.Fatalf("add email: %v", err)
	}
	return m
}

// mustSMS queues an agent's SMS in the SMS case.
func (f fixture) mustSMS(tb testing.TB, body string) store.SentMessage {
	tb.Helper()
	m, err := f.s.AddSMS(context.Background(), f.acct.ID, f.smsCase, store.NewSMS{
		Sender: models.SenderAgent, AgentID: &f.agent.ID, From: inboxSMS, To: f.contact.Phone, Body: body,
	})
	if err != nil {
		tb.Fatalf("add sms: %v", err)
	}
	return m
}

// mustRow reads a message and its delivery back from the store.
func mustRow(tb testing.TB, s *store.Store, messageID int64) (models.Message, models.Delivery) {
	tb.Helper()
	var m models.Message
	var d models.Delivery
	if err := s.GORM().Take(&m, "id = ?", messageID).Error; err != nil {
		tb.Fatalf("read message %d: %v", messageID, err)
	}
	if err := s.GORM().Take(&d, "message_id = ?", messageID).Error; err != nil {
		tb.Fatalf("read delivery of message %d: %v", messageID, err)
	}
	return m, d
}

// checkSent checks that the message shows its delivery.
func checkSent(tb testing.TB, s *store.Store, messageID int64, attempts int) {
	tb.Helper()
	m, d := mustRow(tb, s, messageID)
	if m.DeliveryStatus != string(models.DeliverySent) || m.DeliveredAt == nil || m.FailedAt != nil || m.FailReason != "" {
		tb.Errorf("message %d: status %q delivered %v failed %v %q, want sent with its time", messageID, m.DeliveryStatus, m.DeliveredAt, m.FailedAt, m.FailReason)
	}
	if d.Status != models.DeliverySent || d.Attempts != attempts || d.LastError != "" || d.ProviderRef == "" {
		tb.Errorf("delivery of %d: %s after %d attempts, error %q, ref %q; want sent after %d, a ref and no error",
			messageID, d.Status, d.Attempts, d.LastError, d.ProviderRef, attempts)
	}
}

// testConfig retries at once (a zero jitter draw) and polls often.
func testConfig() delivery.Config {
	return delivery.Config{
		Workers: 1, Batch: 10, PollEvery: 5 * time.Millisecond, BaseBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond,
		SendTimeout: 10 * time.Second, Rand: func() float64 { return 0 },
	}
}

// mailSetup is a running SMTP server with a sender pointed at it.
type mailSetup struct {
	srv    *smtpServer
	sender *delivery.SMTP
}

// mustMail starts an SMTP server offering STARTTLS and requiring AUTH PLAIN,
// and returns a sender for it.
func mustMail(tb testing.TB, hook smtpHook) mailSetup {
	tb.Helper()
	serverTLS, clientTLS := mustTLS(tb)
	srv := mustSMTPServer(tb, smtpServerOptions{StartTLS: true, tlsConf: serverTLS, User: "relay", Pass: "pw", Hook: hook})
	return mailSetup{srv: srv, sender: mustSMTP(tb, "smtp://relay:pw@"+srv.Addr, clientTLS)}
}

// forEachBackend runs fn per backend; fn opens what stores it needs.
func forEachBackend(t *testing.T, fn func(t *testing.T, b store.Backend)) {
	for _, b := range storetest.Backends(t) {
		t.Run(string(b), func(t *testing.T) { fn(t, b) })
	}
}

// An email thread goes out whole: envelope, headers, parts, threading, and
// the store shows each message sent.
func TestWorker_Run_emailThread(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		f := mustFixture(t, s)
		ms := mustMail(t, nil)
		first := f.mustEmail(t, f.email("Votre commande — 注文 #42"))
		second := f.mustEmail(t, f.email("Re: Votre commande — 注文 #42"))
		w := delivery.New(s, ms.sender, nil, testConfig(), testLogger(t))
		r := start(t, w.Run)
		ms.srv.WaitDistinct(t, 2)
		r.stop(t)

		byID := map[string]receivedMail{}
		for _, m := range ms.srv.Accepted() {
			byID[m.MessageID] = m
			if !m.TLS || m.User != "relay" {
				t.Errorf("message %s: TLS %v user %q, want STARTTLS and AUTH", m.MessageID, m.TLS, m.User)
			}
		}
		var thread []string
		for _, sent := range []store.SentMessage{first, second} {
			ref := sent.Delivery.Reference
			got, ok := byID[ref]
			if !ok {
				t.Fatalf("no message with Message-ID %s arrived", ref)
			}
			if n := ms.srv.Count(ref); n != 1 {
				t.Errorf("%s arrived %d times", ref, n)
			}
			checkEmail(t, got, wantEmail{
				From: inboxEmail, To: []string{"zoe@example.com"}, Cc: []string{"boss@example.com"}, Bcc: []string{"audit@acme.com"},
				Subject: sent.Message.EmailSubject, MessageID: ref, Thread: thread,
				Text: sent.Message.Text, HTML: sent.Message.HTMLBody, Date: sent.Message.CreatedAt,
			})
			checkSent(t, s, sent.Message.ID, 1)
			thread = append(thread, ref)
		}
	})
}

// An SMS goes out to the provider and the store shows its sid.
func TestWorker_Run_sms(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		f := mustFixture(t, s)
		fp := mustProvider(t, nil)
		sent := f.mustSMS(t, "Your order shipped, Zoë.")
		w := delivery.New(s, nil, mustTwilio(t, fp.URL), testConfig(), testLogger(t))
		r := start(t, w.Run)
		fp.WaitDistinct(t, 1)
		r.stop(t)
		reqs := fp.Requests()
		if len(reqs) != 1 {
			t.Fatalf("%d requests, want 1", len(reqs))
		}
		checkSMSRequest(t, reqs[0], store.Outgoing{Delivery: *sent.Delivery, Message: sent.Message})
		checkSent(t, s, sent.Message.ID, 1)
		if _, d := mustRow(t, s, sent.Message.ID); d.ProviderRef != "SM00000000000000000000000000000001" {
			t.Errorf("provider ref %q, want the sid", d.ProviderRef)
		}
	})
}

// Temporary failures are retried until the message goes through, once;
// permanent ones and the last attempt fail the message with the reason.
func TestWorker_Run_faults(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b store.Backend) {
		t.Run("SMTP refuses twice with 4xx, then accepts", func(t *testing.T) {
			s := storetest.MustOpen(t, b)
			f := mustFixture(t, s)
			ms := mustMail(t, func(stage string, n int, _ *receivedMail, _ string) error {
				switch {
				case n == 1 && stage == "mail":
					return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Try again later"}
				case n == 2 && stage == "data":
					return &smtp.SMTPError{Code: 452, EnhancedCode: smtp.EnhancedCode{4, 3, 1}, Message: "Insufficient storage"}
				}
				return nil
			})
			sent := f.mustEmail(t, f.email("Retried"))
			w := delivery.New(s, ms.sender, nil, testConfig(), testLogger(t))
			r := start(t, w.Run)
			ms.srv.WaitDistinct(t, 1)
			r.stop(t)
			if n := ms.srv.Count(sent.Delivery.Reference); n != 1 || len(ms.srv.Accepted()) != 1 {
				t.Errorf("accepted %d times (%d in all), want once", n, len(ms.srv.Accepted()))
			}
			checkSent(t, s, sent.Message.ID, 3)
		})
		t.Run("provider answers 500 twice, then 201", func(t *testing.T) {
			s := storetest.MustOpen(t, b)
			f := mustFixture(t, s)
			fp := mustProvider(t, func(n int, _ smsRequest) (int, any) {
				if n <= 2 {
					return 500, twilioError(500, 20500, "Internal Server Error")
				}
				return 201, nil
			})
			sent := f.mustSMS(t, "Your order shipped.")
			w := delivery.New(s, nil, mustTwilio(t, fp.URL), testConfig(), testLogger(t))
			r := start(t, w.Run)
			fp.WaitDistinct(t, 1)
			r.stop(t)
			if n := fp.Sent(sent.Delivery.Reference); n != 1 {
				t.Errorf("delivered %d times, want once", n)
			}
			reqs := fp.Requests()
			if len(reqs) != 3 {
				t.Errorf("%d requests, want 3", len(reqs))
			}
			for _, req := range reqs {
				if req.Token != sent.Delivery.Reference {
					t.Errorf("idempotency token %q, want %q on every attempt", req.Token, sent.Delivery.Reference)
				}
			}
			checkSent(t, s, sent.Message.ID, 3)
		})

		failures := []struct {
			name     string
			attempts int
			reason   string
			setup    func(t *testing.T, f fixture) (w *delivery.Worker, messageID int64)
		}{
			{"SMTP 550 fails at once with the server's reason", 1, "5.1.1 No such user here",
				func(t *testing.T, f fixture) (*delivery.Worker, int64) {
					ms := mustMail(t, func(stage string, _ int, _ *receivedMail, to string) error {
						if stage == "rcpt" && to == "boss@example.com" {
							return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such user here"}
						}
						return nil
					})
					sent := f.mustEmail(t, f.email("Bounced"))
					return delivery.New(f.s, ms.sender, nil, testConfig(), testLogger(t)), sent.Message.ID
				}},
			{"provider 400 fails at once with its message", 1, "The 'To' number +14155550122 is not a valid phone number. (code 21211)",
				func(t *testing.T, f fixture) (*delivery.Worker, int64) {
					fp := mustProvider(t, func(int, smsRequest) (int, any) {
						return 400, twilioError(400, 21211, "The 'To' number +14155550122 is not a valid phone number.")
					})
					sent := f.mustSMS(t, "hello")
					return delivery.New(f.s, nil, mustTwilio(t, fp.URL), testConfig(), testLogger(t)), sent.Message.ID
				}},
			{"temporary errors until the last attempt", 3, "Service busy (code 20503) (after 3 attempts)",
				func(t *testing.T, f fixture) (*delivery.Worker, int64) {
					fp := mustProvider(t, func(int, smsRequest) (int, any) { return 503, twilioError(503, 20503, "Service busy") })
					sent := f.mustSMS(t, "hello")
					cfg := testConfig()
					cfg.MaxAttempts = 3
					return delivery.New(f.s, nil, mustTwilio(t, fp.URL), cfg, testLogger(t)), sent.Message.ID
				}},
		}
		for _, tt := range failures {
			t.Run(tt.name, func(t *testing.T) {
				s := storetest.MustOpen(t, b)
				f := mustFixture(t, s)
				w, id := tt.setup(t, f)
				r := start(t, w.Run)
				eventually(t, "the message to fail", func() bool {
					m, _ := mustRow(t, s, id)
					return m.DeliveryStatus == string(models.DeliveryFailed)
				})
				r.stop(t)
				m, d := mustRow(t, s, id)
				if m.FailedAt == nil || m.DeliveredAt != nil || !strings.Contains(m.FailReason, tt.reason) {
					t.Errorf("message: failed at %v, delivered at %v, reason %q; want failed with %q", m.FailedAt, m.DeliveredAt, m.FailReason, tt.reason)
				}
				if d.Status != models.DeliveryFailed || d.Attempts != tt.attempts || d.LastError != m.FailReason {
					t.Errorf("delivery: %s after %d attempts, error %q; want failed after %d", d.Status, d.Attempts, d.LastError, tt.attempts)
				}
			})
		}
	})
}

// A worker stopped mid-batch finishes the send in flight and gives the rest
// back; the next worker sends them all, each once.
func TestWorker_Run_stopAndRestart(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		f := mustFixture(t, s)
		var holding atomic.Bool
		holding.Store(true)
		held, release := make(chan struct{}), make(chan struct{})
		ms := mustMail(t, func(stage string, n int, _ *receivedMail, _ string) error {
			if stage == "data" && n == 3 && holding.Load() {
				close(held)
				<-release
			}
			return nil
		})
		const total = 12
		refs := map[string]int64{}
		for i := range total {
			sent := f.mustEmail(t, f.email(fmt.Sprintf("Message %d", i)))
			refs[sent.Delivery.Reference] = sent.Message.ID
		}
		w1 := delivery.New(s, ms.sender, nil, testConfig(), testLogger(t))
		r1 := start(t, w1.Run)
		<-held
		r1.cancel() // the third send is in flight, seven more rows of the batch wait
		holding.Store(false)
		close(release)
		r1.stop(t)

		var counts []struct {
			Status   string
			Attempts int
			N        int
		}
		if err := s.GORM().Raw(`SELECT status, attempts, COUNT(*) AS n FROM deliveries GROUP BY status, attempts ORDER BY status, attempts`).
			Scan(&counts).Error; err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(counts); got != "[{queued 0 9} {sent 1 3}]" {
			t.Errorf("after the stop: %s, want 3 sent (the one in flight too) and 9 queued with no attempt counted", got)
		}

		w2 := delivery.New(s, ms.sender, nil, testConfig(), testLogger(t))
		r2 := start(t, w2.Run)
		ms.srv.WaitDistinct(t, total)
		r2.stop(t)
		for _, m := range ms.srv.Accepted() {
			if _, ok := refs[m.MessageID]; !ok {
				t.Errorf("a message arrived with an unknown Message-ID %q", m.MessageID)
			}
		}
		for ref, id := range refs {
			if n := ms.srv.Count(ref); n != 1 {
				t.Errorf("%s arrived %d times, want once", ref, n)
			}
			checkSent(t, s, id, 1)
		}
	})
}

// Two workers of two goroutines each share the outbox without sending any
// row twice.
func TestWorker_Run_twoWorkers(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		f := mustFixture(t, s)
		ms := mustMail(t, nil)
		fp := mustProvider(t, nil)
		const emails, sms = 30, 30
		var ids []int64
		for i := range emails {
			ids = append(ids, f.mustEmail(t, f.email(fmt.Sprintf("Message %d", i))).Message.ID)
		}
		for i := range sms {
			ids = append(ids, f.mustSMS(t, fmt.Sprintf("SMS %d", i)).Message.ID)
		}
		cfg := testConfig()
		cfg.Workers, cfg.Batch = 2, 3
		var runners []*runner
		for range 2 {
			runners = append(runners, start(t, delivery.New(s, ms.sender, mustTwilio(t, fp.URL), cfg, testLogger(t)).Run))
		}
		ms.srv.WaitDistinct(t, emails)
		fp.WaitDistinct(t, sms)
		for _, r := range runners {
			r.stop(t)
		}
		if n := len(ms.srv.Accepted()); n != emails {
			t.Errorf("%d emails accepted for %d messages", n, emails)
		}
		if n := len(fp.Requests()); n != sms {
			t.Errorf("%d SMS requests for %d messages", n, sms)
		}
		for _, id := range ids {
			checkSent(t, s, id, 1)
		}
	})
}

// A worker that dies holding rows (claimed, maybe sent, never recorded)
// leaves them to the next claim once the lease runs out: they go out again
// with the same Message-ID, and the dead claim can no longer record.
func TestWorker_Run_leaseExpiry(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		f := mustFixture(t, s)
		ms := mustMail(t, nil)
		sentBefore := f.mustEmail(t, f.email("Sent, then the worker died"))
		notSent := f.mustEmail(t, f.email("Claimed, then the worker died"))

		// The worker that dies: it claims both, sends one, records nothing.
		const lease = 300 * time.Millisecond
		claimed, err := s.ClaimDeliveries(t.Context(), []models.InboxKind{models.InboxEmail}, 10, lease)
		if err != nil || len(claimed) != 2 {
			t.Fatalf("claim = %d rows, %v; want 2", len(claimed), err)
		}
		for _, o := range claimed {
			if o.Delivery.ID == sentBefore.Delivery.ID {
				if _, err := ms.sender.Send(t.Context(), o); err != nil {
					t.Fatalf("send: %v", err)
				}
			}
		}

		w := delivery.New(s, ms.sender, nil, testConfig(), testLogger(t))
		r := start(t, w.Run)
		eventually(t, "both resent", func() bool {
			return ms.srv.Count(notSent.Delivery.Reference) == 1 && ms.srv.Count(sentBefore.Delivery.Reference) == 2
		})
		r.stop(t)
		for _, m := range ms.srv.Accepted() {
			if m.MessageID != sentBefore.Delivery.Reference && m.MessageID != notSent.Delivery.Reference {
				t.Errorf("a message arrived with Message-ID %q, not its reference", m.MessageID)
			}
		}
		for _, sent := range []store.SentMessage{sentBefore, notSent} {
			checkSent(t, s, sent.Message.ID, 2)
		}
		for _, o := range claimed {
			if err := s.DeliverySent(t.Context(), o.Delivery.ID, o.Delivery.Attempts, "late", time.Now()); !errors.Is(err, store.ErrConflict) {
				t.Errorf("the dead claim recorded delivery %d: %v, want ErrConflict", o.Delivery.ID, err)
			}
		}
	})
}

// A channel without a sender keeps its rows queued, untouched, until a
// worker with that sender runs.
func TestWorker_Run_unconfiguredChannel(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		f := mustFixture(t, s)
		ms := mustMail(t, nil)
		email := f.mustEmail(t, f.email("Goes out"))
		sms := f.mustSMS(t, "Waits for a provider")

		none := start(t, delivery.New(s, nil, nil, testConfig(), testLogger(t)).Run)
		emailOnly := start(t, delivery.New(s, ms.sender, nil, testConfig(), testLogger(t)).Run)
		ms.srv.WaitDistinct(t, 1)
		none.stop(t)
		emailOnly.stop(t)
		checkSent(t, s, email.Message.ID, 1)
		m, d := mustRow(t, s, sms.Message.ID)
		if d.Status != models.DeliveryQueued || d.Attempts != 0 || d.LastError != "" || m.DeliveryStatus != string(models.DeliveryQueued) {
			t.Errorf("SMS without a provider: delivery %s after %d attempts (%q), message %q; want queued and untouched",
				d.Status, d.Attempts, d.LastError, m.DeliveryStatus)
		}

		fp := mustProvider(t, nil)
		smsOnly := start(t, delivery.New(s, nil, mustTwilio(t, fp.URL), testConfig(), testLogger(t)).Run)
		fp.WaitDistinct(t, 1)
		smsOnly.stop(t)
		checkSent(t, s, sms.Message.ID, 1)
	})
}
