package store_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"switchboard/models"
	"switchboard/store"
	"switchboard/store/storetest"
)

// mustChats uploads n chats of one contact, started every step going back
// from newest, each with a visitor message and, on every other chat, an
// agent's answer (that agent becomes its assignee).
func mustChats(t *testing.T, s *store.Store, accountID, siteID, agentID int64, n int, newest time.Time, step time.Duration) []int64 {
	t.Helper()
	var items []store.ChatUpload
	for i := range n {
		at := newest.Add(-time.Duration(i) * step)
		c := store.ChatUpload{StartedAt: at, Contact: store.UploadContact{Email: fmt.Sprintf("v%d@example.com", i%3)},
			Outcome: models.OutcomeSucceeded, Source: store.UploadSource{SiteID: &siteID},
			Messages: []store.ChatUploadMessage{{At: at, Sender: models.SenderContact, Text: "hi"}}}
		if i%2 == 0 {
			c.Messages = append(c.Messages, store.ChatUploadMessage{At: at.Add(time.Second), Sender: models.SenderAgent, AgentID: &agentID, Text: "hello"})
		} else {
			c.Outcome = models.OutcomeLost
		}
		items = append(items, c)
	}
	ids, err := s.UploadChats(t.Context(), accountID, items)
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func TestStore_ListChats(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		acct := storetest.MustAccount(t, s, "A")
		other := storetest.MustAccount(t, s, "B")
		site, err := s.CreateSite(ctx, acct.ID, "a.example")
		if err != nil {
			t.Fatal(err)
		}
		agent := storetest.MustAgent(t, s, acct.ID, "ag@example.com", models.RoleAgent, hash)
		// 60 chats, one every 7 hours: about 18 UTC days, so pages cross days
		// and day boundaries fall inside pages.
		newest := time.Date(2026, 3, 20, 22, 30, 0, 0, time.UTC)
		ids := mustChats(t, s, acct.ID, site.ID, agent.ID, 60, newest, 7*time.Hour)
		offlineContact := storetest.MustContact(t, s, acct.ID, "O", "", "")
		storetest.MustOfflineCase(t, s, acct.ID, offlineContact.ID, "S", "not a chat", newest)
		storetest.MustContact(t, s, other.ID, "X", "", "")

		// The answer to compare with: the same filter by plain OFFSET.
		naive := func(from, to time.Time, agentID *int64, page, size int) []int64 {
			q := s.GORM().Model(&models.Case{}).Where("account_id = ? AND channel = 'chat'", acct.ID)
			// SQLite compares times as text: bind them in UTC, as the store does.
			if !from.IsZero() {
				q = q.Where("started_at >= ?", from.UTC())
			}
			if !to.IsZero() {
				q = q.Where("started_at < ?", to.UTC())
			}
			if agentID != nil {
				q = q.Where("assignee_id = ?", *agentID)
			}
			out := []int64{}
			if err := q.Order("started_at DESC, id DESC").Offset((page-1)*size).Limit(size).Pluck("id", &out).Error; err != nil {
				t.Fatal(err)
			}
			return out
		}
		tokyo, _ := time.LoadLocation("Asia/Tokyo")
		cases := []struct {
			name     string
			from, to time.Time
			agent    *int64
			email    string
		}{
			{"everything", time.Time{}, time.Time{}, nil, ""},
			{"up to a local midnight inside a UTC day", time.Time{}, time.Date(2026, 3, 15, 0, 0, 0, 0, tokyo), nil, ""},
			{"a window", time.Date(2026, 3, 5, 0, 0, 0, 0, tokyo), time.Date(2026, 3, 12, 0, 0, 0, 0, tokyo), nil, ""},
			{"up to a UTC midnight", time.Time{}, time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC), nil, ""},
			{"an agent's", time.Time{}, time.Time{}, &agent.ID, ""},
			{"an agent by email", time.Time{}, time.Date(2026, 3, 15, 0, 0, 0, 0, tokyo), nil, "AG@example.com"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				for _, size := range []int{1, 7, 20} {
					for page := 1; page <= 61/size+2; page++ {
						got, err := s.ListChats(ctx, acct.ID, store.ChatQuery{From: tc.from, To: tc.to, AgentID: tc.agent, AgentEmail: tc.email, Page: int64(page), Size: size})
						if err != nil {
							t.Fatal(err)
						}
						agent := tc.agent
						if tc.email != "" {
							agent = mustAgentID(t, s, acct.ID, tc.email)
						}
						want := naive(tc.from, tc.to, agent, page, size)
						var g []int64
						for _, r := range got {
							g = append(g, r.ID)
						}
						if fmt.Sprint(g) != fmt.Sprint(want) && !(len(g) == 0 && len(want) == 0) {
							t.Fatalf("size %d page %d: %v, want %v", size, page, g, want)
						}
					}
				}
			})
		}
		t.Run("agent counts follow resends and deletes", func(t *testing.T) {
			other := storetest.MustAgent(t, s, acct.ID, "ag2@example.com", models.RoleAgent, hash)
			// Chat 2 is re-uploaded as the other agent's; chats 4 and 6 are deleted.
			if err := s.GORM().Exec("UPDATE cases SET ext_id = 'moved' WHERE id = ?", ids[2]).Error; err != nil {
				t.Fatal(err)
			}
			at := newest.Add(-3 * 24 * time.Hour)
			again, err := s.UploadChats(ctx, acct.ID, []store.ChatUpload{{StartedAt: at, ExtID: ptr("moved"), Contact: store.UploadContact{Email: "v0@example.com"},
				Outcome: models.OutcomeSucceeded, Source: store.UploadSource{SiteID: &site.ID},
				Messages: []store.ChatUploadMessage{{At: at, Sender: models.SenderAgent, AgentID: &other.ID, Text: "mine now"}}}})
			if err != nil || again[0] != ids[2] {
				t.Fatalf("resend = %v, %v; want chat %d again", again, err, ids[2])
			}
			if _, err := s.DeleteUploaded(ctx, acct.ID, models.ChannelChat, []int64{ids[4], ids[6]}); err != nil {
				t.Fatal(err)
			}
			for _, agentID := range []int64{agent.ID, other.ID} {
				for page := 1; page <= 8; page++ {
					got, err := s.ListChats(ctx, acct.ID, store.ChatQuery{AgentID: &agentID, Page: int64(page), Size: 4})
					if err != nil {
						t.Fatal(err)
					}
					var g []int64
					for _, r := range got {
						g = append(g, r.ID)
					}
					want := naive(time.Time{}, time.Time{}, &agentID, page, 4)
					if fmt.Sprint(g) != fmt.Sprint(want) && !(len(g) == 0 && len(want) == 0) {
						t.Fatalf("agent %d page %d: %v, want %v", agentID, page, g, want)
					}
				}
			}
		})
		t.Run("fields", func(t *testing.T) {
			c, err := s.Chat(ctx, acct.ID, ids[0])
			if err != nil {
				t.Fatal(err)
			}
			if c.Agent == nil || c.Agent.ID != agent.ID || c.FirstAgentMessageAt == nil || !c.FirstAgentMessageAt.Equal(newest.Add(time.Second)) ||
				c.Contact.Email != "v0@example.com" || *c.Outcome != models.OutcomeSucceeded {
				t.Errorf("chat = %+v", c)
			}
			lost, err := s.Chat(ctx, acct.ID, ids[1])
			if err != nil || lost.Agent != nil || lost.FirstAgentMessageAt != nil || *lost.Outcome != models.OutcomeLost {
				t.Errorf("lost chat = %+v, %v", lost, err)
			}
		})
		t.Run("errors", func(t *testing.T) {
			offline, _, _ := s.ListCases(ctx, acct.ID, store.CaseQuery{Limit: 1, Filters: []store.Filter{{Field: store.CaseChannel, Op: store.OpEq, Value: "offline"}}})
			for name, id := range map[string]int64{"an offline message": offline[0].ID, "unknown": 1 << 40} {
				if _, err := s.Chat(ctx, acct.ID, id); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("%s: err = %v, want ErrNotFound", name, err)
				}
			}
			if _, err := s.Chat(ctx, other.ID, ids[0]); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("another account's chat: err = %v", err)
			}
			_, err := s.ListChats(ctx, acct.ID, store.ChatQuery{Page: 0, Size: 0, From: newest, To: newest.Add(-time.Hour)})
			assertFields(t, err, []string{"page", "size"})
			_, err = s.ListChats(ctx, acct.ID, store.ChatQuery{Page: 1, Size: 5, From: newest, To: newest.Add(-time.Hour)})
			assertFields(t, err, []string{"to"})
			if got, err := s.ListChats(ctx, acct.ID, store.ChatQuery{Page: 1, Size: 5, AgentEmail: "nobody@example.com"}); err != nil || len(got) != 0 {
				t.Errorf("unknown agent email = %v, %v; want nothing", got, err)
			}
		})
	})
}

