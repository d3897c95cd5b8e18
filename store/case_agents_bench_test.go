package store_test

import (
	"fmt"
	"testing"
	"time"

	"switchboard/models"
	"switchboard/store"
	"switchboard/store/storetest"
)

// BenchmarkCaseView_Length reads a case and adds an agent's message to it as
// Acquire does (the case read back in the write), for a case of 10 and of
// 10,000 messages, half of them agents': both should cost the same at either
// length (issue 22, target 3).
func BenchmarkCaseView_Length(b *testing.B) {
	for _, backend := range storetest.Backends(b) {
		for _, n := range []int{10, 10000} {
			b.Run(fmt.Sprintf("%s/%d", backend, n), func(b *testing.B) {
				s := storetest.MustOpen(b, backend)
				ctx := b.Context()
				acct := storetest.MustAccount(b, s, "A")
				agents := []models.Agent{
					storetest.MustAgent(b, s, acct.ID, "one@example.com", models.RoleAgent, hash),
					storetest.MustAgent(b, s, acct.ID, "two@example.com", models.RoleAgent, hash),
				}
				ct := storetest.MustContact(b, s, acct.ID, "Ann", "", "")
				cv, err := s.CreateCase(ctx, acct.ID, store.NewCase{ContactID: ct.ID, AssigneeID: &agents[0].ID})
				if err != nil {
					b.Fatal(err)
				}
				mustCaseMessages(b, s, cv.Case, agents, n)
				b.Run("case", func(b *testing.B) {
					for b.Loop() {
						if _, err := s.Case(ctx, acct.ID, cv.ID); err != nil {
							b.Fatal(err)
						}
					}
				})
				b.Run("add-message", func(b *testing.B) {
					in := store.NewMessage{Sender: models.SenderAgent, AgentID: &agents[1].ID, Kind: models.KindMessage,
						Text: "hello", WithCase: true}
					for b.Loop() {
						if _, err := s.AddMessage(ctx, acct.ID, cv.ID, in); err != nil {
							b.Fatal(err)
						}
					}
				})
			})
		}
	}
}

// mustCaseMessages writes n messages into the case, every other one by one
// of the agents in turn, in batches, and analyzes the tables on PostgreSQL
// so that the plans are those of a table of that size.
func mustCaseMessages(tb testing.TB, s *store.Store, c models.Case, agents []models.Agent, n int) {
	tb.Helper()
	at := time.Now().UTC().Add(-time.Duration(n) * time.Second).Truncate(time.Microsecond)
	msgs := make([]models.Message, n)
	for i := range msgs {
		m := models.Message{AccountID: c.AccountID, CaseID: c.ID, Sender: models.SenderContact, Kind: models.KindMessage,
			Text: fmt.Sprintf("message %d", i), CreatedAt: at.Add(time.Duration(i) * time.Second), UpdatedAt: at}
		if i%2 == 1 {
			id := agents[(i/2)%len(agents)].ID
			m.Sender, m.AgentID = models.SenderAgent, &id
		}
		msgs[i] = m
	}
	if err := s.GORM().CreateInBatches(msgs, 500).Error; err != nil {
		tb.Fatal(err)
	}
	if s.Backend() == store.Postgres {
		for _, table := range []string{"messages", "case_agents", "cases"} {
			if err := s.GORM().Exec("ANALYZE " + table).Error; err != nil {
				tb.Fatal(err)
			}
		}
	}
}

// BenchmarkAddMessage_Agent measures HelpCrunch's POST /v1/messages as an
// agent: the case locked with its agent, the message, the case's update and
// the events, round robin over 64 cases so that no one row lock dominates.
// Four round trips on PostgreSQL (BEGIN, lock, write, COMMIT).
func BenchmarkAddMessage_Agent(b *testing.B) {
	for _, backend := range storetest.Backends(b) {
		b.Run(string(backend), func(b *testing.B) {
			s := storetest.MustOpen(b, backend)
			ctx := b.Context()
			acct := storetest.MustAccount(b, s, "A")
			agent := storetest.MustAgent(b, s, acct.ID, "one@example.com", models.RoleAgent, hash)
			ct := storetest.MustContact(b, s, acct.ID, "Ann", "", "")
			var cases []int64
			for range 64 {
				cv, err := s.CreateCase(ctx, acct.ID, store.NewCase{ContactID: ct.ID})
				if err != nil {
					b.Fatal(err)
				}
				cases = append(cases, cv.ID)
			}
			in := store.NewMessage{Sender: models.SenderAgent, AgentID: &agent.ID, Kind: models.KindMessage, Text: "hello"}
			i := 0
			for b.Loop() {
				if _, err := s.AddMessage(ctx, acct.ID, cases[i%len(cases)], in); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}
