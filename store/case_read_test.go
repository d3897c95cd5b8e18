package store_test

import (
	"errors"
	"maps"
	"testing"
	"time"

	"switchboard/models"
	"switchboard/store"
	"switchboard/store/storetest"
)

// caseUnread returns the case's stored unread mark.
func caseUnread(t *testing.T, s *store.Store, accountID, caseID int64) bool {
	t.Helper()
	v, err := s.Case(t.Context(), accountID, caseID)
	if err != nil {
		t.Fatal(err)
	}
	return v.Unread
}

// mustCase creates a case of the channel for the contact.
func mustCase(t *testing.T, s *store.Store, accountID, contactID int64, ch models.Channel) int64 {
	t.Helper()
	v, err := s.CreateCase(t.Context(), accountID, store.NewCase{ContactID: contactID, Channel: ch})
	if err != nil {
		t.Fatal(err)
	}
	return v.ID
}

func TestCaseStore_Unread(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		acct := storetest.MustAccount(t, s, "A")
		agent := storetest.MustAgent(t, s, acct.ID, "agent@agents.example", models.RoleAgent, hash)
		ann := storetest.MustContact(t, s, acct.ID, "Ann Lee", "ann@example.com", "+14155550101")
		if _, err := s.CreateInbox(ctx, acct.ID, models.InboxEmail, "help@a.example"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateInbox(ctx, acct.ID, models.InboxSMS, "+14155550150"); err != nil {
			t.Fatal(err)
		}
		chat := mustCase(t, s, acct.ID, ann.ID, models.ChannelChat)
		email := mustCase(t, s, acct.ID, ann.ID, models.ChannelEmail)
		sms := mustCase(t, s, acct.ID, ann.ID, models.ChannelSMS)
		offline := storetest.MustOfflineCase(t, s, acct.ID, ann.ID, "Offline", "hello", time.Now().Add(-time.Hour)).ID
		msg := func(caseID int64, sender models.Sender, kind models.Kind) func() error {
			return func() error {
				in := store.NewMessage{Sender: sender, Kind: kind, Text: "text", WithCase: true}
				if sender == models.SenderAgent {
					in.AgentID = &agent.ID
				}
				v, err := s.AddMessage(ctx, acct.ID, caseID, in)
				// The case the write returns (built without reading it
				// again on PostgreSQL) shows the mark as stored.
				if err == nil && v.Case.Unread != caseUnread(t, s, acct.ID, caseID) {
					t.Errorf("returned case unread = %v, stored differs", v.Case.Unread)
				}
				return err
			}
		}
		steps := []struct {
			name   string
			do     func() error
			caseID int64
			want   bool
		}{
			{"a new case is read", func() error { return nil }, chat, false},
			{"a contact's chat message marks it unread", msg(chat, models.SenderContact, models.KindMessage), chat, true},
			{"an agent's note leaves it unread", msg(chat, models.SenderAgent, models.KindNote), chat, true},
			{"an agent's reply clears it", msg(chat, models.SenderAgent, models.KindMessage), chat, false},
			{"an agent's note leaves it read", msg(chat, models.SenderAgent, models.KindNote), chat, false},
			{"a system event leaves it read", msg(chat, models.SenderSystem, models.KindEvent), chat, false},
			{"a contact's email marks it unread", func() error {
				_, err := s.AddEmail(ctx, acct.ID, email, store.NewEmail{Sender: models.SenderContact, From: "ann@example.com",
					To: []string{"help@a.example"}, Subject: "Hi", TextBody: "hello"})
				return err
			}, email, true},
			{"an agent's email clears it", func() error {
				_, err := s.AddEmail(ctx, acct.ID, email, store.NewEmail{Sender: models.SenderAgent, AgentID: &agent.ID,
					From: "help@a.example", To: []string{"ann@example.com"}, Subject: "Re: Hi", TextBody: "hi"})
				return err
			}, email, false},
			{"an inbound SMS marks its case unread", func() error {
				_, err := s.ReceiveSMS(ctx, store.InboundSMS{SID: "SM1", From: "+14155550101", To: "+14155550150", Body: "hi"})
				return err
			}, sms, true},
			{"an agent's SMS clears it", func() error {
				_, err := s.AddSMS(ctx, acct.ID, sms, store.NewSMS{Sender: models.SenderAgent, AgentID: &agent.ID,
					From: "+14155550150", To: "+14155550101", Body: "hello"})
				return err
			}, sms, false},
			{"a contact's SMS through the API marks it unread", func() error {
				_, err := s.AddSMS(ctx, acct.ID, sms, store.NewSMS{Sender: models.SenderContact, From: "+14155550101",
					To: "+14155550150", Body: "again"})
				return err
			}, sms, true},
			{"opening marks it read", func() error { return s.MarkCaseRead(ctx, acct.ID, sms) }, sms, false},
			{"opening a read case keeps it read", func() error { return s.MarkCaseRead(ctx, acct.ID, sms) }, sms, false},
			{"an offline message arrives unread", func() error { return nil }, offline, true},
			{"an agent's reply to an offline message clears it", msg(offline, models.SenderAgent, models.KindMessage), offline, false},
			{"the visitor's next message marks it unread again", msg(offline, models.SenderContact, models.KindMessage), offline, true},
		}
		for _, tt := range steps {
			t.Run(tt.name, func(t *testing.T) {
				if err := tt.do(); err != nil {
					t.Fatal(err)
				}
				if got := caseUnread(t, s, acct.ID, tt.caseID); got != tt.want {
					t.Errorf("unread = %v, want %v", got, tt.want)
				}
			})
		}
		t.Run("an inbound email's new case is unread", func(t *testing.T) {
			inbox := inboxID(t, s, acct.ID, models.InboxEmail)
			res, err := s.ReceiveEmail(ctx, inbox, store.InboundEmail{MessageID: "<unread-1@example.com>", From: "ann@example.com",
				To: []string{"help@a.example"}, Subject: "New", TextBody: "a question"})
			if err != nil {
				t.Fatal(err)
			}
			if !caseUnread(t, s, acct.ID, res.CaseID) {
				t.Error("unread = false, want true")
			}
		})
	})
}