// mustAgentID returns the id of the account's agent with the email.
func mustAgentID(t *testing.T, s *store.Store, accountID int64, email string) *int64 {
	t.Helper()
	a, err := s.AgentByEmail(t.Context(), email)
	if err != nil || a.AccountID != accountID {
		t.Fatalf("agent %s: %v", email, err)
	}
	return &a.ID
}

func TestStore_ListAgents(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		acct := storetest.MustAccount(t, s, "A")
		var want []int64
		for i := range 5 {
			want = append(want, storetest.MustAgent(t, s, acct.ID, fmt.Sprintf("a%d@example.com", i), models.RoleAgent, hash).ID)
		}
		other := storetest.MustAccount(t, s, "B")
		storetest.MustAgent(t, s, other.ID, "x@example.com", models.RoleAgent, hash)
		got, err := s.ListAgents(t.Context(), acct.ID, 2, 2)
		if err != nil || len(got) != 2 || got[0].ID != want[2] || got[1].ID != want[3] {
			t.Errorf("page 2 = %+v, %v", got, err)
		}
		if got, err := s.ListAgents(t.Context(), acct.ID, 1<<61, 20); err != nil || len(got) != 0 {
			t.Errorf("far page = %v, %v", got, err)
		}
		_, err = s.ListAgents(t.Context(), acct.ID, 0, 0)
		assertFields(t, err, []string{"page", "size"})
	})
}

