package delivery_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
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
