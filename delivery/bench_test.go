package delivery_test

import (
	"fmt"
	"testing"
	"time"

	"switchboard/delivery"
	"switchboard/models"
	"switchboard/store"
	"switchboard/store/storetest"
)

// BenchmarkWorker measures the worker's throughput on PostgreSQL: b.N queued
// deliveries sent to the in-process SMTP server (STARTTLS and AUTH PLAIN,
// one connection a message) or to the httptest SMS provider, with 1 and 4
// goroutines, until every outcome is recorded. It reports msgs/s.
//
//	go test ./delivery -run '^$' -bench BenchmarkWorker -benchtime 2000x
func BenchmarkWorker(b *testing.B) {
	if _, err := storetest.Postgres(); err != nil {
		b.Skipf("PostgreSQL does not answer: %v", err)
	}
	for _, kind := range []models.InboxKind{models.InboxEmail, models.InboxSMS} {
		for _, workers := range []int{1, 4} {
			b.Run(fmt.Sprintf("%s/workers=%d", kind, workers), func(b *testing.B) {
				s := storetest.MustOpen(b, store.Postgres)
				f := mustFixture(b, s)
				mustQueue(b, f, kind, b.N)
				cfg := delivery.Config{Workers: workers, Batch: 10, PollEvery: 5 * time.Millisecond}
				var w *delivery.Worker
				var wait func()
				switch kind {
				case models.InboxEmail:
					ms := mustMail(b, nil)
					w = delivery.New(s, ms.sender, nil, cfg, nil)
					wait = func() { ms.srv.WaitDistinct(b, b.N) }
				case models.InboxSMS:
					fp := mustProvider(b, nil)
					w = delivery.New(s, nil, mustTwilio(b, fp.URL), cfg, nil)
					wait = func() { fp.WaitDistinct(b, b.N) }
				}
				b.ResetTimer()
				began := time.Now()
				r := start(b, w.Run)
				wait()
				// Stopping waits for the last outcomes to be recorded.
				r.stop(b)
				elapsed := time.Since(began)
				b.StopTimer()
				var sent int64
				if err := s.GORM().Model(&models.Delivery{}).Where("status = ?", models.DeliverySent).Count(&sent).Error; err != nil {
					b.Fatal(err)
				}
				if sent != int64(b.N) {
					b.Fatalf("%d of %d deliveries recorded sent", sent, b.N)
				}
				b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
			})
		}
	}
}

// mustQueue writes n queued deliveries of the kind straight into the tables
// (AddEmail and AddSMS would spend the hourly quota and take a transaction
// each): for email one case per message, so that no thread grows with n.
func mustQueue(tb testing.TB, f fixture, kind models.InboxKind, n int) {
	tb.Helper()
	db := f.s.GORM()
	now := time.Now().UTC().Truncate(time.Microsecond)
	const chunk = 500
	for done := 0; done < n; done += chunk {
		size := min(chunk, n-done)
		caseIDs := make([]int64, size)
		if kind == models.InboxEmail {
			// Each case needs a timeline id of its own (migration 0013).
			var timelines []int64
			if err := db.Raw(`SELECT nextval('timelines_id_seq') FROM generate_series(1, ?)`, size).Scan(&timelines).Error; err != nil {
				tb.Fatalf("queue cases: %v", err)
			}
			cases := make([]models.Case, size)
			for i := range cases {
				cases[i] = models.Case{AccountID: f.acct.ID, ContactID: f.contact.ID, Channel: models.ChannelEmail, Status: models.StatusOpen,
					Initiator: "agent", Subject: "bench", TimelineID: timelines[i], StartedAt: now, CreatedAt: now, UpdatedAt: now}
			}
			if err := db.Create(&cases).Error; err != nil {
				tb.Fatalf("queue cases: %v", err)
			}
			for i, c := range cases {
				caseIDs[i] = c.ID
			}
		} else {
			for i := range caseIDs {
				caseIDs[i] = f.smsCase
			}
		}
		msgs := make([]models.Message, size)
		for i := range msgs {
			m := models.Message{AccountID: f.acct.ID, CaseID: caseIDs[i], Sender: models.SenderAgent, AgentID: &f.agent.ID,
				Kind: models.KindMessage, DeliveryStatus: string(models.DeliveryQueued), CreatedAt: now, UpdatedAt: now,
				EmailTo: "[]", EmailCc: "[]", EmailBcc: "[]"}
			if kind == models.InboxEmail {
				m.EmailFrom, m.EmailTo, m.EmailSubject = inboxEmail, `["zoe@example.com"]`, fmt.Sprintf("Benchmark %d", done+i)
				m.Text, m.HTMLBody = "Bonjour Zoë,\nyour order shipped.", "<p>Bonjour Zoë,</p><p>your order shipped.</p>"
			} else {
				m.SMSFrom, m.SMSTo, m.Text = inboxSMS, f.contact.Phone, "Your order shipped."
			}
			msgs[i] = m
		}
		if err := db.Create(&msgs).Error; err != nil {
			tb.Fatalf("queue messages: %v", err)
		}
		ds := make([]models.Delivery, size)
		for i, m := range msgs {
			ref := fmt.Sprintf("sb-sms-%d-bench", m.ID)
			if kind == models.InboxEmail {
				ref = fmt.Sprintf("<sb.%d.bench@acme.com>", m.ID)
			}
			ds[i] = models.Delivery{AccountID: f.acct.ID, MessageID: m.ID, Kind: kind, Status: models.DeliveryQueued,
				NextAttemptAt: now, Reference: ref, CreatedAt: now, UpdatedAt: now}
		}
		if err := db.Create(&ds).Error; err != nil {
			tb.Fatalf("queue deliveries: %v", err)
		}
	}
}
