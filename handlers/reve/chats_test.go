package reve_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"switchboard/models"
	"switchboard/store"
	"switchboard/store/storetest"
)

// chatJSON is what REVE shows for chat ci of mustPeople; missedKey is
// is_missed in the list and is_missed_chat alone.
func (p *people) chatJSON(i int, missedKey string) map[string]any {
	c := p.chats[i]
	// What each chat shows beyond its times, by mustPeople's comment.
	want := []struct {
		missed    int
		startedBy string
		endedBy   any
		rating    any
	}{
		{0, "visitor", "visitor", nil},
		{1, "visitor", "visitor", nil}, // lost, though answered
		{0, "agent", "visitor", nil},
		{1, "autoinvite", "visitor", nil}, // closed, never answered
		{0, "visitor", nil, "5"},          // open
		{1, "agent", "agent", nil},        // closed by an agent, never answered
	}[i]
	contacts := map[int64]models.Contact{p.ann.ID: p.ann, p.bob.ID: p.bob, p.contact.ID: p.contact}
	ct, ok := contacts[c.ContactID]
	if !ok {
		panic(fmt.Sprintf("chat %d: unknown contact %d", i, c.ContactID))
	}
	out := map[string]any{
		"chat_id": c.ID, "chat_request_time": ms(c.StartedAt), missedKey: want.missed,
		"chat_started_by": want.startedBy, "is_chat_transferred": 0,
		"conversation_start_time": msOrNil(&p.answered[i]), "conversation_end_time": nil, "chat_ended_by": want.endedBy,
		"visitor_id": ct.ID, "visitor_email": ct.Email, "visitor_name": ct.Name, "visitor_phone": strings.TrimPrefix(ct.Phone, "+"),
		"agent_id": nil, "first_name": "", "last_name": "", "email": "", "rating": want.rating,
	}
	if want.endedBy != nil {
		out["conversation_end_time"] = msOrNil(c.ClosedAt)
	}
	if c.AssigneeID != nil {
		for _, a := range append([]models.Agent{p.superadmin}, p.agents...) {
			if a.ID == *c.AssigneeID {
				out["agent_id"], out["first_name"], out["last_name"], out["email"] = a.ID, a.FirstName, a.LastName, a.Email
			}
		}
	}
	return out
}

// chatList is the list rows of the chats at the indexes.
func (p *people) chatList(idx ...int) []map[string]any {
	out := []map[string]any{}
	for _, i := range idx {
		out = append(out, p.chatJSON(i, "is_missed"))
	}
	return out
}

func TestChats_List(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		p := mustPeople(t, st, 2)
		// The fixture's assignees, as the store keeps them.
		if p.chats[0].AssigneeID == nil || *p.chats[0].AssigneeID != p.agents[0].ID ||
			p.chats[1].AssigneeID == nil || *p.chats[1].AssigneeID != p.agents[1].ID ||
			p.chats[3].AssigneeID != nil || p.chats[5].AssigneeID != nil {
			t.Fatalf("fixture assignees: %+v", p.chats)
		}
		tests := []struct {
			name, path string
			want       []map[string]any
		}{
			{"default page", "/api/chats", p.chatList(5, 4)},
			{"trailing slash", "/api/chats/", p.chatList(5, 4)},
			{"empty parameters", "/api/chats?page_no=&date_from=&date_to=&agent_id=&agent_email_id=", p.chatList(5, 4)},
			{"page 2", "/api/chats?page_no=2", p.chatList(2, 1)},
			{"page 3, trailing slash", "/api/chats/?page_no=3", p.chatList(0, 3)},
			{"past the end", "/api/chats?page_no=4", p.chatList()},
			{"largest int64 page", "/api/chats?page_no=9223372036854775807", p.chatList()},
			{"huge page", "/api/chats?page_no=99999999999999999999999", p.chatList()},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				assertJSON(t, p.mustOK(t, tt.path), jsonOf(t, tt.want))
			})
		}
		t.Run("other account sees only its own", func(t *testing.T) {
			r := p.get(t, "/api/chats", p.other.Email, password)
			want := fmt.Sprintf(`[{"chat_id":%d,"chat_request_time":%d,"is_missed":1,"chat_started_by":"visitor","is_chat_transferred":0,
				"conversation_start_time":null,"conversation_end_time":%d,"chat_ended_by":"visitor","visitor_id":%d,
				"visitor_email":"ann@example.com","visitor_name":"","visitor_phone":"","agent_id":null,"first_name":"","last_name":"",
				"email":"","rating":null}]`, p.foreignChat.ID, ms(p.foreignChat.StartedAt), ms(*p.foreignChat.ClosedAt), p.foreignChat.ContactID)
			assertJSON(t, r.body, want)
		})
	})
}

