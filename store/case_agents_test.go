package store_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"switchboard/models"
	"switchboard/store"
	"switchboard/store/storetest"
)

// TestCaseAgents_KeptOnWrite runs the writes that add and remove agents'
// messages one after the other and checks, after each, that case_agents
// holds exactly the (case, agent) pairs of the messages, and that a case's
// view shows its writers.
func TestCaseAgents_KeptOnWrite(t *testing.T) {
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
		var uploaded int64
		var reply models.Message
		steps := []struct {
			name string
			run  func(t *testing.T) error
			// caseID and want: the agents the case's view shows after the step.
			caseID func() int64
			want   []int64
		}{
			{"agent reply", func(t *testing.T) error {
				var err error
				v, err := s.AddMessage(ctx, f.acct.ID, offline.ID, store.NewMessage{Sender: models.SenderAgent, AgentID: &second.ID,
					Kind: models.KindMessage, Text: "hi"})
				reply = v.Message
				return err
			}, func() int64 { return offline.ID }, []int64{second.ID}},
			{"second reply of the same agent", func(t *testing.T) error {
				_, err := s.AddMessage(ctx, f.acct.ID, offline.ID, store.NewMessage{Sender: models.SenderAgent, AgentID: &second.ID,
					Kind: models.KindNote, Text: "note"})
				return err
			}, func() int64 { return offline.ID }, []int64{second.ID}},
			{"one of the agent's messages deleted", func(t *testing.T) error {
				return s.GORM().Exec("DELETE FROM messages WHERE id = ?", reply.ID).Error
			}, func() int64 { return offline.ID }, []int64{second.ID}},
			{"the agent's last message deleted", func(t *testing.T) error {
				return s.GORM().Exec("DELETE FROM messages WHERE case_id = ? AND agent_id IS NOT NULL", offline.ID).Error
			}, func() int64 { return offline.ID }, nil},
			{"uploaded chat of two agents", func(t *testing.T) error {
				ids, err := s.UploadChats(ctx, f.acct.ID, []store.ChatUpload{chat(f.agent.ID, second.ID)})
				if err == nil {
					uploaded = ids[0]
				}
				return err
			}, func() int64 { return uploaded }, []int64{f.agent.ID, second.ID}},
			{"resent with one agent", func(t *testing.T) error {
				_, err := s.UploadChats(ctx, f.acct.ID, []store.ChatUpload{chat(f.agent.ID)})
				return err
			}, func() int64 { return uploaded }, []int64{f.agent.ID}},
			{"uploaded chat deleted", func(t *testing.T) error {
				_, err := s.DeleteUploaded(ctx, f.acct.ID, models.ChannelChat, []int64{uploaded})
				return err
			}, nil, nil},
		}
		for _, st := range steps {
			t.Run(st.name, func(t *testing.T) {
				if err := st.run(t); err != nil {
					t.Fatal(err)
				}
				assertCaseAgentsMatchMessages(t, s)
				if st.caseID == nil {
					return
				}
				v, err := s.Case(ctx, f.acct.ID, st.caseID())
				if err != nil {
					t.Fatal(err)
				}
				var got []int64
				for _, a := range v.Agents {
					got = append(got, a.ID)
				}
				want := slices.Clone(st.want)
				if v.AssigneeID != nil && !slices.Contains(want, *v.AssigneeID) {
					want = append(want, *v.AssigneeID)
				}
				slices.Sort(want)
				if !slices.Equal(got, want) {
					t.Errorf("case agents = %v, want %v", got, want)
				}
			})
		}
	})
}

// assertCaseAgentsMatchMessages checks that case_agents holds exactly the
// distinct (case, agent) pairs of the agents' messages.
func assertCaseAgentsMatchMessages(t *testing.T, s *store.Store) {
	t.Helper()
	type pair struct{ CaseID, AgentID int64 }
	var kept, written []pair
	if err := s.GORM().Raw("SELECT case_id, agent_id FROM case_agents ORDER BY case_id, agent_id").Scan(&kept).Error; err != nil {
		t.Fatal(err)
	}
	if err := s.GORM().Raw(`SELECT DISTINCT case_id, agent_id FROM messages WHERE agent_id IS NOT NULL
		ORDER BY case_id, agent_id`).Scan(&written).Error; err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(kept, written) {
		t.Errorf("case_agents = %v, the messages' agents are %v", kept, written)
	}
}
