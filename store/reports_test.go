package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"switchboard/models"
	"switchboard/store"
	"switchboard/store/storetest"
)

// reportSet is an account with five offline messages, an hour apart from
// base, whose ext_ids and form names tell them apart.
type reportSet struct {
	acct  models.Account
	base  time.Time
	cases []models.Case // in start order
}

func mustReportSet(tb testing.TB, s *store.Store) reportSet {
	tb.Helper()
	r := reportSet{acct: storetest.MustAccount(tb, s, "Reports"), base: time.Date(2024, 3, 5, 10, 0, 0, 0, time.UTC)}
	ann := storetest.MustContact(tb, s, r.acct.ID, "Ann Lee", "ann@example.com", "")
	bob := storetest.MustContact(tb, s, r.acct.ID, "Bob", "bob@example.com", "")
	ext := func(v string) *string { return &v }
	for i, in := range []store.NewOfflineCase{
		{ContactID: ann.ID, ExtID: ext("crm-1"), FormName: "Contact us"},
		{ContactID: ann.ID, ExtID: ext("crm-2"), FormName: "Callback"},
		{ContactID: bob.ID, ExtID: ext("CRM-3"), FormName: "Contact us"},
		{ContactID: bob.ID, ExtID: ext("a_b%"), FormName: "Quote"},
		{ContactID: bob.ID, FormName: "Quote"},
	} {
		in.Subject, in.Message, in.ReceivedAt = "Question", fmt.Sprintf("Message %d", i), r.base.Add(time.Duration(i)*time.Hour)
		c, err := s.CreateOfflineCase(context.Background(), r.acct.ID, in)
		if err != nil {
			tb.Fatal(err)
		}
		r.cases = append(r.cases, c)
	}
	return r
}

// TestReportCases_Filter checks every operator of the filter translator,
// nested groups with and and or, and the errors naming each bad node, on
// both backends.
func TestReportCases_Filter(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		r := mustReportSet(t, s)
		at := func(i int) time.Time { return r.base.Add(time.Duration(i) * time.Hour) }
		cond := func(field string, op store.Op, v any) store.Filter {
			return store.Filter{Field: field, Op: op, Value: v}
		}
		group := func(anyOf bool, fs ...store.Filter) store.Filter {
			return store.Filter{Group: &store.Group{Filters: fs, Any: anyOf}}
		}
		ext := store.ReportCaseExtID
		tests := []struct {
			name   string
			filter store.Filter
			want   []int // indexes into r.cases
		}{
			{"eq", cond(ext, store.OpEq, "crm-1"), []int{0}},
			{"eq is case-sensitive", cond(ext, store.OpEq, "CRM-1"), nil},
			{"ne keeps missing values", cond(ext, store.OpNe, "crm-1"), []int{1, 2, 3, 4}},
			{"eq null", cond(ext, store.OpEq, nil), []int{4}},
			{"ne null", cond(ext, store.OpNe, nil), []int{0, 1, 2, 3}},
			{"lt time", cond(store.ReportCaseStartedAt, store.OpLt, at(1)), []int{0}},
			{"le time", cond(store.ReportCaseStartedAt, store.OpLe, at(1)), []int{0, 1}},
			{"gt time", cond(store.ReportCaseStartedAt, store.OpGt, at(3)), []int{4}},
			{"ge time", cond(store.ReportCaseStartedAt, store.OpGe, at(3)), []int{3, 4}},
			{"gt id", cond(store.ReportCaseID, store.OpGt, r.cases[2].ID), []int{3, 4}},
			{"like prefix, case-sensitive", cond(ext, store.OpLike, "crm-%"), []int{0, 1}},
			{"like one character", cond(ext, store.OpLike, "%-_"), []int{0, 1, 2}},
			{"like without wildcards is equality", cond(ext, store.OpLike, "crm"), nil},
			{"like glob characters are literal", cond(ext, store.OpLike, "a_b*"), nil},
			{"like underscore", cond(ext, store.OpLike, "a_b_"), []int{3}},
			{"like backslash is literal", cond(ext, store.OpLike, `a\_b%`), nil},
			{"in text", cond(ext, store.OpIn, []string{"crm-1", "CRM-3"}), []int{0, 2}},
			{"in ids", cond(store.ReportCaseID, store.OpIn, []int64{r.cases[1].ID, r.cases[4].ID}), []int{1, 4}},
			{"in nothing", cond(ext, store.OpIn, []string{}), nil},
			{"contains ignores case", cond(store.ReportCaseFormName, store.OpContains, "CONTACT"), []int{0, 2}},
			{"and group", group(false, cond(store.ReportCaseFormName, store.OpEq, "Quote"), cond(ext, store.OpNe, nil)), []int{3}},
			{"or group", group(true, cond(ext, store.OpEq, "crm-2"), cond(store.ReportCaseFormName, store.OpEq, "Quote")), []int{1, 3, 4}},
			{"nested", group(true,
				group(false, cond(ext, store.OpLike, "crm-%"), cond(store.ReportCaseStartedAt, store.OpGe, at(1))),
				cond(ext, store.OpEq, nil)), []int{1, 4}},
			{"empty and matches all", group(false), []int{0, 1, 2, 3, 4}},
			{"empty or matches none", group(true), nil},
			{"joined contact", cond(store.ReportCaseContactName, store.OpEq, "Bob"), []int{2, 3, 4}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				f := tt.filter
				rows, total, err := s.ReportCases(context.Background(), r.acct.ID, models.ChannelOffline, store.ListQuery{
					Filter: &f, Limit: 100, From: r.base, To: r.base.Add(24 * time.Hour)})
				if err != nil {
					t.Fatal(err)
				}
				var got, want []int64
				for _, row := range rows {
					got = append(got, row.ID)
				}
				for _, i := range tt.want {
					want = append(want, r.cases[i].ID)
				}
				if !slices.Equal(got, want) || total != int64(len(want)) {
					t.Errorf("ids = %v (total %d), want %v", got, total, want)
				}
			})
		}
	})
}