func TestChats_Filters(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		p := mustPeople(t, st, 20)
		admin, agent, boss := p.agents[0], p.agents[1], p.superadmin
		tests := []struct {
			name  string
			query string
			want  []int
		}{
			// c0 is at 23:30 on 10 March in Tokyo, c1 at 00:30 on the 11th;
			// both are on the 10th in UTC.
			{"date_to takes its whole day in the account's zone", "date_to=2021-03-10", []int{0, 3}},
			{"date_from starts at midnight in the account's zone", "date_from=2021-03-11", []int{5, 4, 2, 1}},
			{"one day: the 10th", "date_from=2021-03-10&date_to=2021-03-10", []int{0}},
			{"one day: the 11th", "date_from=2021-03-11&date_to=2021-03-11", []int{1}},
			{"a range", "date_from=2021-03-09&date_to=2021-03-12", []int{2, 1, 0, 3}},
			{"a range, page 2 of 3", "date_from=2021-03-09&date_to=2021-03-12&page_no=2", nil},
			// The live chats started today (by default date_to is today).
			{"today", "date_from=" + p.chats[4].StartedAt.In(mustLoad(tokyo)).Format(time.DateOnly), []int{5, 4}},
			{"before every chat", "date_to=2021-03-08", nil},
			{"a future date_from", "date_from=2999-01-01", nil},
			{"the widest dates", "date_from=0001-01-01&date_to=9999-12-31", []int{5, 4, 2, 1, 0, 3}},
			{"a leap day", "date_from=2020-02-29&date_to=2021-03-09", []int{3}},
			{"agent_id of the admin", fmt.Sprint("agent_id=", admin.ID), []int{0}},
			{"agent_id of the agent", fmt.Sprint("agent_id=", agent.ID), []int{2, 1}},
			{"agent_id with leading zeros", fmt.Sprint("agent_id=000", agent.ID), []int{2, 1}},
			{"agent_id of the superadmin", fmt.Sprint("agent_id=", boss.ID), []int{4}},
			{"agent_id of nobody", "agent_id=744", nil},
			{"agent_id too large for any agent", "agent_id=99999999999999999999999", nil},
			{"agent_id of another account", fmt.Sprint("agent_id=", p.other.ID), nil},
			{"agent_id and dates", fmt.Sprint("agent_id=", agent.ID, "&date_to=2021-03-11"), []int{1}},
			{"agent_email_id", "agent_email_id=agent@example.com", []int{2, 1}},
			{"agent_email_id in another case", "agent_email_id=" + url.QueryEscape("Admin@Example.COM"), []int{0}},
			{"agent_email_id of nobody", "agent_email_id=nobody@example.com", nil},
			{"agent_email_id of another account", "agent_email_id=" + p.other.Email, nil},
			{"agent_email_id not an email", "agent_email_id=abc", nil},
			{"agent_id and agent_email_id agree", fmt.Sprint("agent_id=", admin.ID, "&agent_email_id=admin@example.com"), []int{0}},
			{"agent_id and agent_email_id disagree", fmt.Sprint("agent_id=", admin.ID, "&agent_email_id=agent@example.com"), nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				assertJSON(t, p.mustOK(t, "/api/chats/?"+tt.query), jsonOf(t, p.chatList(tt.want...)))
			})
		}
		t.Run("paging within a filter", func(t *testing.T) {
			small := mustPeople(t, storetest.MustOpen(t, st.Backend()), 1)
			q := "/api/chats?date_from=2021-03-09&date_to=2021-03-12&page_no="
			for page, i := range []int{2, 1, 0, 3} {
				assertJSON(t, small.mustOK(t, fmt.Sprint(q, page+1)), jsonOf(t, small.chatList(i)))
			}
			assertJSON(t, small.mustOK(t, q+"5"), "[]")
			q = fmt.Sprint("/api/chats?agent_id=", small.agents[1].ID, "&page_no=")
			assertJSON(t, small.mustOK(t, q+"2"), jsonOf(t, small.chatList(1)))
			assertJSON(t, small.mustOK(t, q+"3"), "[]")
		})
		t.Run("a UTC account's days are UTC days", func(t *testing.T) {
			// The second account's chat is at 23:30 UTC on 10 March.
			for q, n := range map[string]int{"date_to=2021-03-10": 1, "date_from=2021-03-11": 0, "date_from=2021-03-10&date_to=2021-03-10": 1} {
				r := p.get(t, "/api/chats?"+q, p.other.Email, password)
				var rows []map[string]any
				mustUnmarshal(t, r.body, &rows)
				if len(rows) != n {
					t.Errorf("%s: %d chats, want %d; body %s", q, len(rows), n, r.body)
				}
			}
		})
	})
}

