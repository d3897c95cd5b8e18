package store_test

import (
	"errors"
	"testing"
	"time"

	"switchboard/models"
	"switchboard/store"
	"switchboard/store/storetest"
)

// chatFixture is one account with three cases of two contacts, one agent who
// wrote in two of them, and a second account with a case of its own.
type chatFixture struct {
	acct, other     models.Account
	agent, stranger models.Agent
	ann, bob        models.Contact
	// cases[0] (ann, offline, oldest), cases[1] (bob, chat, assigned, closed),
	// cases[2] (ann, chat, newest, no message).
	cases   []store.CaseView
	foreign store.CaseView
	t0      time.Time
}

func mustChatFixture(t *testing.T, s *store.Store) chatFixture {
	t.Helper()
	ctx := t.Context()
	var f chatFixture
	f.acct = storetest.MustAccount(t, s, "A")
	f.other = storetest.MustAccount(t, s, "B")
	f.agent = storetest.MustAgent(t, s, f.acct.ID, "agent@example.com", models.RoleAgent, hash)
	f.stranger = storetest.MustAgent(t, s, f.other.ID, "stranger@example.com", models.RoleAgent, hash)
	f.ann = storetest.MustContact(t, s, f.acct.ID, "Ann Lee", "ann@example.com", "+14155550101")
	f.bob = storetest.MustContact(t, s, f.acct.ID, "Bob Roe", "bob@example.org", "")
	f.t0 = time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	off := storetest.MustOfflineCase(t, s, f.acct.ID, f.ann.ID, "Offline", "hello", f.t0)
	storetest.MustReply(t, s, f.acct.ID, off.ID, f.agent.ID, "hi ann", f.t0.Add(time.Minute))
	chat, err := s.CreateCase(ctx, f.acct.ID, store.NewCase{ContactID: f.bob.ID, AssigneeID: &f.agent.ID, Subject: "Bob's chat"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddMessage(ctx, f.acct.ID, chat.ID, store.NewMessage{Sender: models.SenderContact, Kind: models.KindMessage, Text: "help"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetCaseStatus(ctx, f.acct.ID, chat.ID, models.StatusClosed, &f.agent.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateCase(ctx, f.acct.ID, store.NewCase{ContactID: f.ann.ID}); err != nil {
		t.Fatal(err)
	}
	all, _, err := s.ListCases(ctx, f.acct.ID, store.CaseQuery{Asc: true, Limit: 10})
	if err != nil || len(all) != 3 {
		t.Fatalf("fixture cases = %d, %v", len(all), err)
	}
	f.cases = all
	fc := storetest.MustContact(t, s, f.other.ID, "F", "", "")
	f.foreign, err = s.CreateCase(ctx, f.other.ID, store.NewCase{ContactID: fc.ID})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func ids(views []store.CaseView) []int64 {
	out := []int64{}
	for _, v := range views {
		out = append(out, v.ID)
	}
	return out
}

func TestStore_ListCases(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		f := mustChatFixture(t, s)
		c0, c1, c2 := f.cases[0].ID, f.cases[1].ID, f.cases[2].ID
		tests := []struct {
			name      string
			q         store.CaseQuery
			want      []int64
			wantTotal int64
			wantErr   []string
		}{
			{"default newest first", store.CaseQuery{Limit: 10}, []int64{c2, c1, c0}, 3, nil},
			{"paged", store.CaseQuery{Limit: 1, Offset: 1}, []int64{c1}, 3, nil},
			{"past the end", store.CaseQuery{Limit: 5, Offset: 10}, []int64{}, 3, nil},
			{"by contact email", store.CaseQuery{Limit: 10, Filters: []store.Filter{{Field: store.CaseContactEmail, Op: store.OpEq, Value: "ann@example.com"}}}, []int64{c2, c0}, 2, nil},
			{"email contains, any case", store.CaseQuery{Limit: 10, Filters: []store.Filter{{Field: store.CaseContactEmail, Op: store.OpContains, Value: "EXAMPLE.ORG"}}}, []int64{c1}, 1, nil},
			{"contains escapes wildcards", store.CaseQuery{Limit: 10, Filters: []store.Filter{{Field: store.CaseContactName, Op: store.OpContains, Value: "%"}}}, []int64{}, 0, nil},
			{"unassigned", store.CaseQuery{Limit: 10, Filters: []store.Filter{{Field: store.CaseAssigneeID, Op: store.OpEq, Value: nil}}}, []int64{c2, c0}, 2, nil},
			{"not this assignee includes unassigned", store.CaseQuery{Limit: 10, Filters: []store.Filter{{Field: store.CaseAssigneeID, Op: store.OpNe, Value: f.agent.ID}}}, []int64{c2, c0}, 2, nil},
			{"active", store.CaseQuery{Limit: 10, Filters: []store.Filter{{Field: store.CaseStatus, Op: store.OpNe, Value: "closed"}}}, []int64{c2, c0}, 2, nil},
			{"or", store.CaseQuery{Limit: 10, Any: true, Filters: []store.Filter{
				{Field: store.CaseID, Op: store.OpEq, Value: c0}, {Field: store.CaseStatus, Op: store.OpEq, Value: "closed"}}}, []int64{c1, c0}, 2, nil},
			{"in", store.CaseQuery{Limit: 10, Filters: []store.Filter{{Field: store.CaseID, Op: store.OpIn, Value: []int64{c0, c2, f.foreign.ID}}}}, []int64{c2, c0}, 2, nil},
			{"empty in", store.CaseQuery{Limit: 10, Filters: []store.Filter{{Field: store.CaseID, Op: store.OpIn, Value: []int64{}}}}, []int64{}, 0, nil},
			{"started after", store.CaseQuery{Limit: 10, Filters: []store.Filter{{Field: store.CaseStartedAt, Op: store.OpGt, Value: f.t0}}}, []int64{c2, c1}, 2, nil},
			{"sort by last message, missing last", store.CaseQuery{Limit: 10, Sort: store.CaseLastMessageAt}, []int64{c1, c0, c2}, 3, nil},
			{"sort ascending by last message, missing first", store.CaseQuery{Limit: 10, Sort: store.CaseLastMessageAt, Asc: true}, []int64{c2, c0, c1}, 3, nil},
			{"another account's id", store.CaseQuery{Limit: 10, Filters: []store.Filter{{Field: store.CaseID, Op: store.OpEq, Value: f.foreign.ID}}}, []int64{}, 0, nil},
			{"every bad part", store.CaseQuery{Limit: 0, Offset: -1, Sort: "colour", Filters: []store.Filter{
				{Field: "nope", Op: store.OpEq, Value: "x"},
				{Field: store.CaseID, Op: store.OpEq, Value: "1"},
				{Field: store.CaseStartedAt, Op: store.OpContains, Value: "2020"},
				{Field: store.CaseID, Op: "like", Value: int64(1)},
				{Field: store.CaseStatus, Op: store.OpLt, Value: nil},
				{Field: store.CaseContactEmail, Op: store.OpEq, Value: "a\x00"},
				{Field: store.CaseContactName, Op: store.OpContains, Value: "\xff"},
			}}, nil, 0, []string{"offset", "limit", "sort", "filter[0].field", "filter[1].value", "filter[2].value", "filter[3].value", "filter[4].value", "filter[5].value", "filter[6].value"}},
			{"too many values", store.CaseQuery{Limit: 10, Filters: []store.Filter{{Field: store.CaseID, Op: store.OpIn, Value: make([]int64, store.MaxInValues+1)}}}, nil, 0, []string{"filter[0].value"}},
			{"too many filters", store.CaseQuery{Limit: 10, Filters: make([]store.Filter, store.MaxFilters+1)}, nil, 0, []string{"filter"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, total, err := s.ListCases(t.Context(), f.acct.ID, tt.q)
				if tt.wantErr != nil {
					assertFields(t, err, tt.wantErr)
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if g := ids(got); len(g) != len(tt.want) || (len(g) > 0 && !equalIDs(g, tt.want)) {
					t.Errorf("ids = %v, want %v", g, tt.want)
				}
				if total != tt.wantTotal {
					t.Errorf("total = %d, want %d", total, tt.wantTotal)
				}
			})
		}
	})
}

func equalIDs(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestStore_Case(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		f := mustChatFixture(t, s)
		t.Run("view", func(t *testing.T) {
			v, err := s.Case(t.Context(), f.acct.ID, f.cases[1].ID)
			if err != nil {
				t.Fatal(err)
			}
			if v.Contact.ID != f.bob.ID || v.Assignee == nil || v.Assignee.ID != f.agent.ID ||
				v.Closer == nil || v.Closer.ID != f.agent.ID || v.Status != models.StatusClosed || v.ClosedAt == nil {
				t.Errorf("closed chat = %+v", v)
			}
			if v.LastMessageText != "help" || v.LastCustomerMessageAt == nil || v.LastMessageAt == nil {
				t.Errorf("last message = %q at %v / customer %v", v.LastMessageText, v.LastMessageAt, v.LastCustomerMessageAt)
			}
			if len(v.Agents) != 1 || v.Agents[0].ID != f.agent.ID {
				t.Errorf("agents = %+v, want the assignee once", v.Agents)
			}
			off, err := s.Case(t.Context(), f.acct.ID, f.cases[0].ID)
			if err != nil {
				t.Fatal(err)
			}
			if off.LastMessageText != "hi ann" || len(off.Agents) != 1 || off.Assignee != nil {
				t.Errorf("offline case = %+v, want the reply as last message and its writer in agents", off)
			}
		})
		for name, id := range map[string]int64{"another account's": f.foreign.ID, "unknown": 1 << 40} {
			t.Run(name, func(t *testing.T) {
				_, err := s.Case(t.Context(), f.acct.ID, id)
				var nf *store.NotFoundError
				if !errors.Is(err, store.ErrNotFound) || !errors.As(err, &nf) || nf.Entity != "case" || nf.ID != id {
					t.Errorf("err = %v, want a NotFoundError naming case %d", err, id)
				}
			})
		}
	})
}

func TestStore_CreateCase(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		f := mustChatFixture(t, s)
		foreignContact := storetest.MustContact(t, s, f.other.ID, "X", "", "")
		tests := []struct {
			name    string
			in      store.NewCase
			want    error
			wantErr []string
		}{
			{"chat", store.NewCase{ContactID: f.ann.ID, AssigneeID: &f.agent.ID}, nil, nil},
			{"another account's contact", store.NewCase{ContactID: foreignContact.ID}, store.ErrNotFound, nil},
			{"another account's assignee", store.NewCase{ContactID: f.ann.ID, AssigneeID: &f.stranger.ID}, store.ErrNotFound, nil},
			{"unknown channel and NUL in the subject", store.NewCase{ContactID: f.ann.ID, Channel: "fax", Subject: "a\x00b"}, nil, []string{"channel", "subject"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, before, _ := s.ListCases(t.Context(), f.acct.ID, store.CaseQuery{Limit: 1})
				v, err := s.CreateCase(t.Context(), f.acct.ID, tt.in)
				_, after, _ := s.ListCases(t.Context(), f.acct.ID, store.CaseQuery{Limit: 1})
				if tt.wantErr != nil {
					assertFields(t, err, tt.wantErr)
				} else if !errors.Is(err, tt.want) {
					t.Fatalf("err = %v, want %v", err, tt.want)
				}
				if err != nil {
					if after != before {
						t.Errorf("a refused case changed the count from %d to %d", before, after)
					}
					return
				}
				if after != before+1 || v.Status != models.StatusNew || v.Channel != models.ChannelChat || v.LastMessageID != nil {
					t.Errorf("created %+v; count %d → %d", v, before, after)
				}
			})
		}
	})
}

func TestStore_SetCaseStatus(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		f := mustChatFixture(t, s)
		id := f.cases[2].ID
		steps := []struct {
			name    string
			status  models.CaseStatus
			by      *int64
			want    error
			wantErr []string
		}{
			{"pending", models.StatusPending, nil, nil, nil},
			{"closed by the agent", models.StatusClosed, &f.agent.ID, nil, nil},
			{"closed again keeps the first closing", models.StatusClosed, nil, nil, nil},
			{"reopened", models.StatusOpen, nil, nil, nil},
			{"unknown status", "snoozed", nil, nil, []string{"status"}},
			{"closed by another account's agent", models.StatusClosed, &f.stranger.ID, store.ErrNotFound, nil},
		}
		for _, st := range steps {
			t.Run(st.name, func(t *testing.T) {
				before, _ := s.Case(t.Context(), f.acct.ID, id)
				v, err := s.SetCaseStatus(t.Context(), f.acct.ID, id, st.status, st.by)
				if st.wantErr != nil {
					assertFields(t, err, st.wantErr)
					return
				}
				if !errors.Is(err, st.want) {
					t.Fatalf("err = %v, want %v", err, st.want)
				}
				if err != nil {
					if after, _ := s.Case(t.Context(), f.acct.ID, id); after.Status != before.Status {
						t.Errorf("a refused change moved the status from %s to %s", before.Status, after.Status)
					}
					return
				}
				if v.Status != st.status {
					t.Errorf("status = %s, want %s", v.Status, st.status)
				}
				switch {
				case st.status != models.StatusClosed && (v.ClosedAt != nil || v.Closer != nil):
					t.Errorf("open case keeps its closing: %v by %+v", v.ClosedAt, v.Closer)
				case st.status == models.StatusClosed && (v.ClosedAt == nil || v.Closer == nil || v.Closer.ID != f.agent.ID):
					t.Errorf("closed case: at %v by %+v, want now by the agent", v.ClosedAt, v.Closer)
				}
			})
		}
		if _, err := s.SetCaseStatus(t.Context(), f.acct.ID, f.foreign.ID, models.StatusClosed, nil); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("another account's case: err = %v, want ErrNotFound", err)
		}
	})
}