func TestCaseStore_MarkCaseRead(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		a := storetest.MustAccount(t, s, "A")
		b := storetest.MustAccount(t, s, "B")
		ann := storetest.MustContact(t, s, a.ID, "Ann", "ann@example.com", "")
		bea := storetest.MustContact(t, s, b.ID, "Bea", "bea@example.com", "")
		mine := storetest.MustOfflineCase(t, s, a.ID, ann.ID, "Mine", "hello", time.Now().Add(-time.Minute)).ID
		theirs := storetest.MustOfflineCase(t, s, b.ID, bea.ID, "Theirs", "hello", time.Now().Add(-time.Minute)).ID
		tests := []struct {
			name    string
			caseID  int64
			wantErr error
		}{
			{"another account's case is not found", theirs, store.ErrNotFound},
			{"a case that does not exist is not found", theirs + 1000, store.ErrNotFound},
			{"the account's unread case", mine, nil},
			{"the same case again", mine, nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				err := s.MarkCaseRead(ctx, a.ID, tt.caseID)
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				if err == nil && caseUnread(t, s, a.ID, tt.caseID) {
					t.Error("unread = true after MarkCaseRead")
				}
			})
		}
		t.Run("another account's case stays unread", func(t *testing.T) {
			if !caseUnread(t, s, b.ID, theirs) {
				t.Error("unread = false, want true")
			}
		})
		t.Run("a read mark wakes the account's readers", func(t *testing.T) {
			other := storetest.MustOfflineCase(t, s, a.ID, ann.ID, "Other", "hello", time.Now().Add(-time.Minute)).ID
			wake, cancel := s.SubscribeEvents(a.ID)
			defer cancel()
			if err := s.MarkCaseRead(ctx, a.ID, other); err != nil {
				t.Fatal(err)
			}
			select {
			case <-wake:
			case <-time.After(5 * time.Second):
				t.Error("no wake-up after a case was marked read")
			}
		})
	})
}

