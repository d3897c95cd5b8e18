package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"switchboard/models"
	"switchboard/store"
	"switchboard/store/storetest"
)

// waitWake waits for a wake-up on ch, for at most a generous deadline; it
// reports whether one came.
func waitWake(ch <-chan struct{}) bool {
	t := time.NewTimer(10 * time.Second)
	defer t.Stop()
	select {
	case <-ch:
		return true
	case <-t.C:
		return false
	}
}

// woken reports whether a wake-up is pending on ch, without waiting: the
// store wakes its own process's readers before the write returns.
func woken(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// TestEvents_Sequence writes from several goroutines into one account at
// once while a reader follows the log: the numbers come out exactly
// base+1..base+N, and the reader, which only ever asks for the events after
// the last it saw, never meets a gap.
func TestEvents_Sequence(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		acct := storetest.MustAccount(t, s, "A")
		base := lastSeq(t, s, acct.ID)
		const writers, each = 4, 10
		const n = writers * each
		var wg sync.WaitGroup
		errs := make(chan error, n+1)
		for w := range writers {
			wg.Go(func() {
				for i := range each {
					if _, err := s.CreateContact(ctx, acct.ID, store.NewContact{Name: fmt.Sprintf("w%d-%d", w, i)}); err != nil {
						errs <- err
						return
					}
				}
			})
		}
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()

		seen := base
		read := func() {
			evs, err := s.Events(ctx, acct.ID, store.EventFilter{After: seen})
			if err != nil {
				errs <- err
				return
			}
			for _, e := range evs {
				if e.Seq != seen+1 {
					errs <- fmt.Errorf("reader after %d got seq %d: a gap or a duplicate", seen, e.Seq)
				}
				seen = e.Seq
			}
		}
	follow:
		for {
			select {
			case <-done:
				read() // what committed after the last read
				break follow
			default:
				read()
			}
		}
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if seen != base+n {
			t.Errorf("reader saw up to %d, want %d", seen, base+n)
		}
		evs, err := s.Events(ctx, acct.ID, store.EventFilter{After: base})
		mustOK(t, err)
		contacts := map[int64]bool{}
		for i, e := range evs {
			if e.Seq != base+int64(i)+1 || e.Type != models.EventContactCreated {
				t.Errorf("event %d = seq %d %s, want seq %d contact.created", i, e.Seq, e.Type, base+int64(i)+1)
			}
			contacts[e.ContactID] = true
		}
		if len(evs) != n || len(contacts) != n {
			t.Errorf("%d events of %d contacts, want %d of %d", len(evs), len(contacts), n, n)
		}
		if got := lastSeq(t, s, acct.ID); got != base+n {
			t.Errorf("LastEventSeq = %d, want %d", got, base+n)
		}
	})
}

// TestEvents_ManyInOneWrite appends more events in one write than one
// statement takes: they are numbered on without a gap, in order.
func TestEvents_ManyInOneWrite(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		acct := storetest.MustAccount(t, s, "A")
		base := lastSeq(t, s, acct.ID)
		const n = 1200
		mustOK(t, s.AppendManyForTest(t.Context(), acct.ID, models.EventCaseDeleted, n))
		var got []models.Event
		for after := base; ; {
			evs, err := s.Events(t.Context(), acct.ID, store.EventFilter{After: after})
			mustOK(t, err)
			if len(evs) == 0 {
				break
			}
			got = append(got, evs...)
			after = evs[len(evs)-1].Seq
		}
		if len(got) != n {
			t.Fatalf("%d events, want %d", len(got), n)
		}
		for i, e := range got {
			if e.Seq != base+int64(i)+1 || e.Data != fmt.Sprintf(`{"i":%d}`, i) {
				t.Fatalf("event %d = seq %d data %s, want seq %d data {\"i\":%d}", i, e.Seq, e.Data, base+int64(i)+1, i)
			}
		}
		if last := lastSeq(t, s, acct.ID); last != base+n {
			t.Errorf("LastEventSeq = %d, want %d", last, base+n)
		}
	})
}

