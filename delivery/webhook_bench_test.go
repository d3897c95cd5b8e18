package delivery_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"switchboard/delivery"
	"switchboard/models"
	"switchboard/store"
	"switchboard/store/storetest"
)

// BenchmarkWebhookWorker measures the webhook worker's throughput on
// PostgreSQL: b.N messages written before it starts, each an event that 5
// subscriptions want, sent to receivers that answer 204, until every
// delivery is recorded sent. It reports deliveries/s and the worker's
// allocations are the benchmark's.
//
//	go test ./delivery -run '^$' -bench BenchmarkWebhookWorker -benchtime 400x
func BenchmarkWebhookWorker(b *testing.B) {
	if _, err := storetest.Postgres(); err != nil {
		b.Skipf("PostgreSQL does not answer: %v", err)
	}
	const subscriptions = 5
	s := storetest.MustOpen(b, store.Postgres)
	ctx := b.Context()
	acct := storetest.MustAccount(b, s, storetest.Name("acme "))
	contact := storetest.MustContact(b, s, acct.ID, "Zoë", "zoe@example.com", "")
	c, err := s.CreateCase(ctx, acct.ID, store.NewCase{ContactID: contact.ID})
	if err != nil {
		b.Fatal(err)
	}
	var got atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	b.Cleanup(srv.Close)
	for range subscriptions {
		if _, err := s.CreateWebhook(ctx, acct.ID, store.NewWebhook{URL: srv.URL, Format: models.FormatStandard, Secret: "whsec_c2VjcmV0"}); err != nil {
			b.Fatal(err)
		}
	}
	for i := range b.N {
		if _, err := s.AddMessage(ctx, acct.ID, c.ID, store.NewMessage{Sender: models.SenderContact, Kind: models.KindMessage,
			Text: fmt.Sprint("m", i)}); err != nil {
			b.Fatal(err)
		}
	}
	want := int64(subscriptions * b.N)
	w := delivery.NewWebhookWorker(s, testRenderer{}, delivery.NewWebhookSender(delivery.WebhookSenderOptions{AllowPrivate: true}),
		delivery.Config{Workers: 4, PollEvery: 5 * time.Millisecond}, nil)
	b.ResetTimer()
	began := time.Now()
	rctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(rctx) }()
	for {
		var sent int64
		if err := s.GORM().Model(&models.WebhookDelivery{}).Where("status = ?", models.DeliverySent).Count(&sent).Error; err != nil {
			b.Fatal(err)
		}
		if sent == want {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	elapsed := time.Since(began)
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	if n := got.Load(); n < want {
		b.Fatalf("receivers got %d requests, want at least %d", n, want)
	}
	b.ReportMetric(float64(want)/elapsed.Seconds(), "deliveries/s")
}

// BenchmarkWebhookSender_Post measures what one webhook POST costs in CPU
// on this machine, sender and receiver together: the floor under any
// outbox's delivery, however it claims and records. Both ends are in this
// process, so its CPU time (getrusage) per post is the pair's; the kernel's
// loopback work done in softirq context is not in it.
//
//	go test ./delivery -run '^$' -bench 'WebhookSender_Post' -benchtime 20000x -count 3
func BenchmarkWebhookSender_Post(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusOK)
	}))
	b.Cleanup(srv.Close)
	sender := delivery.NewWebhookSender(delivery.WebhookSenderOptions{AllowPrivate: true})
	// About the size of a standard-format message.created delivery.
	body := []byte(`{"type":"message.created","timestamp":"2026-12-07T17:00:00Z","data":{"seq":123456,"type":"message.created",` +
		`"account_id":1,"case_id":4321,"contact_id":99,"message_id":7654321,"created_at":"2026-12-07T17:00:00.123456Z",` +
		`"message":{"id":7654321,"case_id":4321,"sender":"contact","kind":"message","text":"Hello, is anyone there? I have a question about my order.",` +
		`"created_at":"2026-12-07T17:00:00.123456Z"}}}`)
	req := delivery.WebhookRequest{Body: body, Header: http.Header{
		"Webhook-Id":        {"msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"},
		"Webhook-Timestamp": {"1796662800"},
		"Webhook-Signature": {"v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4="},
	}}
	ctx := b.Context()
	before := cpuTime(b)
	b.ResetTimer()
	for range b.N {
		if _, err := sender.Post(ctx, srv.URL, req); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64((cpuTime(b)-before).Microseconds())/float64(b.N), "cpu-µs/post")
}

// cpuTime returns the CPU time (user and system) this process has used.
func cpuTime(tb testing.TB) time.Duration {
	tb.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
