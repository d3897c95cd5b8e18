package delivery_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"switchboard/delivery"
	"switchboard/models"
	"switchboard/store"
)

// fakeOutbox is an Outbox in memory: each claim takes the next scripted
// batch, and every call is recorded.
type fakeOutbox struct {
	mu sync.Mutex
	// batches are returned by successive claims, then empty ones.
	batches [][]store.Outgoing
	// claimErrs fails the first claims; recordErrs the first records.
	claimErrs, recordErrs int
	// conflict makes the records of these deliveries fail with ErrConflict.
	conflict map[int64]bool

	claims   [][]models.InboxKind
	sent     []sentCall
	failed   []failedCall
	released []map[int64]int
	records  int
}

type sentCall struct {
	ID, Attempt int64
	Ref         string
	At          time.Time
}

type failedCall struct {
	ID, Attempt int64
	Reason      string
	RetryAt     *time.Time
}

func (f *fakeOutbox) ClaimDeliveries(_ context.Context, kinds []models.InboxKind, n int, _ time.Duration) ([]store.Outgoing, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.claims = append(f.claims, slices.Clone(kinds))
	if f.claimErrs > 0 {
		f.claimErrs--
		return nil, fmt.Errorf("claim deliveries: %w", store.ErrUnavailable)
	}
	if len(f.batches) == 0 {
		return []store.Outgoing{}, nil
	}
	b := f.batches[0]
	f.batches = f.batches[1:]
	if len(b) > n {
		panic("scripted batch larger than the worker's Batch")
	}
	return b, nil
}

// record fails as scripted, or returns nil after calling add.
func (f *fakeOutbox) record(id int64, add func()) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.records++
	if f.recordErrs > 0 {
		f.recordErrs--
		return fmt.Errorf("record delivery %d: %w", id, store.ErrUnavailable)
	}
	if f.conflict[id] {
		return fmt.Errorf("record delivery %d: %w", id, store.ErrConflict)
	}
	add()
	return nil
}

func (f *fakeOutbox) DeliverySent(_ context.Context, id int64, attempt int, ref string, at time.Time) error {
	return f.record(id, func() { f.sent = append(f.sent, sentCall{id, int64(attempt), ref, at}) })
}

func (f *fakeOutbox) DeliveryFailed(_ context.Context, id int64, attempt int, reason string, retryAt *time.Time) error {
	return f.record(id, func() { f.failed = append(f.failed, failedCall{id, int64(attempt), reason, retryAt}) })
}

func (f *fakeOutbox) ReleaseDeliveries(_ context.Context, claims map[int64]int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.released = append(f.released, claims)
	return nil
}

// outcomes returns how many rows were recorded or released.
func (f *fakeOutbox) outcomes() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := len(f.sent) + len(f.failed)
	for _, r := range f.released {
		n += len(r)
	}
	return n
}

// senderFunc adapts a function to Sender.
type senderFunc func(ctx context.Context, o store.Outgoing) (string, error)

func (f senderFunc) Send(ctx context.Context, o store.Outgoing) (string, error) { return f(ctx, o) }

// row returns a claimed delivery of the kind.
func row(id int64, kind models.InboxKind, attempts int) store.Outgoing {
	return store.Outgoing{Delivery: models.Delivery{ID: id, MessageID: id + 100, Kind: kind, Attempts: attempts,
		Status: models.DeliverySending, Reference: fmt.Sprintf("<sb.%d.x@acme.com>", id+100)}}
}