func TestStore_PruneEvents(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		acct := storetest.MustAccount(t, s, "A") // seq 1
		other := storetest.MustAccount(t, s, "B")
		for range 3 { // seqs 2, 3, 4
			storetest.MustContact(t, s, acct.ID, "C", "", "")
		}
		storetest.MustContact(t, s, other.ID, "D", "", "")
		old := time.Now().UTC().Add(-10 * 24 * time.Hour)
		mustOK(t, s.GORM().Exec("UPDATE events SET created_at = ? WHERE (account_id = ? AND seq <= 2) OR account_id = ?",
			old, acct.ID, other.ID).Error)
		if n, err := s.PruneEvents(ctx, old.Add(-time.Hour)); err != nil || n != 0 {
			t.Fatalf("PruneEvents before the oldest = %d, %v; want 0", n, err)
		}
		n, err := s.PruneEvents(ctx, time.Now().Add(-7*24*time.Hour))
		if err != nil || n != 4 {
			t.Fatalf("PruneEvents = %d, %v; want 4 (two of A, both of B)", n, err)
		}
		evs, err := s.Events(ctx, acct.ID, store.EventFilter{})
		mustOK(t, err)
		if len(evs) != 2 || evs[0].Seq != 3 || evs[1].Seq != 4 {
			t.Fatalf("events left = %+v, want seqs 3 and 4", evs)
		}
		// Numbers go on from where they were, in both accounts.
		c := storetest.MustContact(t, s, acct.ID, "E", "", "")
		assertNewEvents(t, s, acct.ID, 4, []wantEvent{{Type: models.EventContactCreated, ContactID: c.ID}})
		if got := lastSeq(t, s, other.ID); got != 2 {
			t.Errorf("B's LastEventSeq = %d after pruning all its events, want 2", got)
		}
		d := storetest.MustContact(t, s, other.ID, "F", "", "")
		assertNewEvents(t, s, other.ID, 2, []wantEvent{{Type: models.EventContactCreated, ContactID: d.ID}})
	})
}

func TestStore_SubscribeEvents(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		acct := storetest.MustAccount(t, s, "A")
		other := storetest.MustAccount(t, s, "B")
		wake, cancel := s.SubscribeEvents(acct.ID)
		defer cancel()
		otherWake, cancelOther := s.SubscribeEvents(other.ID)
		defer cancelOther()
		anyWake, cancelAny := s.SubscribeEvents(0)
		defer cancelAny()

		// A write that appended and then rolled back wakes no one.
		err := s.AppendThenForTest(ctx, acct.ID, models.EventContactCreated, func(*gorm.DB) error { return fmt.Errorf("boom") })
		if err == nil {
			t.Fatal("the failing write succeeded")
		}
		if woken(wake) || woken(anyWake) || woken(otherWake) {
			t.Fatal("a rolled-back write woke a subscriber")
		}
		// Nor does a write refused before it appended.
		if _, err := s.CreateDepartment(ctx, acct.ID, ""); err == nil {
			t.Fatal("an empty department name was taken")
		}
		if woken(wake) || woken(anyWake) {
			t.Fatal("a refused write woke a subscriber")
		}

		// A committed write wakes the account's and the all-accounts
		// subscribers, not another account's; two commits coalesce.
		storetest.MustContact(t, s, acct.ID, "C", "", "")
		storetest.MustContact(t, s, acct.ID, "D", "", "")
		if !waitWake(wake) || !waitWake(anyWake) {
			t.Fatal("a commit woke no subscriber")
		}
		if woken(wake) {
			t.Error("two commits left two wake-ups; they should coalesce into one")
		}
		if woken(otherWake) {
			t.Error("a commit in account A woke account B's subscriber")
		}

		// A cancelled subscription hears nothing.
		cancel()
		storetest.MustContact(t, s, acct.ID, "E", "", "")
		if woken(wake) {
			t.Error("a cancelled subscription was woken")
		}
	})
}

// TestStore_ListenEvents runs two stores on one PostgreSQL database, as two
// replicas: a write through one wakes the subscribers of the other, which
// runs ListenEvents.
func TestStore_ListenEvents(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		s := storetest.MustOpen(t, store.SQLite)
		if err := s.ListenEvents(t.Context(), nil); err != nil {
			t.Fatalf("ListenEvents on SQLite = %v, want nil at once", err)
		}
	})
	t.Run("postgres", func(t *testing.T) {
		u := storetest.MustURL(t, store.Postgres)
		open := func() *store.Store {
			s, err := store.Open(context.Background(), u, store.Options{MaxOpenConns: 2, BulkConns: 1})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		}
		writer := open()
		if _, err := writer.Migrate(t.Context()); err != nil {
			t.Fatal(err)
		}
		reader := open()
		acct := storetest.MustAccount(t, writer, "A")

		wake, cancel := reader.SubscribeEvents(acct.ID)
		defer cancel()
		ctx, stop := context.WithCancel(t.Context())
		listened := make(chan error, 1)
		go func() { listened <- reader.ListenEvents(ctx, nil) }()
		// The listener wakes every reader once it listens: from then on a
		// notification cannot be missed.
		if !waitWake(wake) {
			t.Fatal("ListenEvents never woke its readers on connecting")
		}
		c := storetest.MustContact(t, writer, acct.ID, "C", "", "")
		if !waitWake(wake) {
			t.Fatal("a commit through the other store woke no subscriber")
		}
		evs, err := reader.Events(t.Context(), acct.ID, store.EventFilter{Types: []models.EventType{models.EventContactCreated}})
		mustOK(t, err)
		if len(evs) != 1 || evs[0].ContactID != c.ID {
			t.Errorf("reader's events = %+v, want the contact.created of %d", evs, c.ID)
		}
		stop()
		if err := <-listened; err != nil {
			t.Errorf("ListenEvents = %v after its context ended, want nil", err)
		}
	})
}