func TestStore_AddMessage_Reopen(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		f := mustChatFixture(t, s)
		closed := f.cases[1]
		msg := store.NewMessage{Sender: models.SenderAgent, AgentID: &f.agent.ID, Kind: models.KindMessage, Text: "back", Markdown: "**back**", Lang: "en"}
		if _, err := s.AddMessage(t.Context(), f.acct.ID, closed.ID, msg); !errors.Is(err, store.ErrCaseNotActive) {
			t.Fatalf("without Reopen: err = %v, want ErrCaseNotActive", err)
		}
		msg.Reopen = true
		m, err := s.AddMessage(t.Context(), f.acct.ID, closed.ID, msg)
		if err != nil {
			t.Fatal(err)
		}
		if m.Agent == nil || m.Agent.ID != f.agent.ID || m.Markdown != "**back**" || m.Lang != "en" {
			t.Errorf("message = %+v, want its agent, mark-up and language", m)
		}
		v, err := s.Case(t.Context(), f.acct.ID, closed.ID)
		if err != nil {
			t.Fatal(err)
		}
		if v.Status != models.StatusOpen || v.ClosedAt != nil || v.Closer != nil || v.LastMessageID == nil || *v.LastMessageID != m.ID {
			t.Errorf("reopened case = %+v", v.Case)
		}
		// A note is not the last message; an older message does not replace a newer one.
		note := store.NewMessage{Sender: models.SenderAgent, AgentID: &f.agent.ID, Kind: models.KindNote, Text: "private"}
		if _, err := s.AddMessage(t.Context(), f.acct.ID, closed.ID, note); err != nil {
			t.Fatal(err)
		}
		old := store.NewMessage{Sender: models.SenderContact, Kind: models.KindMessage, Text: "old", At: f.t0.Add(-24 * time.Hour)}
		if _, err := s.AddMessage(t.Context(), f.acct.ID, closed.ID, old); err != nil {
			t.Fatal(err)
		}
		if v, _ = s.Case(t.Context(), f.acct.ID, closed.ID); v.LastMessageText != "back" {
			t.Errorf("last message = %q, want %q", v.LastMessageText, "back")
		}
		for _, tt := range []struct {
			entity string
			caseID int64
			agent  int64
		}{{"agent", closed.ID, f.stranger.ID}, {"case", f.foreign.ID, f.agent.ID}} {
			_, err := s.AddMessage(t.Context(), f.acct.ID, tt.caseID, store.NewMessage{Sender: models.SenderAgent, AgentID: &tt.agent, Kind: models.KindMessage, Text: "x"})
			var nf *store.NotFoundError
			if !errors.As(err, &nf) || nf.Entity != tt.entity {
				t.Errorf("missing %s: err = %v, want a NotFoundError naming it", tt.entity, err)
			}
		}
		contactWithAgent := store.NewMessage{Sender: models.SenderContact, AgentID: &f.agent.ID, Kind: models.KindMessage, Text: "x\x00", Markdown: "\xc3"}
		_, err = s.AddMessage(t.Context(), f.acct.ID, closed.ID, contactWithAgent)
		assertFields(t, err, []string{"agent", "text", "markdown"})
	})
}