// eventually waits until cond holds (a guard against a hung test, not a
// timing assertion).
func eventually(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("gave up waiting: %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

var fixedNow = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// fastConfig is a Config for tests: a fixed clock, a fixed jitter draw and
// short waits.
func fastConfig(draw float64) delivery.Config {
	return delivery.Config{
		PollEvery: time.Millisecond, BaseBackoff: 10 * time.Second, MaxBackoff: time.Hour, MaxAttempts: 8,
		Now: func() time.Time { return fixedNow }, Rand: func() float64 { return draw },
	}
}

func TestWorker_Run(t *testing.T) {
	ptr := func(d time.Duration) *time.Time { t := fixedNow.Add(d); return &t }
	tests := []struct {
		name     string
		attempts int
		draw     float64
		// maxBackoff overrides the config's hour.
		maxBackoff time.Duration
		send       func() (string, error)
		wantSent   *sentCall
		want       *failedCall
	}{
		{"sent: the provider's reference and the clock's time", 1, 0.5, 0,
			func() (string, error) { return "250 queued as ABC", nil },
			&sentCall{1, 1, "250 queued as ABC", fixedNow}, nil},
		{"first temporary failure: jitter below the base", 1, 0.5, 0,
			func() (string, error) { return "", errors.New("451 try later") },
			nil, &failedCall{1, 1, "451 try later", ptr(5 * time.Second)}},
		{"third temporary failure: the cap doubled twice", 3, 0.5, 0,
			func() (string, error) { return "", errors.New("connection refused") },
			nil, &failedCall{1, 3, "connection refused", ptr(20 * time.Second)}},
		{"a zero draw retries at once", 3, 0, 0,
			func() (string, error) { return "", errors.New("connection refused") },
			nil, &failedCall{1, 3, "connection refused", ptr(0)}},
		{"seventh temporary failure: the cap doubled six times", 7, 0.999, 0,
			func() (string, error) { return "", errors.New("503") },
			nil, &failedCall{1, 7, "503", ptr(time.Duration(0.999 * float64(640*time.Second)))}},
		{"the cap stops at MaxBackoff", 7, 0.999, 5 * time.Minute,
			func() (string, error) { return "", errors.New("503") },
			nil, &failedCall{1, 7, "503", ptr(time.Duration(0.999 * float64(5*time.Minute)))}},
		{"a permanent error fails for good at once", 1, 0.5, 0,
			func() (string, error) { return "", fmt.Errorf("%w: 550 no such user", delivery.ErrPermanent) },
			nil, &failedCall{1, 1, "permanent delivery failure: 550 no such user", nil}},
		{"the last attempt fails for good", 8, 0.5, 0,
			func() (string, error) { return "", errors.New("451 try later") },
			nil, &failedCall{1, 8, "451 try later (after 8 attempts)", nil}},
		{"a panicking sender is a temporary failure", 1, 0, 0,
			func() (string, error) { panic("boom") },
			nil, &failedCall{1, 1, "sender panicked: boom", ptr(0)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := &fakeOutbox{batches: [][]store.Outgoing{{row(1, models.InboxEmail, tt.attempts)}}}
			send := senderFunc(func(context.Context, store.Outgoing) (string, error) { return tt.send() })
			cfg := fastConfig(tt.draw)
			if tt.maxBackoff != 0 {
				cfg.MaxBackoff = tt.maxBackoff
			}
			w := delivery.New(out, send, nil, cfg, testLogger(t))
			var counted []string
			w.CountOutcomes(func(channel, result string) { counted = append(counted, channel+" "+result) })
			r := start(t, w.Run)
			eventually(t, "the outcome", func() bool { return out.outcomes() == 1 })
			r.stop(t)
			wantCount := "email " + delivery.ResultSent
			switch {
			case tt.want != nil && tt.want.RetryAt == nil:
				wantCount = "email " + delivery.ResultFailed
			case tt.want != nil:
				wantCount = "email " + delivery.ResultRetry
			}
			if len(counted) != 1 || counted[0] != wantCount {
				t.Errorf("counted %q, want [%s]", counted, wantCount)
			}
			switch {
			case tt.wantSent != nil:
				if len(out.sent) != 1 || out.sent[0] != *tt.wantSent {
					t.Errorf("sent %+v, want %+v", out.sent, *tt.wantSent)
				}
			default:
				if len(out.failed) != 1 {
					t.Fatalf("failed %+v, want one", out.failed)
				}
				got := out.failed[0]
				if got.ID != tt.want.ID || got.Attempt != tt.want.Attempt || got.Reason != tt.want.Reason {
					t.Errorf("failed %d attempt %d %q, want %d attempt %d %q", got.ID, got.Attempt, got.Reason, tt.want.ID, tt.want.Attempt, tt.want.Reason)
				}
				if (got.RetryAt == nil) != (tt.want.RetryAt == nil) || got.RetryAt != nil && !got.RetryAt.Equal(*tt.want.RetryAt) {
					t.Errorf("retry at %v, want %v", got.RetryAt, tt.want.RetryAt)
				}
			}
		})
	}
}

// The worker claims only the kinds it has a sender for, and nothing at all
// without one.
func TestWorker_Run_kinds(t *testing.T) {
	send := senderFunc(func(context.Context, store.Outgoing) (string, error) { return "", nil })
	var nilSMTP *delivery.SMTP
	tests := []struct {
		name       string
		email, sms delivery.Sender
		want       []models.InboxKind
	}{
		{"both", send, send, []models.InboxKind{models.InboxEmail, models.InboxSMS}},
		{"email only", send, nil, []models.InboxKind{models.InboxEmail}},
		{"sms only", nil, send, []models.InboxKind{models.InboxSMS}},
		{"a nil *SMTP is no sender", nilSMTP, send, []models.InboxKind{models.InboxSMS}},
		{"none", nil, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := &fakeOutbox{}
			w := delivery.New(out, tt.email, tt.sms, fastConfig(0), testLogger(t))
			r := start(t, w.Run)
			if tt.want != nil {
				eventually(t, "a claim", func() bool { out.mu.Lock(); defer out.mu.Unlock(); return len(out.claims) > 0 })
			}
			r.stop(t)
			for _, c := range out.claims {
				if !slices.Equal(c, tt.want) {
					t.Fatalf("claimed kinds %v, want %v", c, tt.want)
				}
			}
			if tt.want == nil && len(out.claims) != 0 {
				t.Errorf("%d claims without a sender", len(out.claims))
			}
		})
	}
}

// A store that fails makes the worker wait and try again; it never gives up
// on a claim nor on an outcome it could still record.
func TestWorker_Run_storeDown(t *testing.T) {
	out := &fakeOutbox{claimErrs: 3, recordErrs: 2, batches: [][]store.Outgoing{{row(1, models.InboxSMS, 1)}}}
	send := senderFunc(func(context.Context, store.Outgoing) (string, error) { return "SM1", nil })
	w := delivery.New(out, nil, send, fastConfig(0), testLogger(t))
	r := start(t, w.Run)
	eventually(t, "the outcome", func() bool { return out.outcomes() == 1 })
	r.stop(t)
	if len(out.claims) < 4 {
		t.Errorf("%d claims, want the 3 failed ones and a good one", len(out.claims))
	}
	if out.records != 3 || len(out.sent) != 1 || out.sent[0].Ref != "SM1" {
		t.Errorf("%d record calls, sent %+v; want 3 calls, one sent", out.records, out.sent)
	}
}

// A lost lease (ErrConflict) is logged and the worker goes on with the batch.
func TestWorker_Run_leaseLost(t *testing.T) {
	out := &fakeOutbox{conflict: map[int64]bool{1: true}, batches: [][]store.Outgoing{{row(1, models.InboxEmail, 1), row(2, models.InboxEmail, 1)}}}
	send := senderFunc(func(context.Context, store.Outgoing) (string, error) { return "ok", nil })
	w := delivery.New(out, send, nil, fastConfig(0), testLogger(t))
	r := start(t, w.Run)
	eventually(t, "the second row", func() bool { return out.outcomes() == 1 })
	r.stop(t)
	if len(out.sent) != 1 || out.sent[0].ID != 2 {
		t.Errorf("sent %+v, want row 2", out.sent)
	}
}

// Stopping mid-batch lets the send in flight finish and be recorded, and
// gives the rest of the batch back with their claims' attempts.
func TestWorker_Run_stopMidBatch(t *testing.T) {
	out := &fakeOutbox{batches: [][]store.Outgoing{{row(1, models.InboxEmail, 1), row(2, models.InboxEmail, 3), row(3, models.InboxEmail, 1)}}}
	inFlight, finish := make(chan struct{}), make(chan struct{})
	send := senderFunc(func(ctx context.Context, o store.Outgoing) (string, error) {
		if o.Delivery.ID == 1 {
			close(inFlight)
			<-finish
			if ctx.Err() != nil {
				return "", fmt.Errorf("the send in flight was cancelled: %w", ctx.Err())
			}
		}
		return "ok", nil
	})
	w := delivery.New(out, send, nil, fastConfig(0), testLogger(t))
	r := start(t, w.Run)
	<-inFlight
	r.cancel()
	close(finish)
	r.stop(t)
	if len(out.sent) != 1 || out.sent[0].ID != 1 {
		t.Errorf("sent %+v, want row 1 only", out.sent)
	}
	if len(out.failed) != 0 {
		t.Errorf("failed %+v, want none", out.failed)
	}
	want := map[int64]int{2: 3, 3: 1}
	if len(out.released) != 1 || fmt.Sprint(out.released[0]) != fmt.Sprint(want) {
		t.Errorf("released %v, want %v", out.released, want)
	}
}

func TestWorker_Run_twice(t *testing.T) {
	w := delivery.New(&fakeOutbox{}, nil, nil, fastConfig(0), nil)
	ctx, cancel := context.WithCancel(t.Context())
	errs := make(chan error, 2)
	for range 2 {
		go func() { errs <- w.Run(ctx) }()
	}
	// Whichever call came second returns at once; the first runs until
	// cancelled.
	if err := <-errs; !errors.Is(err, delivery.ErrRunning) {
		t.Errorf("second Run = %v, want ErrRunning", err)
	}
	cancel()
	if err := <-errs; err != nil {
		t.Errorf("first Run = %v, want nil", err)
	}
}

// A long error (an HTML error page) is cut, and its bytes made storable.
func TestWorker_Run_longReason(t *testing.T) {
	out := &fakeOutbox{batches: [][]store.Outgoing{{row(1, models.InboxEmail, 1)}}}
	long := "bad\x00byte \xff " + strings.Repeat("é", 2000)
	send := senderFunc(func(context.Context, store.Outgoing) (string, error) { return "", errors.New(long) })
	w := delivery.New(out, send, nil, fastConfig(0), testLogger(t))
	r := start(t, w.Run)
	eventually(t, "the outcome", func() bool { return out.outcomes() == 1 })
	r.stop(t)
	got := out.failed[0].Reason
	if len(got) > 1100 || strings.ContainsRune(got, 0) || !strings.HasPrefix(got, "badbyte ? é") || !strings.HasSuffix(got, "é…") {
		t.Errorf("reason %d bytes %q…, want it cut at a rune and cleaned", len(got), got[:min(len(got), 40)])
	}
}