// TestReportCases_FilterErrors checks that every bad node of a filter tree
// is a FieldError naming its path, all at once.
func TestReportCases_FilterErrors(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		r := mustReportSet(t, s)
		deep := store.Filter{Field: store.ReportCaseID, Op: store.OpEq, Value: int64(1)}
		for range store.MaxFilterDepth {
			deep = store.Filter{Group: &store.Group{Filters: []store.Filter{deep}}}
		}
		wide := store.Filter{Group: &store.Group{}}
		for range store.MaxFilterNodes + 1 {
			wide.Group.Filters = append(wide.Group.Filters, store.Filter{Field: store.ReportCaseID, Op: store.OpEq, Value: int64(1)})
		}
		tests := []struct {
			name   string
			filter store.Filter
			sort   []store.SortKey
			want   []string
		}{
			{"unknown field", store.Filter{Field: "password", Op: store.OpEq, Value: "x"}, nil, []string{"filter.field"}},
			{"every bad node", store.Filter{Group: &store.Group{Filters: []store.Filter{
				{Field: store.ReportCaseID, Op: store.OpEq, Value: int64(1)},
				{Field: "nope", Op: store.OpEq, Value: int64(1)},
				{Group: &store.Group{Filters: []store.Filter{{Field: store.ReportCaseID, Op: "regexp", Value: "x"}}}},
				{Field: store.ReportCaseID, Op: store.OpEq, Value: "text"},
				{Field: store.ReportCaseID, Op: store.OpLike, Value: "1%"},
				{Field: store.ReportCaseStartedAt, Op: store.OpGt, Value: int64(3)},
			}}}, nil, []string{"filter.filters[1].field", "filter.filters[2].filters[0].operator", "filter.filters[3].value",
				"filter.filters[4].value", "filter.filters[5].value"}},
			{"too deep", deep, nil, []string{"filter" + repeatPath(store.MaxFilterDepth-1)}},
			{"too wide", wide, nil, []string{fmt.Sprintf("filter.filters[%d]", store.MaxFilterNodes-1)}},
			{"unknown sort", store.Filter{Group: &store.Group{}}, []store.SortKey{{Field: store.ReportCaseID}, {Field: "secret"}}, []string{"sort[1].field"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				f := tt.filter
				_, _, err := s.ReportCases(context.Background(), r.acct.ID, models.ChannelOffline, store.ListQuery{
					Filter: &f, Sort: tt.sort, Limit: 10, From: r.base, To: r.base.Add(time.Hour)})
				var fe store.FieldErrors
				if !errors.As(err, &fe) {
					t.Fatalf("err = %v, want FieldErrors", err)
				}
				var got []string
				for _, e := range fe {
					got = append(got, e.Field)
				}
				if !slices.Equal(got, tt.want) {
					t.Errorf("fields = %v, want %v (%v)", got, tt.want, err)
				}
			})
		}
	})
}

