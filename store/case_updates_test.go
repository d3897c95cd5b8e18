package store_test

import (
	"errors"
	"testing"
	"time"

	"switchboard/models"
	"switchboard/store"
	"switchboard/store/storetest"
)

// assigneeCount returns the account's count of the agent's chats
// (assignee_day_counts), summed over every day.
func assigneeCount(t *testing.T, s *store.Store, accountID, agentID int64) int64 {
	t.Helper()
	var n int64
	if err := s.GORM().Raw(`SELECT COALESCE(SUM(n), 0) FROM assignee_day_counts WHERE account_id = ? AND agent_id = ?`,
		accountID, agentID).Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

// assertNotFound fails t unless err is a NotFoundError of the entity.
func assertNotFound(t *testing.T, err error, entity string) {
	t.Helper()
	var nf *store.NotFoundError
	if !errors.As(err, &nf) || nf.Entity != entity {
		t.Errorf("err = %v, want %s not found", err, entity)
	}
}

func TestCaseStore_Assign(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		f := mustChatFixture(t, s)
		ann := storetest.MustAgent(t, s, f.acct.ID, "ann@agents.example", models.RoleAgent, hash)
		bob := storetest.MustAgent(t, s, f.acct.ID, "bob@agents.example", models.RoleAgent, hash)
		chat := f.cases[2] // a chat of ann, unassigned
		counts := func() [3]int64 {
			return [3]int64{assigneeCount(t, s, f.acct.ID, f.agent.ID), assigneeCount(t, s, f.acct.ID, ann.ID), assigneeCount(t, s, f.acct.ID, bob.ID)}
		}
		steps := []struct {
			name   string
			caseID int64
			to     *int64
			want   [3]int64 // counts of f.agent, ann, bob after the step
		}{
			{"assign an unassigned chat", chat.ID, &ann.ID, [3]int64{1, 1, 0}},
			{"the same agent again", chat.ID, &ann.ID, [3]int64{1, 1, 0}},
			{"move to another agent", chat.ID, &bob.ID, [3]int64{1, 0, 1}},
			{"move a closed chat", f.cases[1].ID, &bob.ID, [3]int64{0, 0, 2}},
			{"unassign", chat.ID, nil, [3]int64{0, 0, 1}},
			{"unassign again", chat.ID, nil, [3]int64{0, 0, 1}},
			{"an offline case has no agent count", f.cases[0].ID, &ann.ID, [3]int64{0, 0, 1}},
		}
		for _, tt := range steps {
			t.Run(tt.name, func(t *testing.T) {
				v, err := s.AssignCase(ctx, f.acct.ID, tt.caseID, tt.to)
				if err != nil {
					t.Fatal(err)
				}
				switch {
				case tt.to == nil && (v.AssigneeID != nil || v.Assignee != nil):
					t.Errorf("assignee = %v, want none", v.AssigneeID)
				case tt.to != nil && (v.AssigneeID == nil || *v.AssigneeID != *tt.to || v.Assignee == nil || v.Assignee.ID != *tt.to):
					t.Errorf("assignee = %v, want %d", v.AssigneeID, *tt.to)
				}
				if got := counts(); got != tt.want {
					t.Errorf("agent counts = %v, want %v", got, tt.want)
				}
				stored, err := s.Case(ctx, f.acct.ID, tt.caseID)
				if err != nil || !sameAssignee(stored.AssigneeID, tt.to) {
					t.Errorf("stored assignee = %v, %v", stored.AssigneeID, err)
				}
			})
		}
		t.Run("the agent's chat list pages over the moved counts", func(t *testing.T) {
			if _, err := s.AssignCase(ctx, f.acct.ID, chat.ID, &bob.ID); err != nil {
				t.Fatal(err)
			}
			// bob has the closed chat (older) and chat (newer): page 2 of
			// one row is found by walking bob's day counts.
			page, err := s.ListChats(ctx, f.acct.ID, store.ChatQuery{AgentID: &bob.ID, Page: 2, Size: 1})
			if err != nil || len(page) != 1 || page[0].ID != f.cases[1].ID {
				t.Errorf("page 2 of bob's chats = %v, %v; want case %d", page, err, f.cases[1].ID)
			}
		})
		t.Run("the agents of the chat follow the assignee", func(t *testing.T) {
			v, err := s.AssignCase(ctx, f.acct.ID, f.cases[0].ID, &bob.ID)
			if err != nil {
				t.Fatal(err)
			}
			// f.agent wrote in it, so stays one of its agents beside bob;
			// ann, its assignee before, did not write and is gone.
			if len(v.Agents) != 2 || v.Agents[0].ID != f.agent.ID || v.Agents[1].ID != bob.ID {
				t.Errorf("agents = %v, want %d and %d", v.Agents, f.agent.ID, bob.ID)
			}
		})
		before := counts()
		t.Run("ErrNotFound for an agent of another account", func(t *testing.T) {
			_, err := s.AssignCase(ctx, f.acct.ID, chat.ID, &f.stranger.ID)
			assertNotFound(t, err, "agent")
		})
		t.Run("ErrNotFound for an unknown agent", func(t *testing.T) {
			unknown := bob.ID + 1000
			_, err := s.AssignCase(ctx, f.acct.ID, chat.ID, &unknown)
			assertNotFound(t, err, "agent")
		})
		t.Run("ErrNotFound for another account's case", func(t *testing.T) {
			_, err := s.AssignCase(ctx, f.acct.ID, f.foreign.ID, &ann.ID)
			assertNotFound(t, err, "case")
		})
		t.Run("failures change nothing", func(t *testing.T) {
			if got := counts(); got != before {
				t.Errorf("counts went from %v to %v", before, got)
			}
			if v, err := s.Case(ctx, f.other.ID, f.foreign.ID); err != nil || v.AssigneeID != nil {
				t.Errorf("foreign case assignee = %v, %v", v.AssigneeID, err)
			}
		})
	})
}

