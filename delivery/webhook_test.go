package delivery_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"switchboard/delivery"
	"switchboard/models"
	"switchboard/store"
	"switchboard/store/storetest"
)

func TestWebhookRetry(t *testing.T) {
	for _, tc := range []struct {
		attempt int
		wait    time.Duration
		giveUp  bool
	}{
		{1, 5 * time.Second, false},
		{2, 30 * time.Second, false},
		{3, 2 * time.Minute, false},
		{4, 10 * time.Minute, false},
		{5, 30 * time.Minute, false},
		{6, time.Hour, false},
		{delivery.WebhookAttempts - 1, time.Hour, false},
		{delivery.WebhookAttempts, 0, true},
	} {
		t.Run(fmt.Sprint(tc.attempt), func(t *testing.T) {
			for _, r := range []struct {
				rnd    float64
				factor float64
			}{{0, 0.8}, {0.5, 1.0}, {0.999999, 1.2}, {1.5, 0.8}} {
				got, again := delivery.WebhookRetry(tc.attempt, func() float64 { return r.rnd })
				if again == tc.giveUp {
					t.Fatalf("again = %v, want %v", again, !tc.giveUp)
				}
				want := time.Duration(float64(tc.wait) * r.factor)
				if d, tol := got-want, want/10000+time.Millisecond; d < -tol || d > tol {
					t.Errorf("rnd %v: wait %v, want %v", r.rnd, got, want)
				}
			}
		})
	}
	t.Run("AboutADay", func(t *testing.T) {
		var total time.Duration
		for a := 1; ; a++ {
			d, again := delivery.WebhookRetry(a, func() float64 { return 0.5 })
			if !again {
				break
			}
			total += d
		}
		if total < 23*time.Hour || total > 25*time.Hour {
			t.Errorf("the schedule gives up after %v, want about 24h", total)
		}
	})
}

func TestWebhookSender_Post(t *testing.T) {
	var hits atomic.Int64
	var mu sync.Mutex
	var lastHeader http.Header
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		mu.Lock()
		lastHeader = r.Header.Clone()
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("/gone", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "bye", http.StatusGone) })
	mux.HandleFunc("/down", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "oops", http.StatusInternalServerError) })
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/ok", http.StatusTemporaryRedirect) })
	release := make(chan struct{})
	mux.HandleFunc("/hang", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	defer close(release)
	port := srv.Listener.Addr().(interface{ AddrPort() netip.AddrPort }).AddrPort().Port()
	open := delivery.NewWebhookSender(delivery.WebhookSenderOptions{AllowPrivate: true, Timeout: time.Second})
	guarded := delivery.NewWebhookSender(delivery.WebhookSenderOptions{})
	req := delivery.WebhookRequest{Body: []byte(`{"a":1}`), Header: http.Header{"X-Test": {"yes"}}}

	for _, tc := range []struct {
		name       string
		sender     *delivery.WebhookSender
		url        string
		wantStatus int
		wantErr    error // nil: success
		wantHit    bool
	}{
		{"OK", open, srv.URL + "/ok", http.StatusNoContent, nil, true},
		{"GoneIsPermanent", open, srv.URL + "/gone", http.StatusGone, delivery.ErrGone, false},
		{"ServerErrorIsRetried", open, srv.URL + "/down", http.StatusInternalServerError, errors.New("status"), false},
		{"RedirectNotFollowed", open, srv.URL + "/redirect", http.StatusTemporaryRedirect, errors.New("status"), false},
		{"LoopbackRefused", guarded, srv.URL + "/ok", 0, delivery.ErrAddressRefused, false},
		{"NameOfLoopbackRefused", guarded, fmt.Sprintf("http://localhost:%d/ok", port), 0, delivery.ErrAddressRefused, false},
		{"MappedLoopbackRefused", guarded, fmt.Sprintf("http://[::ffff:127.0.0.1]:%d/ok", port), 0, delivery.ErrAddressRefused, false},
		{"NotHTTP", open, "ftp://example.com/x", 0, delivery.ErrPermanent, false},
		{"Timeout", open, srv.URL + "/hang", 0, errors.New("no answer"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := hits.Load()
			status, err := tc.sender.Post(t.Context(), tc.url, req)
			if status != tc.wantStatus {
				t.Errorf("status %d, want %d", status, tc.wantStatus)
			}
			switch {
			case tc.wantErr == nil && err != nil:
				t.Fatalf("err %v, want success", err)
			case tc.wantErr != nil && err == nil:
				t.Fatalf("success, want an error like %v", tc.wantErr)
			case tc.wantErr != nil && tc.wantErr.Error() == "status":
				var se *delivery.StatusError
				if !errors.As(err, &se) || errors.Is(err, delivery.ErrPermanent) {
					t.Errorf("err %v, want a retried *StatusError", err)
				}
			case tc.wantErr != nil && tc.wantErr.Error() == "no answer":
				if !strings.Contains(err.Error(), "no answer") || errors.Is(err, delivery.ErrPermanent) {
					t.Errorf("err %v, want a retried timeout", err)
				}
			case tc.wantErr != nil && !errors.Is(err, tc.wantErr):
				t.Errorf("err %v, want %v", err, tc.wantErr)
			}
			if hit := hits.Load() > before; hit != tc.wantHit {
				t.Errorf("/ok reached: %v, want %v", hit, tc.wantHit)
			}
		})
	}
	t.Run("Headers", func(t *testing.T) {
		mu.Lock()
		defer mu.Unlock()
		if lastHeader.Get("Content-Type") != "application/json" || lastHeader.Get("User-Agent") != "switchboard" ||
			lastHeader.Get("X-Test") != "yes" {
			t.Errorf("headers %v", lastHeader)
		}
	})
}