func TestStore_ListMessages(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		f := mustChatFixture(t, s)
		id := f.cases[0].ID // "hello" by ann, then "hi ann" by the agent
		tests := []struct {
			name      string
			caseID    int64
			q         store.MessageQuery
			want      []string
			wantTotal int64
			wantErr   error
			wantField []string
		}{
			{"newest first", id, store.MessageQuery{Limit: 10}, []string{"hi ann", "hello"}, 2, nil, nil},
			{"oldest first", id, store.MessageQuery{Limit: 10, Oldest: true}, []string{"hello", "hi ann"}, 2, nil, nil},
			{"second page", id, store.MessageQuery{Limit: 1, Offset: 1}, []string{"hello"}, 2, nil, nil},
			{"empty case", f.cases[2].ID, store.MessageQuery{Limit: 10}, []string{}, 0, nil, nil},
			{"another account's case", f.foreign.ID, store.MessageQuery{Limit: 10}, nil, 0, store.ErrNotFound, nil},
			{"bad page", id, store.MessageQuery{Limit: store.MaxLimit + 1, Offset: -1}, nil, 0, nil, []string{"offset", "limit"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, total, err := s.ListMessages(t.Context(), f.acct.ID, tt.caseID, tt.q)
				if tt.wantField != nil {
					assertFields(t, err, tt.wantField)
					return
				}
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				if err != nil {
					return
				}
				texts := []string{}
				for _, m := range got {
					texts = append(texts, m.Text)
					if (m.Sender == models.SenderAgent) != (m.Agent != nil) {
						t.Errorf("message %q: sender %s with agent %+v", m.Text, m.Sender, m.Agent)
					}
				}
				if len(texts) != len(tt.want) || (len(texts) > 0 && texts[0] != tt.want[0]) || total != tt.wantTotal {
					t.Errorf("texts = %v (total %d), want %v (%d)", texts, total, tt.want, tt.wantTotal)
				}
			})
		}
	})
}

