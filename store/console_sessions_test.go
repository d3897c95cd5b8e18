package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"switchboard/models"
	"switchboard/store"
	"switchboard/store/storetest"
)

func TestConsoleSessions_Lifecycle(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		acc := storetest.MustAccount(t, s, "One")
		other := storetest.MustAccount(t, s, "Two")
		agent := storetest.MustAgent(t, s, acc.ID, "a@example.com", models.RoleAgent, "h")
		in := store.NewConsoleSession{TokenHash: "t1", AccountID: acc.ID, AgentID: agent.ID, CSRFToken: "c", PasswordFingerprint: "f", TTL: time.Hour}

		t.Run("OK", func(t *testing.T) {
			made, err := s.CreateConsoleSession(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.ConsoleSessionByToken(ctx, "t1")
			if err != nil {
				t.Fatal(err)
			}
			if got.ID != made.ID || got.Agent.ID != agent.ID || got.CSRFToken != "c" || got.PasswordFingerprint != "f" {
				t.Errorf("got %+v, want the session made (%+v) with its agent", got, made)
			}
			if d := got.ExpiresAt.Sub(got.CreatedAt); d != time.Hour {
				t.Errorf("lasts %s, want 1h", d)
			}
		})
		t.Run("ErrConflict", func(t *testing.T) {
			if _, err := s.CreateConsoleSession(ctx, in); !errors.Is(err, store.ErrConflict) {
				t.Errorf("same token again: err = %v, want ErrConflict", err)
			}
		})
		t.Run("ErrNotFoundOtherAccountsAgent", func(t *testing.T) {
			bad := in
			bad.TokenHash, bad.AccountID = "t-other", other.ID
			if _, err := s.CreateConsoleSession(ctx, bad); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("err = %v, want ErrNotFound", err)
			}
		})
		t.Run("FieldErrors", func(t *testing.T) {
			var fe store.FieldErrors
			if _, err := s.CreateConsoleSession(ctx, store.NewConsoleSession{AccountID: acc.ID, AgentID: agent.ID}); !errors.As(err, &fe) || len(fe) != 4 {
				t.Errorf("err = %v, want 4 field errors", err)
			}
		})
		t.Run("ErrNotFoundUnknownToken", func(t *testing.T) {
			if _, err := s.ConsoleSessionByToken(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("err = %v, want ErrNotFound", err)
			}
		})
		t.Run("Delete", func(t *testing.T) {
			two := in
			two.TokenHash = "t2"
			if _, err := s.CreateConsoleSession(ctx, two); err != nil {
				t.Fatal(err)
			}
			if err := s.DeleteConsoleSession(ctx, "t2"); err != nil {
				t.Fatal(err)
			}
			if _, err := s.ConsoleSessionByToken(ctx, "t2"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("after delete: err = %v, want ErrNotFound", err)
			}
			if err := s.DeleteConsoleSession(ctx, "t2"); err != nil {
				t.Errorf("deleting again: %v", err)
			}
		})
		t.Run("DeleteAllOfAgent", func(t *testing.T) {
			three := in
			three.TokenHash = "t3"
			if _, err := s.CreateConsoleSession(ctx, three); err != nil {
				t.Fatal(err)
			}
			n, err := s.DeleteConsoleSessionsOf(ctx, acc.ID, agent.ID)
			if err != nil {
				t.Fatal(err)
			}
			if n != 2 {
				t.Errorf("deleted %d, want 2 (t1, t3)", n)
			}
			if _, err := s.ConsoleSessionByToken(ctx, "t1"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("t1 after delete-all: err = %v, want ErrNotFound", err)
			}
		})
		t.Run("Expire", func(t *testing.T) {
			short := in
			short.TokenHash, short.TTL = "t4", time.Millisecond
			made, err := s.CreateConsoleSession(ctx, short)
			if err != nil {
				t.Fatal(err)
			}
			long := in
			long.TokenHash = "t5"
			if _, err := s.CreateConsoleSession(ctx, long); err != nil {
				t.Fatal(err)
			}
			// Expiring as of a time past the short one's end needs no wait.
			n, err := s.ExpireConsoleSessions(ctx, made.ExpiresAt.Add(time.Second))
			if err != nil {
				t.Fatal(err)
			}
			if n != 1 {
				t.Errorf("expired %d, want 1", n)
			}
			if _, err := s.ConsoleSessionByToken(ctx, "t5"); err != nil {
				t.Errorf("t5 still lasts: %v", err)
			}
		})
	})
}