func TestStore_AgentPage(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		acct := storetest.MustAccount(t, s, "A")
		var want []int64
		for i := range 5 {
			want = append(want, storetest.MustAgent(t, s, acct.ID, fmt.Sprintf("a%d@example.com", i), models.RoleAgent, hash).ID)
		}
		other := storetest.MustAccount(t, s, "B")
		storetest.MustAgent(t, s, other.ID, "x@example.com", models.RoleAgent, hash)
		tests := []struct {
			name          string
			offset, limit int
			want          []int64
		}{
			{"first", 0, 2, want[:2]},
			{"middle", 3, 1, want[3:4]},
			{"short last", 4, 10, want[4:]},
			{"past the end", 5, 10, nil},
			{"far offset", math.MaxInt, 10, nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, total, err := s.AgentPage(t.Context(), acct.ID, tt.offset, tt.limit)
				if err != nil || total != 5 {
					t.Fatalf("AgentPage = %d agents, total %d, %v; want total 5", len(got), total, err)
				}
				var ids []int64
				for _, a := range got {
					ids = append(ids, a.ID)
				}
				if !slices.Equal(ids, tt.want) {
					t.Errorf("ids = %v, want %v", ids, tt.want)
				}
			})
		}
		t.Run("bad page", func(t *testing.T) {
			_, _, err := s.AgentPage(t.Context(), acct.ID, -1, 0)
			assertFields(t, err, []string{"offset", "limit"})
		})
	})
}

func TestStore_ContactViews(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		acct := storetest.MustAccount(t, s, "A")
		site, err := s.CreateSite(ctx, acct.ID, "a.example")
		if err != nil {
			t.Fatal(err)
		}
		ann := storetest.MustContact(t, s, acct.ID, "Ann", "ann@example.com", "")
		bob := storetest.MustContact(t, s, acct.ID, "Bob", "", "+14155550102")
		t0 := time.Now().UTC().Add(-10 * time.Hour).Truncate(time.Second)
		for i, ip := range []string{"10.0.0.1", "10.0.0.2"} {
			if _, err := s.CreateVisitorSession(ctx, acct.ID, store.NewVisitorSession{ContactID: &ann.ID, SiteID: site.ID, StartedAt: t0.Add(time.Duration(i) * time.Hour), IPAddress: ip}); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.GORM().Exec("UPDATE visitor_sessions SET page_views = 3 WHERE contact_id = ?", ann.ID).Error; err != nil {
			t.Fatal(err)
		}
		agent := storetest.MustAgent(t, s, acct.ID, "ag@example.com", models.RoleAgent, hash)
		mustChats(t, s, acct.ID, site.ID, agent.ID, 1, t0.Add(3*time.Hour), time.Hour) // v0@example.com, a new contact
		_, err = s.UploadChats(ctx, acct.ID, []store.ChatUpload{{StartedAt: t0.Add(2 * time.Hour), Contact: store.UploadContact{Email: "ann@example.com"},
			Outcome: models.OutcomeSucceeded, Source: store.UploadSource{SiteID: &site.ID},
			Messages: []store.ChatUploadMessage{{At: t0.Add(2 * time.Hour), Sender: models.SenderContact, Text: "x"}, {At: t0.Add(2*time.Hour + 90*time.Second), Sender: models.SenderContact, Text: "y"}}}})
		if err != nil {
			t.Fatal(err)
		}
		page, err := s.ListContactViews(ctx, acct.ID, 1, 2)
		if err != nil || len(page) != 2 || page[1].ID != bob.ID {
			t.Fatalf("page 1 = %+v, %v; want newest first", page, err)
		}
		page2, err := s.ListContactViews(ctx, acct.ID, 2, 2)
		if err != nil || len(page2) != 1 || page2[0].ID != ann.ID || !page2[0].FirstVisitAt.Equal(t0) || page2[0].Last == nil || page2[0].Last.IPAddress != "10.0.0.2" {
			t.Errorf("page 2 = %+v, %v", page2, err)
		}
		d, err := s.ContactView(ctx, acct.ID, ann.ID)
		if err != nil {
			t.Fatal(err)
		}
		if d.TotalVisits != 2 || d.TotalViews != 6 || d.TotalChats != 1 || d.TotalChatDuration != 90*time.Second ||
			d.LastChatStartedAt == nil || !d.LastChatStartedAt.Equal(t0.Add(2*time.Hour)) {
			t.Errorf("detail = %+v", d)
		}
		if d, err := s.ContactView(ctx, acct.ID, bob.ID); err != nil || d.TotalVisits != 0 || d.Last != nil || d.LastChatStartedAt != nil {
			t.Errorf("bob = %+v, %v", d, err)
		}
		if _, err := s.ContactView(ctx, acct.ID, 1<<40); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("unknown visitor: %v", err)
		}
	})
}