func TestStore_ListContacts(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		f := mustChatFixture(t, s)
		carl, err := s.CreateContact(t.Context(), f.acct.ID, store.NewContact{Name: "Carl", UserID: " ext-7 "})
		if err != nil {
			t.Fatal(err)
		}
		if carl.UserID != "ext-7" {
			t.Errorf("user id = %q, want it trimmed", carl.UserID)
		}
		tests := []struct {
			name      string
			q         store.ContactQuery
			want      []int64
			wantTotal int64
			wantErr   []string
		}{
			{"newest first", store.ContactQuery{Limit: 10}, []int64{carl.ID, f.bob.ID, f.ann.ID}, 3, nil},
			{"oldest first, paged", store.ContactQuery{Limit: 1, Offset: 1, Asc: true}, []int64{f.bob.ID}, 3, nil},
			{"by user id", store.ContactQuery{Limit: 10, Filters: []store.Filter{{Field: store.ContactUserID, Op: store.OpEq, Value: "ext-7"}}}, []int64{carl.ID}, 1, nil},
			{"name or email", store.ContactQuery{Limit: 10, Any: true, Filters: []store.Filter{
				{Field: store.ContactName, Op: store.OpContains, Value: "bob"}, {Field: store.ContactEmail, Op: store.OpEq, Value: "ann@example.com"}}}, []int64{f.bob.ID, f.ann.ID}, 2, nil},
			{"bad", store.ContactQuery{Limit: 10, Sort: "age", Filters: []store.Filter{{Field: store.ContactID, Op: store.OpEq, Value: "x"}}}, nil, 0, []string{"sort", "filter[0].value"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, total, err := s.ListContacts(t.Context(), f.acct.ID, tt.q)
				if tt.wantErr != nil {
					assertFields(t, err, tt.wantErr)
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				var g []int64
				for _, c := range got {
					g = append(g, c.ID)
				}
				if !equalIDs(g, tt.want) || total != tt.wantTotal {
					t.Errorf("ids = %v (total %d), want %v (%d)", g, total, tt.want, tt.wantTotal)
				}
			})
		}
	})
}

