package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"switchboard/models"
	"switchboard/store"
	"switchboard/store/storetest"
)

// mustEventsAfter returns every event of the account after seq, in order.
func mustEventsAfter(tb testing.TB, s *store.Store, accountID, seq int64) []models.Event {
	tb.Helper()
	var out []models.Event
	for {
		evs, err := s.Events(context.Background(), accountID, store.EventFilter{After: seq})
		mustOK(tb, err)
		if len(evs) == 0 {
			return out
		}
		out = append(out, evs...)
		seq = evs[len(evs)-1].Seq
	}
}

// TestStore_NumberEvents leaves events as a process stopped between its
// commit and its numbering round would: no reader sees them until
// NumberEvents numbers them, after the account's last number, in the order
// they were written; pruning keeps them meanwhile. On SQLite a write numbers
// its events itself, so none is ever pending.
func TestStore_NumberEvents(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		acct := storetest.MustAccount(t, s, "A")
		storetest.MustContact(t, s, acct.ID, "C", "", "")
		base := lastSeq(t, s, acct.ID)
		wake, cancel := s.SubscribeEvents(acct.ID)
		defer cancel()
		const n = 3
		mustOK(t, s.AppendUnannouncedForTest(ctx, acct.ID, models.EventCaseDeleted, n))

		if s.Backend() == store.SQLite {
			if got := len(mustEventsAfter(t, s, acct.ID, base)); got != n {
				t.Fatalf("SQLite: %d events readable after the commit, want %d", got, n)
			}
			if num, err := s.NumberEvents(ctx, time.Now().Add(time.Hour)); err != nil || num != 0 {
				t.Fatalf("SQLite: NumberEvents = %d, %v; want 0, nil", num, err)
			}
			return
		}

		if evs := mustEventsAfter(t, s, acct.ID, base); len(evs) != 0 {
			t.Fatalf("pending events readable before their round: %+v", evs)
		}
		if got := lastSeq(t, s, acct.ID); got != base {
			t.Fatalf("LastEventSeq = %d with the events pending, want %d", got, base)
		}
		// Pruning everything older than the future deletes the numbered
		// events but keeps the pending ones.
		if _, err := s.PruneEvents(ctx, time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		// Events written after the cut-off are left to their own round.
		if num, err := s.NumberEvents(ctx, time.Now().Add(-time.Hour)); err != nil || num != 0 {
			t.Fatalf("NumberEvents before the events were written = %d, %v; want 0, nil", num, err)
		}
		if woken(wake) {
			t.Error("NumberEvents that numbered nothing woke a reader")
		}
		num, err := s.NumberEvents(ctx, time.Now().Add(time.Minute))
		if err != nil || num != n {
			t.Fatalf("NumberEvents = %d, %v; want %d, nil", num, err, n)
		}
		if !woken(wake) {
			t.Error("NumberEvents numbered events but woke no reader")
		}
		evs := mustEventsAfter(t, s, acct.ID, base)
		if len(evs) != n {
			t.Fatalf("%d events after NumberEvents, want %d", len(evs), n)
		}
		for i, e := range evs {
			if e.Seq != base+int64(i)+1 || e.Data != fmt.Sprintf(`{"i":%d}`, i) {
				t.Errorf("event %d = seq %d data %s, want seq %d data {\"i\":%d}", i, e.Seq, e.Data, base+int64(i)+1, i)
			}
		}
		if got := lastSeq(t, s, acct.ID); got != base+n {
			t.Errorf("LastEventSeq = %d, want %d", got, base+n)
		}
		if num, err := s.NumberEvents(ctx, time.Now().Add(time.Minute)); err != nil || num != 0 {
			t.Errorf("NumberEvents again = %d, %v; want 0, nil", num, err)
		}
		// The next write's own round goes on from there.
		c := storetest.MustContact(t, s, acct.ID, "D", "", "")
		assertNewEvents(t, s, acct.ID, base+n, []wantEvent{{Type: models.EventContactCreated, ContactID: c.ID}})
	})
}

// TestStore_CreateWebhook_AfterPending creates a subscription while events
// committed before it are still pending: they are numbered before its own
// webhook.created, and its cursor is exactly past that event, so it is sent
// neither those events nor its own creation.
func TestStore_CreateWebhook_AfterPending(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		acct := storetest.MustAccount(t, s, "A")
		base := lastSeq(t, s, acct.ID)
		mustOK(t, s.AppendUnannouncedForTest(ctx, acct.ID, models.EventCaseDeleted, 2))
		w, err := s.CreateWebhook(ctx, acct.ID, store.NewWebhook{
			URL: "https://example.com/hook", Format: models.FormatStandard, Secret: "whsec_c2VjcmV0",
		})
		mustOK(t, err)
		evs := mustEventsAfter(t, s, acct.ID, base)
		if len(evs) != 3 || evs[0].Type != models.EventCaseDeleted || evs[1].Type != models.EventCaseDeleted ||
			evs[2].Type != models.EventWebhookCreated {
			t.Fatalf("events = %+v, want two case.deleted then webhook.created", evs)
		}
		if w.Cursor != evs[2].Seq {
			t.Errorf("the new webhook's cursor = %d, want %d (its own webhook.created)", w.Cursor, evs[2].Seq)
		}
	})
}

// TestEvents_Replicas writes into one account through two stores on one
// PostgreSQL database at once, as two replicas: their rounds take turns, and
// the account's events are numbered 1..N once each, with no gap.
func TestEvents_Replicas(t *testing.T) {
	u := storetest.MustURL(t, store.Postgres)
	open := func() *store.Store {
		s, err := store.Open(context.Background(), u, store.Options{MaxOpenConns: 3, BulkConns: 1})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	a := open()
	if _, err := a.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	b := open()
	acct := storetest.MustAccount(t, a, "A")
	base := lastSeq(t, a, acct.ID)
	const writers, each = 3, 10
	var wg sync.WaitGroup
	errs := make(chan error, 2*writers*each)
	for _, s := range []*store.Store{a, b} {
		for w := range writers {
			wg.Go(func() {
				for i := range each {
					if _, err := s.CreateContact(t.Context(), acct.ID, store.NewContact{Name: fmt.Sprintf("w%d-%d", w, i)}); err != nil {
						errs <- err
						return
					}
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	const n = 2 * writers * each
	for _, s := range []*store.Store{a, b} {
		evs := mustEventsAfter(t, s, acct.ID, base)
		contacts := map[int64]bool{}
		for i, e := range evs {
			if e.Seq != base+int64(i)+1 {
				t.Errorf("event %d has seq %d, want %d", i, e.Seq, base+int64(i)+1)
			}
			contacts[e.ContactID] = true
		}
		if len(evs) != n || len(contacts) != n {
			t.Errorf("%d events of %d contacts, want %d of %d", len(evs), len(contacts), n, n)
		}
	}
	if got := lastSeq(t, b, acct.ID); got != base+n {
		t.Errorf("LastEventSeq = %d, want %d", got, base+n)
	}
}