func sameAssignee(a, b *int64) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

func TestCaseStore_SetDepartment(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		f := mustChatFixture(t, s)
		sales := storetest.MustDepartment(t, s, f.acct.ID, "Sales")
		theirs := storetest.MustDepartment(t, s, f.other.ID, "Theirs")
		chat := f.cases[2]
		t.Run("OK", func(t *testing.T) {
			v, err := s.SetCaseDepartment(ctx, f.acct.ID, chat.ID, &sales.ID)
			if err != nil || v.DepartmentID == nil || *v.DepartmentID != sales.ID || v.Department == nil || v.Department.Name != "Sales" {
				t.Fatalf("case = %+v %+v, %v", v.DepartmentID, v.Department, err)
			}
			got, err := s.Case(ctx, f.acct.ID, chat.ID)
			if err != nil || got.Department == nil || got.Department.ID != sales.ID {
				t.Errorf("Case department = %+v, %v", got.Department, err)
			}
			list, _, err := s.ListCases(ctx, f.acct.ID, store.CaseQuery{Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range list {
				if has := c.Department != nil; has != (c.ID == chat.ID) {
					t.Errorf("listed case %d department = %+v", c.ID, c.Department)
				}
			}
		})
		t.Run("ErrNotFound for another account's department", func(t *testing.T) {
			_, err := s.SetCaseDepartment(ctx, f.acct.ID, chat.ID, &theirs.ID)
			assertNotFound(t, err, "department")
			if got, _ := s.Case(ctx, f.acct.ID, chat.ID); got.DepartmentID == nil || *got.DepartmentID != sales.ID {
				t.Errorf("department = %v after a failed change", got.DepartmentID)
			}
		})
		t.Run("ErrNotFound for another account's case", func(t *testing.T) {
			_, err := s.SetCaseDepartment(ctx, f.acct.ID, f.foreign.ID, &sales.ID)
			assertNotFound(t, err, "case")
		})
		t.Run("clear", func(t *testing.T) {
			v, err := s.SetCaseDepartment(ctx, f.acct.ID, chat.ID, nil)
			if err != nil || v.DepartmentID != nil || v.Department != nil {
				t.Errorf("case = %v %+v, %v", v.DepartmentID, v.Department, err)
			}
		})
		t.Run("CreateCase in a department", func(t *testing.T) {
			v, err := s.CreateCase(ctx, f.acct.ID, store.NewCase{ContactID: f.ann.ID, DepartmentID: &sales.ID})
			if err != nil || v.Department == nil || v.Department.ID != sales.ID {
				t.Errorf("new case department = %+v, %v", v.Department, err)
			}
			_, err = s.CreateCase(ctx, f.acct.ID, store.NewCase{ContactID: f.ann.ID, DepartmentID: &theirs.ID})
			assertNotFound(t, err, "department")
		})
	})
}