func TestChats_Get(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		p := mustPeople(t, st, 20)
		for i := range p.chats {
			for _, path := range []string{fmt.Sprint("/api/chats/", p.chats[i].ID), fmt.Sprint("/api/chats/0", p.chats[i].ID, "/")} {
				t.Run(fmt.Sprintf("c%d %s", i, path), func(t *testing.T) {
					assertJSON(t, p.mustOK(t, path), jsonOf(t, p.chatJSON(i, "is_missed_chat")))
				})
			}
		}
	})
}

func TestChats_Errors(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		p := mustPeople(t, st, 2)
		boss := p.superadmin.Email
		foreign := fmt.Sprint(p.foreignChat.ID)
		offline := fmt.Sprint(p.cases[0].ID)
		invalid := func(v string) string {
			return reveError(400, "Invalid Chat Id: "+v+". Please enter a valid Chat Id.")
		}
		notFound := func(v string) string {
			return reveError(404, "No Record found for Chat Id = "+v+". Please enter a another Chat Id.")
		}
		badDate := func(name, v string) string {
			return reveError(400, "Invalid "+name+": "+v+". Please enter a valid date as yyyy-mm-dd.")
		}
		badAgent := func(v string) string {
			return reveError(400, "Invalid Agent Id: "+v+". Please enter a valid Agent Id.")
		}
		tests := append(authErrors("/api/chats", fmt.Sprint("/api/chats/", p.chats[0].ID)), pageErrors("/api/chats")...)
		tests = append(tests, []errorCase{
			{"id -14", "/api/chats/-14", boss, password, 400, invalid("-14")},
			{"id 0", "/api/chats/0", boss, password, 400, invalid("0")},
			{"id abc, trailing slash", "/api/chats/abc/", boss, password, 400, invalid("abc")},
			{"id unknown", "/api/chats/744", boss, password, 404, notFound("744")},
			{"id huge", "/api/chats/99999999999999999999999", boss, password, 404, notFound("99999999999999999999999")},
			{"id of another account", "/api/chats/" + foreign, boss, password, 404, notFound(foreign)},
			{"id of another account, trailing slash", "/api/chats/" + foreign + "/", boss, password, 404, notFound(foreign)},
			{"id of an offline message", "/api/chats/" + offline, boss, password, 404, notFound(offline)},
			{"date_from without zeros", "/api/chats?date_from=2021-3-1", boss, password, 400, badDate("date_from", "2021-3-1")},
			{"date_from with slashes", "/api/chats/?date_from=2021/03/01", boss, password, 400, badDate("date_from", "2021/03/01")},
			{"date_from dd-mm-yyyy", "/api/chats?date_from=01-03-2021", boss, password, 400, badDate("date_from", "01-03-2021")},
			{"date_from with a time", "/api/chats?date_from=2021-03-01T00:00", boss, password, 400, badDate("date_from", "2021-03-01T00:00")},
			{"date_from with a space", "/api/chats?date_from=%202021-03-01", boss, password, 400, badDate("date_from", " 2021-03-01")},
			{"date_from month 13", "/api/chats?date_from=2021-13-01", boss, password, 400, badDate("date_from", "2021-13-01")},
			{"date_from day 00", "/api/chats?date_from=2021-03-00", boss, password, 400, badDate("date_from", "2021-03-00")},
			{"date_to 30 February", "/api/chats?date_to=2021-02-30", boss, password, 400, badDate("date_to", "2021-02-30")},
			{"date_to 29 February of a common year", "/api/chats?date_to=2021-02-29", boss, password, 400, badDate("date_to", "2021-02-29")},
			{"date_to 31 April", "/api/chats?date_to=2021-04-31", boss, password, 400, badDate("date_to", "2021-04-31")},
			{"date_to a word", "/api/chats?date_to=today", boss, password, 400, badDate("date_to", "today")},
			{"date_from after date_to", "/api/chats?date_from=2021-03-11&date_to=2021-03-10", boss, password, 400,
				reveError(400, "Invalid date range: date_from 2021-03-11 is after date_to 2021-03-10. Please enter a valid date range.")},
			{"agent_id abc", "/api/chats?agent_id=abc", boss, password, 400, badAgent("abc")},
			{"agent_id -3", "/api/chats/?agent_id=-3", boss, password, 400, badAgent("-3")},
			{"agent_id 0", "/api/chats?agent_id=0", boss, password, 400, badAgent("0")},
			{"agent_id 1.0", "/api/chats?agent_id=1.0", boss, password, 400, badAgent("1.0")},
		}...)
		runErrors(t, p.fixture, tests)
	})
}