// testRenderer renders a delivery as {"seq", "type"} with its reference in
// webhook-id: the worker's tests check the sending, the formats are
// handlers'.
type testRenderer struct{}

func (testRenderer) Wants(w models.Webhook, ev models.Event) bool {
	return ev.Type == models.EventMessageCreated
}

func (testRenderer) Render(o store.WebhookOutgoing, _ time.Time) (delivery.WebhookRequest, error) {
	body, err := json.Marshal(map[string]any{"seq": o.Event.Seq, "type": o.Event.Type})
	return delivery.WebhookRequest{Body: body, Header: http.Header{"Webhook-Id": {o.Delivery.Reference}}}, err
}

// receiver is a webhook receiver that answers the first failFirst requests
// with 503 and the rest with status, recording every request.
type receiver struct {
	mu        sync.Mutex
	failFirst int
	status    int
	got       []received
}

type received struct {
	id     string
	seq    int64
	status int
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var b struct{ Seq int64 }
	_ = json.Unmarshal(body, &b)
	rc.mu.Lock()
	status := rc.status
	if len(rc.got) < rc.failFirst {
		status = http.StatusServiceUnavailable
	}
	rc.got = append(rc.got, received{id: r.Header.Get("Webhook-Id"), seq: b.Seq, status: status})
	rc.mu.Unlock()
	w.WriteHeader(status)
}

func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

// mustWebhookCase returns a new account with a case of a new contact, for
// the worker's tests to write messages into.
func mustWebhookCase(tb testing.TB, s *store.Store) (models.Account, store.CaseView) {
	tb.Helper()
	acct := storetest.MustAccount(tb, s, storetest.Name("acme "))
	contact := storetest.MustContact(tb, s, acct.ID, "Zoë", "zoe@example.com", "")
	c, err := s.CreateCase(tb.Context(), acct.ID, store.NewCase{ContactID: contact.ID})
	if err != nil {
		tb.Fatal(err)
	}
	return acct, c
}

// mustSubscribe serves h until the test ends and subscribes the account to
// it in the standard format, with every event.
func mustSubscribe(tb testing.TB, s *store.Store, accountID int64, h http.Handler) models.Webhook {
	tb.Helper()
	srv := httptest.NewServer(h)
	tb.Cleanup(srv.Close)
	w, err := s.CreateWebhook(tb.Context(), accountID, store.NewWebhook{URL: srv.URL, Format: models.FormatStandard,
		Secret: "whsec_c2VjcmV0"})
	if err != nil {
		tb.Fatal(err)
	}
	return w
}