func TestCaseStore_UnreadCounts(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		a := storetest.MustAccount(t, s, "A")
		b := storetest.MustAccount(t, s, "B")
		agent := storetest.MustAgent(t, s, a.ID, "agent@agents.example", models.RoleAgent, hash)
		ann := storetest.MustContact(t, s, a.ID, "Ann", "ann@example.com", "")
		bea := storetest.MustContact(t, s, b.ID, "Bea", "bea@example.com", "")
		contactSays := func(accountID, caseID int64) {
			t.Helper()
			if _, err := s.AddMessage(ctx, accountID, caseID, store.NewMessage{Sender: models.SenderContact, Kind: models.KindMessage, Text: "hi"}); err != nil {
				t.Fatal(err)
			}
		}
		// Account A: 3 unread chats and a read one, 2 unread emails, no
		// SMS, an unread offline message and one answered.
		for range 3 {
			contactSays(a.ID, mustCase(t, s, a.ID, ann.ID, models.ChannelChat))
		}
		mustCase(t, s, a.ID, ann.ID, models.ChannelChat)
		for range 2 {
			contactSays(a.ID, mustCase(t, s, a.ID, ann.ID, models.ChannelEmail))
		}
		storetest.MustOfflineCase(t, s, a.ID, ann.ID, "Unread", "hello", time.Now().Add(-time.Hour))
		answered := storetest.MustOfflineCase(t, s, a.ID, ann.ID, "Answered", "hello", time.Now().Add(-time.Hour))
		storetest.MustReply(t, s, a.ID, answered.ID, agent.ID, "hi", time.Now().Add(-time.Minute))
		// Account B's unread chat counts in B only.
		contactSays(b.ID, mustCase(t, s, b.ID, bea.ID, models.ChannelChat))

		tests := []struct {
			name      string
			accountID int64
			limit     int // 0: UnreadCounts itself
			want      map[models.Channel]int
			wantTotal int
		}{
			{"each channel of the account", a.ID, 0,
				map[models.Channel]int{models.ChannelChat: 3, models.ChannelEmail: 2, models.ChannelSMS: 0, models.ChannelOffline: 1}, 6},
			{"each channel stops at the cap", a.ID, 2,
				map[models.Channel]int{models.ChannelChat: 2, models.ChannelEmail: 2, models.ChannelSMS: 0, models.ChannelOffline: 1}, 5},
			{"another account counts its own", b.ID, 0,
				map[models.Channel]int{models.ChannelChat: 1, models.ChannelEmail: 0, models.ChannelSMS: 0, models.ChannelOffline: 0}, 1},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				var got store.UnreadCounts
				var err error
				wantCap := store.UnreadCap
				if tt.limit == 0 {
					got, err = s.UnreadCounts(ctx, tt.accountID)
				} else {
					got, err = s.UnreadCountsCapped(ctx, tt.accountID, tt.limit)
					wantCap = tt.limit
				}
				if err != nil {
					t.Fatal(err)
				}
				if !maps.Equal(got.ByChannel, tt.want) {
					t.Errorf("counts = %v, want %v", got.ByChannel, tt.want)
				}
				if got.Total() != tt.wantTotal || got.Cap != wantCap {
					t.Errorf("total = %d, cap = %d, want %d, %d", got.Total(), got.Cap, tt.wantTotal, wantCap)
				}
			})
		}
		t.Run("opening a case takes it off the count", func(t *testing.T) {
			before, err := s.UnreadCounts(ctx, b.ID)
			if err != nil {
				t.Fatal(err)
			}
			var id int64
			if err := s.GORM().Raw(`SELECT id FROM cases WHERE account_id = ? AND unread`, b.ID).Scan(&id).Error; err != nil {
				t.Fatal(err)
			}
			if err := s.MarkCaseRead(ctx, b.ID, id); err != nil {
				t.Fatal(err)
			}
			after, err := s.UnreadCounts(ctx, b.ID)
			if err != nil {
				t.Fatal(err)
			}
			if after.ByChannel[models.ChannelChat] != before.ByChannel[models.ChannelChat]-1 {
				t.Errorf("chat count %d → %d, want one less", before.ByChannel[models.ChannelChat], after.ByChannel[models.ChannelChat])
			}
		})
	})
}