// repeatPath is the path of the node n groups below the root's first member.
func repeatPath(n int) string {
	p := ""
	for range n {
		p += ".filters[0]"
	}
	return p
}

// TestReportCases_Window checks that every page of a report, in either
// order, with the window's edges off UTC midnight, is the slice of the
// whole ordered list the offset names, and that the total (from per-day
// counts and the edge days) is the rows' count: the day-count walk and the
// plain OFFSET agree.
func TestReportCases_Window(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		acct := storetest.MustAccount(t, s, "Window")
		contact := storetest.MustContact(t, s, acct.ID, "Ann", "ann@example.com", "")
		base := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
		var all []models.Case
		// Two to four rows a day, at uneven hours, one day empty, over six days.
		for day := range 6 {
			if day == 3 {
				continue
			}
			for _, h := range []int{0, 5, 13, 23}[:2+day%3] {
				at := base.AddDate(0, 0, day).Add(time.Duration(h)*time.Hour + time.Duration(day)*time.Minute)
				all = append(all, storetest.MustOfflineCase(t, s, acct.ID, contact.ID, "Q", "Hello", at))
			}
		}
		windows := []struct{ from, to time.Time }{
			{base, base.AddDate(0, 0, 6)},
			{base.Add(3 * time.Hour), base.AddDate(0, 0, 5).Add(14 * time.Hour)},
			{base.Add(time.Hour), base.Add(20 * time.Hour)},
			{base.AddDate(0, 0, 1), base.AddDate(0, 0, 4)},
		}
		for wi, w := range windows {
			var in []int64
			for _, c := range all {
				if !c.StartedAt.Before(w.from) && c.StartedAt.Before(w.to) {
					in = append(in, c.ID)
				}
			}
			for _, desc := range []bool{false, true} {
				want := slices.Clone(in)
				if desc {
					slices.Reverse(want)
				}
				t.Run(fmt.Sprintf("window %d desc %v", wi, desc), func(t *testing.T) {
					for offset := 0; offset <= len(want)+1; offset++ {
						q := store.ListQuery{Sort: []store.SortKey{{Field: store.ReportCaseStartedAt, Desc: desc}},
							Offset: offset, Limit: 3, From: w.from, To: w.to}
						rows, total, err := s.ReportCases(context.Background(), acct.ID, models.ChannelOffline, q)
						if err != nil {
							t.Fatal(err)
						}
						var got []int64
						for _, r := range rows {
							got = append(got, r.ID)
						}
						exp := want[min(offset, len(want)):min(offset+3, len(want))]
						if !slices.Equal(got, exp) || total != int64(len(want)) {
							t.Errorf("offset %d: ids %v total %d, want %v total %d", offset, got, total, exp, len(want))
						}
					}
				})
			}
		}
	})
}