// TestStore_CreateCase_TimelineID checks that every way of writing a case
// gives it a timeline id of its own: not its id, not another case's, and
// read back as written.
func TestStore_CreateCase_TimelineID(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		acct := storetest.MustAccount(t, s, "A")
		ann := storetest.MustContact(t, s, acct.ID, "Ann Lee", "ann@example.com", "+14155550101")
		ext := "upload-1"
		site, err := s.CreateSite(ctx, acct.ID, "example.com")
		if err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name   string
			create func(t *testing.T) models.Case
		}{
			{"CreateCase", func(t *testing.T) models.Case {
				v, err := s.CreateCase(ctx, acct.ID, store.NewCase{ContactID: ann.ID, Subject: "chat"})
				if err != nil {
					t.Fatal(err)
				}
				return v.Case
			}},
			{"CreateOfflineCase", func(t *testing.T) models.Case {
				return storetest.MustOfflineCase(t, s, acct.ID, ann.ID, "offline", "hello", time.Time{})
			}},
			{"UploadOfflineMessages", func(t *testing.T) models.Case {
				ids, err := s.UploadOfflineMessages(ctx, acct.ID, []store.OfflineUpload{{
					Contact: store.UploadContact{Email: ann.Email}, Message: "uploaded", ReceivedAt: time.Now().Add(-time.Hour),
					Source: store.UploadSource{SiteID: &site.ID, NoCampaign: true}, ExtID: &ext}})
				if err != nil {
					t.Fatal(err)
				}
				v, err := s.Case(ctx, acct.ID, ids[0])
				if err != nil {
					t.Fatal(err)
				}
				return v.Case
			}},
		}
		seen := map[int64]string{}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				c := tt.create(t)
				if c.TimelineID <= 0 || c.TimelineID == c.ID {
					t.Errorf("case %d has timeline id %d, want one of its own", c.ID, c.TimelineID)
				}
				if other, ok := seen[c.TimelineID]; ok {
					t.Errorf("timeline id %d again: %s gave it too", c.TimelineID, other)
				}
				seen[c.TimelineID] = tt.name
				v, err := s.Case(ctx, acct.ID, c.ID)
				if err != nil {
					t.Fatal(err)
				}
				if v.TimelineID != c.TimelineID {
					t.Errorf("read back timeline id %d, wrote %d", v.TimelineID, c.TimelineID)
				}
			})
		}
	})
}
