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

func TestStore_OutboxStats(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		stats := func(t *testing.T, now time.Time) map[string]store.OutboxStat {
			t.Helper()
			got, err := s.OutboxStats(ctx, now)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 3 || got[0].Channel != "email" || got[1].Channel != "sms" || got[2].Channel != "webhook" {
				t.Fatalf("channels = %+v, want email, sms, webhook", got)
			}
			m := map[string]store.OutboxStat{}
			for _, st := range got {
				m[st.Channel] = st
			}
			return m
		}

		t.Run("empty outboxes", func(t *testing.T) {
			for ch, st := range stats(t, time.Now().Add(time.Hour)) {
				if st.Pending != 0 || st.OldestDue != nil {
					t.Errorf("%s = %+v, want nothing pending", ch, st)
				}
			}
		})

		f := mustOutboxFixture(t, s)
		wf := webhookFixture{s: s, acct: f.acct, agent: f.agent, contact: f.contact}
		wf.MustWebhook(t)
		first, err := s.AddEmail(ctx, f.acct.ID, f.c.ID, f.email(nil))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddEmail(ctx, f.acct.ID, f.c.ID, f.email(nil)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddSMS(ctx, f.acct.ID, f.c.ID, f.sms(nil)); err != nil {
			t.Fatal(err)
		}
		hooks := mustFanOut(t, s, nil)
		if hooks == 0 {
			t.Fatal("fan-out queued no webhook delivery")
		}
		// The other account's reply counts too: the outboxes are the
		// server's, not an account's.
		if _, err := s.AddMessage(ctx, f.foreign.AccountID, f.foreign.ID, store.NewMessage{Sender: models.SenderContact,
			Kind: models.KindMessage, Text: "x"}); err != nil {
			t.Fatal(err)
		}

		t.Run("queued and due", func(t *testing.T) {
			got := stats(t, time.Now().Add(time.Hour))
			if st := got["email"]; st.Pending != 2 || st.OldestDue == nil || !st.OldestDue.Equal(first.Delivery.NextAttemptAt) {
				t.Errorf("email = %+v, want 2 pending, oldest due at %s", st, first.Delivery.NextAttemptAt)
			}
			if st := got["sms"]; st.Pending != 1 || st.OldestDue == nil {
				t.Errorf("sms = %+v, want 1 pending and due", st)
			}
			if st := got["webhook"]; st.Pending != int64(hooks) || st.OldestDue == nil {
				t.Errorf("webhook = %+v, want %d pending and due", st, hooks)
			}
		})

		t.Run("queued, not yet due", func(t *testing.T) {
			got := stats(t, time.Now().Add(-time.Hour))
			for ch, want := range map[string]int64{"email": 2, "sms": 1, "webhook": int64(hooks)} {
				if st := got[ch]; st.Pending != want || st.OldestDue != nil {
					t.Errorf("%s = %+v, want %d pending, none due", ch, st, want)
				}
			}
		})

		t.Run("sent and claimed rows", func(t *testing.T) {
			claimed, err := s.ClaimDeliveries(ctx, []models.InboxKind{models.InboxEmail}, 1, time.Hour)
			if err != nil || len(claimed) != 1 {
				t.Fatalf("claim = %d rows, %v", len(claimed), err)
			}
			if err := s.DeliverySent(ctx, claimed[0].Delivery.ID, claimed[0].Delivery.Attempts, "ref", time.Now()); err != nil {
				t.Fatal(err)
			}
			claimed, err = s.ClaimDeliveries(ctx, []models.InboxKind{models.InboxSMS}, 1, time.Hour)
			if err != nil || len(claimed) != 1 {
				t.Fatalf("claim = %d rows, %v", len(claimed), err)
			}
			got := stats(t, time.Now().Add(time.Minute))
			if st := got["email"]; st.Pending != 1 || st.OldestDue == nil || st.OldestDue.Equal(first.Delivery.NextAttemptAt) {
				t.Errorf("email = %+v, want the second reply alone pending and due", st)
			}
			// Being sent under a lease that has not run out: pending, not due.
			if st := got["sms"]; st.Pending != 1 || st.OldestDue != nil {
				t.Errorf("sms = %+v, want 1 pending, not due", st)
			}
		})
	})
}

func TestStore_OutboxStats_Unavailable(t *testing.T) {
	s := storetest.MustOpen(t, store.SQLite)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.OutboxStats(ctx, time.Now()); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("err = %v, want ErrUnavailable", err)
	}
}