// runWebhookWorker runs a webhook worker over s until the test ends. Its
// clock runs two hours behind, so each retry is due at once: the tests
// check what is sent, not the waits (TestWebhookRetry does). A claim takes
// runs of up to 10 rows, so a failing head has rows behind it in the same
// batch, which must wait for it.
// It returns the worker's outcome counts, by "channel result".
func runWebhookWorker(t *testing.T, s *store.Store, pollEvery time.Duration) *outcomeCounts {
	t.Helper()
	w := delivery.NewWebhookWorker(s, testRenderer{}, delivery.NewWebhookSender(delivery.WebhookSenderOptions{AllowPrivate: true}),
		delivery.Config{Workers: 2, Batch: 10, PollEvery: pollEvery, Now: func() time.Time { return time.Now().Add(-2 * time.Hour) }}, nil)
	counts := &outcomeCounts{n: map[string]int{}}
	w.CountOutcomes(counts.add)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return counts
}

// outcomeCounts counts a worker's outcomes by "channel result".
type outcomeCounts struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *outcomeCounts) add(channel, result string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n[channel+" "+result]++
}

func (c *outcomeCounts) get(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[key]
}

// waitFor polls cond until it holds, failing the test after 30 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestWebhookWorker_Run(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		acct, c := mustWebhookCase(t, s)
		subscribe := func(t *testing.T, rc *receiver) models.Webhook { return mustSubscribe(t, s, acct.ID, rc) }
		write := func(t *testing.T, n int) {
			for i := range n {
				if _, err := s.AddMessage(ctx, acct.ID, c.ID, store.NewMessage{Sender: models.SenderContact, Kind: models.KindMessage,
					Text: fmt.Sprint("m", i)}); err != nil {
					t.Fatal(err)
				}
			}
		}
		flaky := &receiver{failFirst: 4, status: http.StatusOK}
		steady := &receiver{status: http.StatusNoContent}
		gone := &receiver{status: http.StatusGone}
		wFlaky, wSteady, wGone := subscribe(t, flaky), subscribe(t, steady), subscribe(t, gone)
		counts := runWebhookWorker(t, s, 50*time.Millisecond)
		const n = 6
		write(t, n)

		sentAll := func(w models.Webhook) func() bool {
			return func() bool {
				ds, err := s.WebhookDeliveries(ctx, acct.ID, w.ID, store.WebhookDeliveryFilter{Status: models.DeliverySent})
				return err == nil && len(ds) == n
			}
		}
		t.Run("FailsThenRecovers", func(t *testing.T) {
			waitFor(t, "every delivery to the flaky receiver", sentAll(wFlaky))
			checkReceived(t, flaky.requests(), n)
		})
		t.Run("Steady", func(t *testing.T) {
			waitFor(t, "every delivery to the steady receiver", sentAll(wSteady))
			got := steady.requests()
			if len(got) != n {
				t.Errorf("%d requests, want %d (no retry needed)", len(got), n)
			}
			checkReceived(t, got, n)
		})
		t.Run("GoneDisables", func(t *testing.T) {
			waitFor(t, "the gone receiver's subscription disabled", func() bool {
				w, err := s.Webhook(ctx, acct.ID, wGone.ID)
				return err == nil && w.Status == models.WebhookDisabled
			})
			if got := gone.requests(); len(got) != 1 {
				t.Errorf("%d requests after 410, want 1", len(got))
			}
			failed, err := s.WebhookDeliveries(ctx, acct.ID, wGone.ID, store.WebhookDeliveryFilter{Status: models.DeliveryFailed})
			if err != nil {
				t.Fatal(err)
			}
			if len(failed) != 1 || failed[0].ResponseStatus != http.StatusGone {
				t.Errorf("failed deliveries %+v, want the one answered 410", failed)
			}
		})
		t.Run("Counted", func(t *testing.T) {
			// The flaky receiver refused its first 4 requests; the gone one
			// failed its head for good.
			if got := counts.get("webhook sent"); got < 2*n {
				t.Errorf("counted %d sent, want at least %d", got, 2*n)
			}
			if got := counts.get("webhook retry"); got != 4 {
				t.Errorf("counted %d retries, want 4", got)
			}
			if got := counts.get("webhook failed"); got != 1 {
				t.Errorf("counted %d failed, want 1", got)
			}
		})
	})
}

