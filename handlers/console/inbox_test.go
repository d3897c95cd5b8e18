package console_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"testing"

	"switchboard/handlers/console"
	"switchboard/models"
	"switchboard/store"
	"switchboard/store/storetest"
)

var caseRow = regexp.MustCompile(`<tr id="case-(\d+)"`)

// rowsShown returns the ids of the cases an inbox page lists, in order.
func rowsShown(t testing.TB, body string) []int64 {
	t.Helper()
	var ids []int64
	for _, m := range caseRow.FindAllStringSubmatch(body, -1) {
		id, err := strconv.ParseInt(m[1], 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

// TestConsole_InboxFilters: each filter of the inbox (channel, including
// offline; status; assignee, someone or no one; a search by a contact's
// name, email or phone) lists exactly the cases it should, newest activity
// first, on the page and in the rows the live stream reloads.
func TestConsole_InboxFilters(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		f := mustFixture(t, st, console.Config{})
		bob := storetest.MustContact(t, st, f.one.ID, "Bob Stone", "bob@example.net", "+14155550111")
		offline := storetest.MustOfflineCase(t, st, f.one.ID, bob.ID, "Call back", "Please call me", f.ann.CreatedAt)
		if _, err := st.AssignCase(ctx, f.one.ID, f.smsCase.ID, &f.agent.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := st.SetCaseStatus(ctx, f.one.ID, f.emailCase.ID, models.StatusPending, &f.boss.ID); err != nil {
			t.Fatal(err)
		}
		b := f.browser(t)
		b.signIn("boss@example.com")
		// Newest activity first: the fixture's cases in the order they
		// were written, the offline one (its message an hour older than
		// any) last.
		all := []int64{f.smsCase.ID, f.emailCase.ID, f.annCase.ID, offline.ID}
		without := func(drop ...int64) []int64 {
			return slices.DeleteFunc(slices.Clone(all), func(id int64) bool { return slices.Contains(drop, id) })
		}
		tests := []struct {
			name  string
			query url.Values
			want  []int64
		}{
			{"all", url.Values{}, all},
			{"channel chat", url.Values{"channel": {"chat"}}, []int64{f.annCase.ID}},
			{"channel email", url.Values{"channel": {"email"}}, []int64{f.emailCase.ID}},
			{"channel sms", url.Values{"channel": {"sms"}}, []int64{f.smsCase.ID}},
			{"channel offline", url.Values{"channel": {"offline"}}, []int64{offline.ID}},
			{"status pending", url.Values{"status": {"pending"}}, []int64{f.emailCase.ID}},
			{"status new", url.Values{"status": {"new"}}, without(f.emailCase.ID)},
			{"status closed", url.Values{"status": {"closed"}}, nil},
			{"assignee an agent", url.Values{"assignee": {fmt.Sprint(f.agent.ID)}}, []int64{f.smsCase.ID}},
			{"assignee no one", url.Values{"assignee": {"none"}}, without(f.smsCase.ID)},
			{"assignee another agent", url.Values{"assignee": {fmt.Sprint(f.boss.ID)}}, nil},
			{"search by name", url.Values{"q": {"Bob Stone"}}, []int64{offline.ID}},
			{"search by part of a name", url.Values{"q": {"Ann"}}, without(offline.ID)},
			{"search by email", url.Values{"q": {"bob@example.net"}}, []int64{offline.ID}},
			{"search by phone", url.Values{"q": {"+14155550111"}}, []int64{offline.ID}},
			{"search by part of a phone", url.Values{"q": {"5550100"}}, without(offline.ID)},
			{"search with no match", url.Values{"q": {"Zed"}}, nil},
			{"search and channel", url.Values{"q": {"Ann"}, "channel": {"email"}}, []int64{f.emailCase.ID}},
			{"channel, status and assignee", url.Values{"channel": {"sms"}, "status": {"new"}, "assignee": {fmt.Sprint(f.agent.ID)}}, []int64{f.smsCase.ID}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				q := tt.query.Encode()
				p := b.get("/console?" + q)
				p.want(t, http.StatusOK)
				if got := rowsShown(t, p.body); !slices.Equal(got, tt.want) {
					t.Errorf("the page lists %v, want %v", got, tt.want)
				}
				if len(tt.want) == 0 {
					p.want(t, http.StatusOK, "No cases.")
				}
				rows := b.do(http.MethodGet, "/console/inbox?"+q, nil, http.Header{"Hx-Request": {"true"}})
				rows.want(t, http.StatusOK)
				if got := rowsShown(t, rows.body); !slices.Equal(got, tt.want) {
					t.Errorf("the rows list %v, want %v", got, tt.want)
				}
			})
		}
	})
}
