package store_test

import (
	"fmt"
	"testing"
	"time"

	"switchboard/models"
	"switchboard/store"
	"switchboard/store/storetest"
)

// TestCaseFacts_KeptOnWrite runs the writes that add, remove and move
// messages one after the other and checks, after each, that every case row's
// facts in case_facts (its visitor's first message, reply count and first
// and last agent message times, migration 0023) equal those computed from its messages,
// and that the offline page shows them.
func TestCaseFacts_KeptOnWrite(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		f := mustUploadFixture(t, s)
		second := storetest.MustAgent(t, s, f.acct.ID, "second@example.com", models.RoleAgent, hash)
		start := f.t0.Add(time.Hour)
		chat := func(writers ...int64) store.ChatUpload {
			c := store.ChatUpload{StartedAt: start, Contact: store.UploadContact{Phone: "+14155550101"}, Outcome: models.OutcomeSucceeded,
				Source: store.UploadSource{SiteID: &f.site.ID}, ExtID: ptr("chat-1")}
			c.Messages = append(c.Messages, store.ChatUploadMessage{At: start, Sender: models.SenderContact, Text: "hi"})
			for i, id := range writers {
				c.Messages = append(c.Messages, store.ChatUploadMessage{At: start.Add(time.Duration(i+1) * time.Minute),
					Sender: models.SenderAgent, AgentID: &id, Text: fmt.Sprintf("answer %d", i)})
			}
			return c
		}
		offline := storetest.MustOfflineCase(t, s, f.acct.ID, f.known.ID, "S", "hello", start)
		other := storetest.MustOfflineCase(t, s, f.acct.ID, f.known.ID, "T", "other", start.Add(time.Minute))
		add := func(caseID int64, sender models.Sender, agentID *int64, kind models.Kind, text string) error {
			_, err := s.AddMessage(ctx, f.acct.ID, caseID, store.NewMessage{Sender: sender, AgentID: agentID, Kind: kind, Text: text})
			return err
		}
		var uploaded int64
		steps := []struct {
			name string
			run  func() error
			// wantMessage and wantReplies: the offline case on the list after the step.
			wantMessage string
			wantReplies int64
		}{
			{"created", func() error { return nil }, "hello", 0},
			{"agent reply", func() error {
				return add(offline.ID, models.SenderAgent, &second.ID, models.KindMessage, "answer")
			}, "hello", 1},
			{"agent note", func() error {
				return add(offline.ID, models.SenderAgent, &second.ID, models.KindNote, "note")
			}, "hello", 1},
			{"visitor's later message", func() error {
				return add(offline.ID, models.SenderContact, nil, models.KindMessage, "thanks")
			}, "hello", 2},
			{"second agent's reply", func() error {
				return add(offline.ID, models.SenderAgent, &f.agent.ID, models.KindMessage, "welcome")
			}, "hello", 3},
			{"visitor's first message deleted", func() error {
				return s.GORM().Exec("DELETE FROM messages WHERE case_id = ? AND text = 'hello'", offline.ID).Error
			}, "thanks", 2},
			{"a reply deleted", func() error {
				return s.GORM().Exec("DELETE FROM messages WHERE case_id = ? AND text = 'welcome'", offline.ID).Error
			}, "thanks", 1},
			// "other" was sent before "thanks": it is the first now.
			{"another case's visitor message moved in", func() error {
				return s.GORM().Exec("UPDATE messages SET case_id = ? WHERE case_id = ? AND text = 'other'", offline.ID, other.ID).Error
			}, "other", 2},
			{"every agent message deleted", func() error {
				return s.GORM().Exec("DELETE FROM messages WHERE case_id = ? AND sender = 'agent'", offline.ID).Error
			}, "other", 1},
			{"uploaded chat of two agents", func() error {
				ids, err := s.UploadChats(ctx, f.acct.ID, []store.ChatUpload{chat(f.agent.ID, second.ID)})
				if err == nil {
					uploaded = ids[0]
				}
				return err
			}, "other", 1},
			{"resent with one agent", func() error {
				_, err := s.UploadChats(ctx, f.acct.ID, []store.ChatUpload{chat(f.agent.ID)})
				return err
			}, "other", 1},
			{"uploaded chat deleted", func() error {
				_, err := s.DeleteUploaded(ctx, f.acct.ID, models.ChannelChat, []int64{uploaded})
				return err
			}, "other", 1},
		}
		for _, st := range steps {
			t.Run(st.name, func(t *testing.T) {
				if err := st.run(); err != nil {
					t.Fatal(err)
				}
				assertCaseFactsMatchMessages(t, s)
				got, err := s.OfflineCase(ctx, f.acct.ID, offline.ID)
				if err != nil {
					t.Fatal(err)
				}
				if got.Message != st.wantMessage || got.ReplyCount != st.wantReplies || int64(len(got.Replies)) != st.wantReplies {
					t.Errorf("offline case: message %q, %d replies (%d listed), want %q, %d",
						got.Message, got.ReplyCount, len(got.Replies), st.wantMessage, st.wantReplies)
				}
			})
		}
	})
}