// checkReceived checks a receiver's requests: every one of n events was
// answered 2xx, in sequence order, and a repeated event came with the same
// id.
func checkReceived(t *testing.T, got []received, n int) {
	t.Helper()
	idOf := map[int64]string{}
	var okSeqs []int64
	for _, r := range got {
		if id, seen := idOf[r.seq]; seen && id != r.id {
			t.Errorf("event %d came with ids %s and %s", r.seq, id, r.id)
		}
		idOf[r.seq] = r.id
		if r.status < 300 {
			okSeqs = append(okSeqs, r.seq)
		}
	}
	if len(okSeqs) != n {
		t.Fatalf("%d events taken, want %d: %+v", len(okSeqs), n, got)
	}
	for i := 1; i < len(okSeqs); i++ {
		if okSeqs[i] <= okSeqs[i-1] {
			t.Errorf("events taken out of order: %v", okSeqs)
		}
	}
	// Nothing after a refused event arrives before its retry: ordering
	// holds across failures too.
	var last int64
	for _, r := range got {
		if r.seq < last {
			t.Errorf("event %d sent after event %d", r.seq, last)
		}
		last = max(last, r.seq)
	}
}

// TestWebhookWorker_WakesOnCommit runs a worker that would poll only once
// an hour: a committed event reaches the receiver all the same, woken by
// the commit.
func TestWebhookWorker_WakesOnCommit(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		acct, c := mustWebhookCase(t, s)
		rc := &receiver{status: http.StatusOK}
		mustSubscribe(t, s, acct.ID, rc)
		runWebhookWorker(t, s, time.Hour)
		for i := range 3 {
			if _, err := s.AddMessage(ctx, acct.ID, c.ID, store.NewMessage{Sender: models.SenderContact, Kind: models.KindMessage,
				Text: fmt.Sprint("m", i)}); err != nil {
				t.Fatal(err)
			}
			waitFor(t, fmt.Sprintf("message %d at the receiver", i), func() bool { return len(rc.requests()) == i+1 })
		}
	})
}

// blockingReceiver answers 200 to every request once released, holding
// each request until then; it counts the requests that arrived.
type blockingReceiver struct {
	release chan struct{}
	mu      sync.Mutex
	n       int
}

func (rc *blockingReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rc.mu.Lock()
	rc.n++
	rc.mu.Unlock()
	select {
	case <-rc.release:
	case <-r.Context().Done():
	}
	w.WriteHeader(http.StatusOK)
}

func (rc *blockingReceiver) arrived() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.n
}

// TestWebhookWorker_SlowReceiver runs one worker goroutine whose claim
// takes the heads of two subscriptions, the first of which does not answer:
// the second receives its event while the first still holds its request.
// The request timeout is longer than the test waits, so only sending the
// queues side by side passes.
func TestWebhookWorker_SlowReceiver(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		acct, c := mustWebhookCase(t, s)
		slow := &blockingReceiver{release: make(chan struct{})}
		var once sync.Once
		release := func() { once.Do(func() { close(slow.release) }) }
		steady := &receiver{status: http.StatusOK}
		// The slow subscription is made first, so that its head comes first
		// in the claim.
		mustSubscribe(t, s, acct.ID, slow)
		mustSubscribe(t, s, acct.ID, steady)
		t.Cleanup(release) // before the servers close: they wait for their requests
		// The message is written before the worker starts, so that its first
		// claim fans it out to both subscriptions at once. Written while that
		// claim ran, it could commit between the claim's read of the
		// subscriptions behind and its read of their events, and reach only
		// the slow one (whose cursor, before the steady one's creation,
		// made it the one behind): the steady one's delivery would then wait
		// for the worker's next claim, after the slow send.
		if _, err := s.AddMessage(ctx, acct.ID, c.ID, store.NewMessage{Sender: models.SenderContact, Kind: models.KindMessage,
			Text: "hello"}); err != nil {
			t.Fatal(err)
		}
		sender := delivery.NewWebhookSender(delivery.WebhookSenderOptions{AllowPrivate: true, Timeout: 5 * time.Minute})
		w := delivery.NewWebhookWorker(s, testRenderer{}, sender,
			delivery.Config{Workers: 1, Batch: 10, PollEvery: time.Hour, SendTimeout: 5 * time.Minute, Lease: time.Hour}, nil)
		runCtx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- w.Run(runCtx) }()
		t.Cleanup(func() {
			release()
			cancel()
			if err := <-done; err != nil {
				t.Error(err)
			}
		})
		waitFor(t, "the slow receiver's request", func() bool { return slow.arrived() == 1 })
		waitFor(t, "the steady receiver's event while the slow one holds its request", func() bool {
			return len(steady.requests()) == 1
		})
		release()
		checkReceived(t, steady.requests(), 1)
	})
}