func TestCaseStore_Snooze(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		f := mustChatFixture(t, s)
		chat, closed := f.cases[2], f.cases[1]
		later := time.Now().Add(24 * time.Hour).Truncate(time.Microsecond).UTC()
		past := time.Now().Add(-time.Hour)
		type want struct {
			status  models.CaseStatus
			snoozed *time.Time
		}
		steps := []struct {
			name   string
			caseID int64
			until  *time.Time
			want   want
		}{
			{"snooze a new chat", chat.ID, &later, want{models.StatusOnHold, &later}},
			{"unsnooze with no time", chat.ID, nil, want{models.StatusOpen, nil}},
			{"unsnoozing a chat not snoozed changes nothing", chat.ID, nil, want{models.StatusOpen, nil}},
			{"snooze again", chat.ID, &later, want{models.StatusOnHold, &later}},
			{"a time in the past unsnoozes", chat.ID, &past, want{models.StatusOpen, nil}},
			{"snoozing a closed chat reopens it on hold", closed.ID, &later, want{models.StatusOnHold, &later}},
		}
		for _, tt := range steps {
			t.Run(tt.name, func(t *testing.T) {
				v, err := s.SnoozeCase(ctx, f.acct.ID, tt.caseID, tt.until)
				if err != nil {
					t.Fatal(err)
				}
				assertSnooze(t, v, tt.want.status, tt.want.snoozed)
				stored, err := s.Case(ctx, f.acct.ID, tt.caseID)
				if err != nil {
					t.Fatal(err)
				}
				assertSnooze(t, stored, tt.want.status, tt.want.snoozed)
				if stored.ClosedAt != nil || stored.ClosedBy != nil {
					t.Errorf("closedAt %v closedBy %v on a reopened chat", stored.ClosedAt, stored.ClosedBy)
				}
			})
		}
		t.Run("on hold keeps the snooze, another status ends it", func(t *testing.T) {
			v, err := s.SetCaseStatus(ctx, f.acct.ID, closed.ID, models.StatusOnHold, nil)
			if err != nil {
				t.Fatal(err)
			}
			assertSnooze(t, v, models.StatusOnHold, &later)
			v, err = s.SetCaseStatus(ctx, f.acct.ID, closed.ID, models.StatusPending, nil)
			if err != nil {
				t.Fatal(err)
			}
			assertSnooze(t, v, models.StatusPending, nil)
		})
		t.Run("unsnoozing a pending chat keeps it pending", func(t *testing.T) {
			v, err := s.SnoozeCase(ctx, f.acct.ID, closed.ID, nil)
			if err != nil {
				t.Fatal(err)
			}
			assertSnooze(t, v, models.StatusPending, nil)
		})
		t.Run("ErrNotFound for another account's case", func(t *testing.T) {
			_, err := s.SnoozeCase(ctx, f.acct.ID, f.foreign.ID, &later)
			assertNotFound(t, err, "case")
			if v, _ := s.Case(ctx, f.other.ID, f.foreign.ID); v.SnoozedUntil != nil || v.Status != models.StatusNew {
				t.Errorf("foreign case = %v %v", v.Status, v.SnoozedUntil)
			}
		})
	})
}

// assertSnooze fails t unless the case has the status and snooze time.
func assertSnooze(t *testing.T, v store.CaseView, status models.CaseStatus, until *time.Time) {
	t.Helper()
	if v.Status != status {
		t.Errorf("status = %s, want %s", v.Status, status)
	}
	switch {
	case until == nil && v.SnoozedUntil != nil:
		t.Errorf("snoozedUntil = %v, want none", v.SnoozedUntil)
	case until != nil && (v.SnoozedUntil == nil || !v.SnoozedUntil.Equal(*until)):
		t.Errorf("snoozedUntil = %v, want %v", v.SnoozedUntil, until)
	}
}