// TestReportCases_Query checks the query's own errors: the window is
// required, to may not be before from, and the page has bounds.
func TestReportCases_Query(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		acct := storetest.MustAccount(t, s, "Query")
		now := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
		tests := []struct {
			name string
			q    store.ListQuery
			want []string
		}{
			{"no window", store.ListQuery{Limit: 1}, []string{"from", "to"}},
			{"to before from", store.ListQuery{Limit: 1, From: now, To: now.Add(-time.Second)}, []string{"to"}},
			{"page bounds", store.ListQuery{Offset: store.MaxListOffset + 1, Limit: store.MaxListLimit + 1, From: now, To: now},
				[]string{"offset", "limit"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, _, err := s.ReportCases(context.Background(), acct.ID, models.ChannelChat, tt.q)
				var fe store.FieldErrors
				if !errors.As(err, &fe) {
					t.Fatalf("err = %v", err)
				}
				var got []string
				for _, e := range fe {
					got = append(got, e.Field)
				}
				if !slices.Equal(got, tt.want) {
					t.Errorf("fields = %v, want %v", got, tt.want)
				}
			})
		}
	})
}

// TestReportChatMessages_Select checks the message report by chats and by
// window, with its agent, and that notes are left out.
func TestReportChatMessages_Select(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		acct := storetest.MustAccount(t, s, "Messages")
		agent := storetest.MustAgent(t, s, acct.ID, "agent@example.com", models.RoleAgent, hash)
		contact := storetest.MustContact(t, s, acct.ID, "Ann", "ann@example.com", "")
		chat, err := s.CreateCase(ctx, acct.ID, store.NewCase{ContactID: contact.ID, Initiator: models.InitiatorContact})
		if err != nil {
			t.Fatal(err)
		}
		other, err := s.CreateCase(ctx, acct.ID, store.NewCase{ContactID: contact.ID})
		if err != nil {
			t.Fatal(err)
		}
		at := chat.StartedAt.Add(time.Second)
		add := func(caseID int64, m store.NewMessage) int64 {
			m.At = at
			at = at.Add(time.Second)
			v, err := s.AddMessage(ctx, acct.ID, caseID, m)
			if err != nil {
				t.Fatal(err)
			}
			return v.ID
		}
		hello := add(chat.ID, store.NewMessage{Sender: models.SenderContact, Kind: models.KindMessage, Text: "Hello"})
		add(chat.ID, store.NewMessage{Sender: models.SenderAgent, AgentID: &agent.ID, Kind: models.KindNote, Text: "internal"})
		answer := add(chat.ID, store.NewMessage{Sender: models.SenderAgent, AgentID: &agent.ID, Kind: models.KindMessage, Text: "Hi"})
		elsewhere := add(other.ID, store.NewMessage{Sender: models.SenderContact, Kind: models.KindMessage, Text: "Other"})

		tests := []struct {
			name  string
			chats []int64
			q     store.ListQuery
			want  []int64
		}{
			{"one chat", []int64{chat.ID}, store.ListQuery{Limit: 10}, []int64{hello, answer}},
			{"window", nil, store.ListQuery{Limit: 10, From: chat.StartedAt, To: at}, []int64{hello, answer, elsewhere}},
			{"window and agent filter", nil, store.ListQuery{Limit: 10, From: chat.StartedAt, To: at,
				Filter: &store.Filter{Field: store.ReportMessageAgentID, Op: store.OpEq, Value: agent.ID}}, []int64{answer}},
			{"newest first", []int64{chat.ID, other.ID}, store.ListQuery{Limit: 2,
				Sort: []store.SortKey{{Field: store.ReportMessageCreatedAt, Desc: true}}}, []int64{elsewhere, answer}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				rows, total, err := s.ReportChatMessages(ctx, acct.ID, tt.chats, tt.q)
				if err != nil {
					t.Fatal(err)
				}
				var got []int64
				for _, r := range rows {
					got = append(got, r.ID)
					if r.ID == answer && (r.Agent == nil || r.Agent.ID != agent.ID) {
						t.Errorf("answer's agent = %+v", r.Agent)
					}
				}
				if !slices.Equal(got, tt.want) {
					t.Errorf("ids = %v, want %v", got, tt.want)
				}
				if tt.name == "newest first" && total != 3 {
					t.Errorf("total = %d, want 3", total)
				}
			})
		}
		if _, _, err := s.ReportChatMessages(ctx, acct.ID, nil, store.ListQuery{Limit: 1}); err == nil {
			t.Error("a report without chats or window was accepted")
		}
	})
}
