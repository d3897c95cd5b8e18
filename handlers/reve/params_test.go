package reve_test

import (
	"fmt"
	"strings"
	"testing"

	"switchboard/store"
	"switchboard/store/storetest"
)

// TestLists_UnknownParameters checks that every REVE list refuses a
// parameter asking for a filter or sort it does not have, and one net/url
// would drop, naming each, and takes harmless ones.
func TestLists_UnknownParameters(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		p := mustPeople(t, st, 2)
		boss := p.superadmin.Email
		unknown := func(names, known string) string {
			return reveError(400, "Invalid Parameter: "+names+". This list takes only "+known+" and cannot be filtered or sorted otherwise.")
		}
		malformed := func(names string) string {
			return reveError(400, "Invalid Parameter: "+names+". A parameter may not hold a semicolon or a malformed % escape.")
		}
		const chatParams = "page_no, date_from, date_to, agent_id, agent_email_id"
		runErrors(t, p.fixture, []errorCase{
			{"offline messages sorted", "/api/offlinemessages?sort=received_time", boss, password, 400, unknown("sort", "page_no")},
			{"offline messages by a field", "/api/offlinemessages/?unread=1&visitor_email=a@example.com", boss, password, 400,
				unknown("unread, visitor_email", "page_no")},
			{"offline messages with a semicolon", "/api/offlinemessages?page_no=1;DROP", boss, password, 400, malformed("page_no")},
			{"agents by role", "/api/agents?role=Agent", boss, password, 400, unknown("role", "page_no")},
			{"agents with a filter array", "/api/agents?filter[role]=Agent", boss, password, 400, unknown("filter[role]", "page_no")},
			{"chats by a field in another case", "/api/chats?Visitor_Email=a@example.com", boss, password, 400, unknown("Visitor_Email", chatParams)},
			{"chats ordered", "/api/chats?order=asc&orderBy=chat_id", boss, password, 400, unknown("order, orderBy", chatParams)},
			{"chats with a malformed escape", "/api/chats?agent_email_id=%zz", boss, password, 400, malformed("agent_email_id")},
			{"visitors searched", "/api/visitors?q=ann", boss, password, 400, unknown("q", "page_no")},
			{"visitors by a dotted field", "/api/visitors?visitor.country=LV", boss, password, 400, unknown("visitor.country", "page_no")},
			{"agent_email_id over the limit", "/api/chats?agent_email_id=" + strings.Repeat("a", 243) + "@example.com", boss, password, 400,
				reveError(400, fmt.Sprintf("Invalid Agent Email Id: %q. Please enter a valid email address.", strings.Repeat("a", 64)+"…"))},
			{"agent_email_id with a control character", "/api/chats?agent_email_id=boss%0A@example.com", boss, password, 400,
				reveError(400, `Invalid Agent Email Id: "boss\n@example.com". Please enter a valid email address.`)},
		})
		for _, path := range []string{
			"/api/offlinemessages?page_no=1&_=1700000000",
			"/api/agents/?utm_source=x",
			"/api/chats?date_from=2020-01-01&agent_email_id=" + boss + "&_=1",
			"/api/visitors?page_no=1&cb=2",
		} {
			t.Run("takes "+path, func(t *testing.T) { p.mustOK(t, path) })
		}
	})
}