func TestStore_Inbox(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		acc := storetest.MustAccount(t, s, "One")
		other := storetest.MustAccount(t, s, "Two")
		agent := storetest.MustAgent(t, s, acc.ID, "a@example.com", models.RoleAgent, "h")
		ann := storetest.MustContact(t, s, acc.ID, "Ann Lee", "ann@example.com", "+14155550100")
		bob := storetest.MustContact(t, s, acc.ID, "Bob Stone", "bob@example.com", "")
		base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		var ids []int64 // newest activity first
		for i := range 5 {
			who := ann
			if i%2 == 1 {
				who = bob
			}
			c := storetest.MustOfflineCase(t, s, acc.ID, who.ID, "s", "m", base.Add(time.Duration(i)*time.Minute))
			ids = append([]int64{c.ID}, ids...)
		}
		// Two cases with the same activity time: the larger id first.
		same := base.Add(time.Hour)
		t1 := storetest.MustOfflineCase(t, s, acc.ID, ann.ID, "s", "m", same)
		t2 := storetest.MustOfflineCase(t, s, acc.ID, ann.ID, "s", "m", same)
		ids = append([]int64{t2.ID, t1.ID}, ids...)
		// Cases without a message (chats not yet begun) come last, the
		// newest first.
		var empty []int64
		for range 2 {
			cv, err := s.CreateCase(ctx, acc.ID, store.NewCase{ContactID: bob.ID})
			if err != nil {
				t.Fatal(err)
			}
			empty = append([]int64{cv.ID}, empty...)
		}
		ids = append(ids, empty...)
		oc := storetest.MustContact(t, s, other.ID, "Ann Lee", "ann@example.com", "")
		storetest.MustOfflineCase(t, s, other.ID, oc.ID, "s", "m", base)
		if _, err := s.AssignCase(ctx, acc.ID, ids[0], &agent.ID); err != nil {
			t.Fatal(err)
		}

		pageIDs := func(t *testing.T, q store.InboxQuery) ([]int64, bool) {
			t.Helper()
			vs, more, err := s.Inbox(ctx, acc.ID, q)
			if err != nil {
				t.Fatal(err)
			}
			var out []int64
			for _, v := range vs {
				out = append(out, v.ID)
			}
			return out, more
		}
		t.Run("KeysetPagesSeeEveryCaseOnce", func(t *testing.T) {
			var got []int64
			q := store.InboxQuery{Limit: 3}
			for range 10 {
				vs, more, err := s.Inbox(ctx, acc.ID, q)
				if err != nil {
					t.Fatal(err)
				}
				for _, v := range vs {
					got = append(got, v.ID)
				}
				if !more {
					break
				}
				cur := store.CursorOf(vs[len(vs)-1].Case)
				q.After = &cur
			}
			if !equalIDs(got, ids) {
				t.Errorf("pages = %v, want %v", got, ids)
			}
		})
		t.Run("Search", func(t *testing.T) {
			got, _ := pageIDs(t, store.InboxQuery{Search: "BOB", Limit: 50})
			if len(got) != 4 {
				t.Errorf("search bob: %v, want Bob's 4 cases", got)
			}
			got, _ = pageIDs(t, store.InboxQuery{Search: "5550100", Limit: 50})
			if len(got) != 5 {
				t.Errorf("search by phone: %v, want Ann's 5 cases", got)
			}
			got, _ = pageIDs(t, store.InboxQuery{Search: "%", Limit: 50})
			if len(got) != 0 {
				t.Errorf("search %%: %v, want none (a literal percent sign)", got)
			}
		})
		t.Run("Filters", func(t *testing.T) {
			got, _ := pageIDs(t, store.InboxQuery{AssigneeID: &agent.ID, Limit: 50})
			if !equalIDs(got, ids[:1]) {
				t.Errorf("assignee: %v, want %v", got, ids[:1])
			}
			got, _ = pageIDs(t, store.InboxQuery{Unassigned: true, Limit: 50})
			if len(got) != len(ids)-1 {
				t.Errorf("unassigned: %d cases, want %d", len(got), len(ids)-1)
			}
			got, _ = pageIDs(t, store.InboxQuery{Channel: models.ChannelChat, Limit: 50})
			if !equalIDs(got, empty) {
				t.Errorf("chat: %v, want %v", got, empty)
			}
			got, _ = pageIDs(t, store.InboxQuery{Channel: models.ChannelOffline, Limit: 50})
			if len(got) != len(ids)-2 {
				t.Errorf("offline: %d, want %d", len(got), len(ids)-2)
			}
		})
		t.Run("FieldErrors", func(t *testing.T) {
			var fe store.FieldErrors
			_, _, err := s.Inbox(ctx, acc.ID, store.InboxQuery{Channel: "fax", Status: "nope", Limit: 0})
			if !errors.As(err, &fe) || len(fe) != 3 {
				t.Errorf("err = %v, want 3 field errors", err)
			}
		})
	})
}