// caseFacts are the facts migration 0023 keeps for a case.
type caseFacts struct {
	ID                  int64
	ContactMessageID    *int64
	ReplyCount          int64
	FirstAgentMessageAt *time.Time
	LastAgentMessageAt  *time.Time
}

func (f caseFacts) String() string {
	show := func(t *time.Time) string {
		if t == nil {
			return "nil"
		}
		return t.UTC().Format(time.RFC3339Nano)
	}
	first := "nil"
	if f.ContactMessageID != nil {
		first = fmt.Sprint(*f.ContactMessageID)
	}
	return fmt.Sprintf("{case %d: first %s, %d replies, agents %s..%s}", f.ID, first, f.ReplyCount,
		show(f.FirstAgentMessageAt), show(f.LastAgentMessageAt))
}

// assertCaseFactsMatchMessages checks that every case's kept facts equal
// those computed here from its messages.
func assertCaseFactsMatchMessages(t *testing.T, s *store.Store) {
	t.Helper()
	var kept []caseFacts
	if err := s.GORM().Raw(`SELECT c.id, f.contact_message_id, COALESCE(f.reply_count, 0) AS reply_count,
			f.first_agent_message_at, f.last_agent_message_at
		FROM cases c LEFT JOIN case_facts f ON f.case_id = c.id ORDER BY c.id`).Scan(&kept).Error; err != nil {
		t.Fatal(err)
	}
	var msgs []struct {
		ID        int64
		CaseID    int64
		Sender    string
		Kind      string
		CreatedAt time.Time
	}
	if err := s.GORM().Raw(`SELECT id, case_id, sender, kind, created_at FROM messages ORDER BY case_id, created_at, id`).
		Scan(&msgs).Error; err != nil {
		t.Fatal(err)
	}
	want := map[int64]*caseFacts{}
	for _, k := range kept {
		want[k.ID] = &caseFacts{ID: k.ID}
	}
	for _, m := range msgs {
		f := want[m.CaseID]
		if f == nil || m.Kind != string(models.KindMessage) {
			continue
		}
		at := m.CreatedAt.UTC()
		switch m.Sender {
		case string(models.SenderContact):
			if f.ContactMessageID == nil {
				f.ContactMessageID = &m.ID
			} else {
				f.ReplyCount++
			}
		case string(models.SenderAgent):
			f.ReplyCount++
			if f.FirstAgentMessageAt == nil {
				f.FirstAgentMessageAt = &at
			}
			f.LastAgentMessageAt = &at
		}
	}
	for _, k := range kept {
		if w := want[k.ID]; k.String() != w.String() {
			t.Errorf("case_facts %v, the messages say %v", k, w)
		}
	}
}