// TestSeedChats checks the benchmark's seed against the store: the chats it
// writes page the same way by the day counts as by plain OFFSET.
func TestSeedChats(t *testing.T) {
	s := storetest.MustOpen(t, store.Postgres)
	acct := storetest.MustAccount(t, s, "A")
	agent := storetest.MustAgent(t, s, acct.ID, "ag@example.com", models.RoleAgent, hash)
	storetest.SeedChats(t, s, acct.ID, agent.ID, 500, time.Now().UTC(), 3*time.Hour)
	for _, page := range []int64{1, 7, 24, 25, 26} {
		got, err := s.ListChats(t.Context(), acct.ID, store.ChatQuery{Page: page, Size: 20})
		if err != nil {
			t.Fatal(err)
		}
		var want []int64
		if err := s.GORM().Raw(`SELECT id FROM cases WHERE account_id = ? AND channel = 'chat' ORDER BY started_at DESC, id DESC
			LIMIT 20 OFFSET ?`, acct.ID, (page-1)*20).Scan(&want).Error; err != nil {
			t.Fatal(err)
		}
		var g []int64
		for _, r := range got {
			g = append(g, r.ID)
			if (r.Agent != nil) != (r.FirstAgentMessageAt != nil) {
				t.Errorf("chat %d: agent %v, first answer %v", r.ID, r.Agent, r.FirstAgentMessageAt)
			}
		}
		if fmt.Sprint(g) != fmt.Sprint(want) && len(want) > 0 {
			t.Errorf("page %d = %v, want %v", page, g, want)
		}
	}
}

func TestStore_RecordLogin(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		acct := storetest.MustAccount(t, s, "A")
		a := storetest.MustAgent(t, s, acct.ID, "a@example.com", models.RoleAgent, hash)
		t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
		for _, st := range []struct {
			name string
			at   time.Time
			want time.Time
		}{
			{"first", t0, t0},
			{"within the minute: kept", t0.Add(30 * time.Second), t0},
			{"a minute on", t0.Add(61 * time.Second), t0.Add(61 * time.Second)},
		} {
			if err := s.RecordLogin(t.Context(), a.ID, st.at); err != nil {
				t.Fatal(err)
			}
			got, err := s.Agent(t.Context(), acct.ID, a.ID)
			if err != nil || got.LastLoginAt == nil || !got.LastLoginAt.Equal(st.want) {
				t.Errorf("%s: last login = %v, %v; want %v", st.name, got.LastLoginAt, err, st.want)
			}
		}
	})
}

// TestStore_UnstorableEmails checks that an email no text column can hold
// (NUL, invalid UTF-8) finds no agent and no chat rather than failing the
// query, on every backend: PostgreSQL refuses to compare such strings.
func TestStore_UnstorableEmails(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		acct := storetest.MustAccount(t, s, "Acme")
		storetest.MustAgent(t, s, acct.ID, "boss@example.com", models.RoleSuperadmin, "x")
		for _, email := range []string{"boss@example.com\x00", "boss@example.com\xff", "\x00"} {
			t.Run(fmt.Sprintf("%q", email), func(t *testing.T) {
				if _, err := s.AgentByEmail(ctx, email); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("AgentByEmail = %v, want ErrNotFound", err)
				}
				rows, err := s.ListChats(ctx, acct.ID, store.ChatQuery{AgentEmail: email, Page: 1, Size: 20})
				if err != nil || len(rows) != 0 {
					t.Errorf("ListChats = %d rows, %v; want none and no error", len(rows), err)
				}
			})
		}
	})
}
