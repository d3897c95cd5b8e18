package switchboard

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"switchboard/models"
	"switchboard/store"
	"switchboard/store/storetest"
)

// countingSource counts the event reads of a store.
type countingSource struct {
	*store.Store
	reads atomic.Int64
}

func (c *countingSource) Events(ctx context.Context, accountID int64, f store.EventFilter) ([]models.Event, error) {
	c.reads.Add(1)
	return c.Store.Events(ctx, accountID, f)
}

// mustJoin joins n subscribers to the account's feed.
func mustJoin(t *testing.T, fs *feeds, account int64, n int) []*subscriber {
	t.Helper()
	subs := make([]*subscriber, n)
	for i := range subs {
		sub, leave, err := fs.join(context.Background(), account)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(leave)
		subs[i] = sub
	}
	return subs
}

// receive returns the next batch of sub, failing the test after a generous
// deadline.
func receive(t *testing.T, sub *subscriber) []frame {
	t.Helper()
	select {
	case evs := <-sub.batches:
		return evs
	case <-time.After(20 * time.Second):
		t.Fatal("no batch within the deadline")
		return nil
	}
}

func TestFeeds_OneReadPerCommit(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		src := &countingSource{Store: st}
		fs := newFeeds(src, StreamConfig{Poll: time.Hour}.withDefaults(), slog.New(slog.DiscardHandler))
		acct := storetest.MustAccount(t, st, "One")
		subs := mustJoin(t, fs, acct.ID, 100)
		before := src.reads.Load()
		const commits = 20
		for i := range commits {
			storetest.MustContact(t, st, acct.ID, fmt.Sprintf("C%d", i), "", "")
			seq, err := st.LastEventSeq(context.Background(), acct.ID)
			if err != nil {
				t.Fatal(err)
			}
			for _, sub := range subs {
				frames := receive(t, sub)
				if len(frames) != 1 || frames[0].seq != seq || frames[0].typ != models.EventContactCreated {
					t.Fatalf("commit %d: got %+v", i, frames)
				}
			}
		}
		// One read per commit for the 100 subscribers together (a
		// wake-up that comes after the read has already seen its commit
		// costs one more, empty, read).
		if got := src.reads.Load() - before; got > 2*commits {
			t.Errorf("%d reads for %d commits and 100 subscribers, want at most %d", got, commits, 2*commits)
		}
		t.Logf("%d reads for %d commits and 100 subscribers", src.reads.Load()-before, commits)
	})
}

func TestFeeds_SlowSubscriberDoesNotBlock(t *testing.T) {
	st := storetest.MustOpen(t, store.SQLite)
	fs := newFeeds(st, StreamConfig{Poll: time.Hour, Buffer: 1}.withDefaults(), slog.New(slog.DiscardHandler))
	acct := storetest.MustAccount(t, st, "One")
	subs := mustJoin(t, fs, acct.ID, 2)
	slow, quick := subs[0], subs[1]
	for i := range 5 {
		storetest.MustContact(t, st, acct.ID, fmt.Sprintf("C%d", i), "", "")
		if frames := receive(t, quick); len(frames) != 1 {
			t.Fatalf("quick subscriber got %d events", len(frames))
		}
	}
	select {
	case <-slow.behind:
	default:
		t.Fatal("the slow subscriber was not told to catch up")
	}
	if n := len(slow.batches); n != 1 {
		t.Errorf("the slow subscriber holds %d batches, want its buffer's 1", n)
	}
}

func TestFeeds_StopsAfterLastLeaves(t *testing.T) {
	st := storetest.MustOpen(t, store.SQLite)
	fs := newFeeds(st, StreamConfig{}.withDefaults(), slog.New(slog.DiscardHandler))
	acct := storetest.MustAccount(t, st, "One")
	_, leave1, err := fs.join(context.Background(), acct.ID)
	if err != nil {
		t.Fatal(err)
	}
	_, leave2, err := fs.join(context.Background(), acct.ID)
	if err != nil {
		t.Fatal(err)
	}
	count := func() int {
		fs.mu.Lock()
		defer fs.mu.Unlock()
		return len(fs.byAccount)
	}
	if n := count(); n != 1 {
		t.Fatalf("%d feeds for one account, want 1", n)
	}
	leave1()
	if n := count(); n != 1 {
		t.Fatalf("%d feeds with one subscriber left, want 1", n)
	}
	leave2()
	if n := count(); n != 0 {
		t.Fatalf("%d feeds after the last left, want 0", n)
	}
}

// TestFeeds_Coalesce: commits within one window reach a subscriber as one
// batch, in order.
func TestFeeds_Coalesce(t *testing.T) {
	st := storetest.MustOpen(t, store.SQLite)
	src := &countingSource{Store: st}
	// A window far longer than the writes take: they all land in it.
	fs := newFeeds(src, StreamConfig{Poll: time.Hour, Coalesce: time.Hour}.withDefaults(), slog.New(slog.DiscardHandler))
	acct := storetest.MustAccount(t, st, "One")
	sub := mustJoin(t, fs, acct.ID, 1)[0]
	// The first read after a wake-up comes at once (no read before it).
	storetest.MustContact(t, st, acct.ID, "first", "", "")
	first := receive(t, sub)
	for i := range 10 {
		storetest.MustContact(t, st, acct.ID, fmt.Sprintf("C%d", i), "", "")
	}
	select {
	case frames := <-sub.batches:
		t.Fatalf("a batch of %d within the window", len(frames))
	default:
	}
	if len(first) != 1 {
		t.Fatalf("first batch %d events", len(first))
	}
}

func TestStreamConfig_NextWindow(t *testing.T) {
	const ms = time.Millisecond
	defaults := StreamConfig{}.withDefaults()
	tests := []struct {
		name string
		cfg  StreamConfig
		cur  time.Duration
		n    int
		want time.Duration
	}{
		{"QuietStaysAtTheBase", defaults, 50 * ms, 1, 50 * ms},
		{"NothingReadStaysAtTheBase", defaults, 50 * ms, 0, 50 * ms},
		{"BusyDoubles", defaults, 50 * ms, busyRead, 100 * ms},
		{"BusyAgainDoubles", defaults, 100 * ms, 400, 200 * ms},
		{"BusyStopsAtTheMost", defaults, 200 * ms, 400, 250 * ms},
		{"BusyAtTheMostStays", defaults, 250 * ms, 1000, 250 * ms},
		{"QuietAfterBusyGoesBack", defaults, 250 * ms, busyRead - 1, 50 * ms},
		{"MostBelowTheBase", StreamConfig{Coalesce: 80 * ms, MaxCoalesce: 10 * ms}, 80 * ms, 400, 80 * ms},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.cfg.nextWindow(tt.cur, tt.n); got != tt.want {
				t.Errorf("nextWindow(%s, %d) = %s, want %s", tt.cur, tt.n, got, tt.want)
			}
		})
	}
}

func TestStreamConfig_MaxCoalesceDefault(t *testing.T) {
	tests := []struct {
		name     string
		coalesce time.Duration
		want     time.Duration
	}{
		{"Default", 0, 5 * DefaultCoalesce},
		{"FiveTimes", 100 * time.Millisecond, 500 * time.Millisecond},
		{"AtMostASecond", 500 * time.Millisecond, time.Second},
		{"NeverBelowTheBase", time.Second, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := (StreamConfig{Coalesce: tt.coalesce}).withDefaults().MaxCoalesce; got != tt.want {
				t.Errorf("MaxCoalesce = %s, want %s", got, tt.want)
			}
		})
	}
}
