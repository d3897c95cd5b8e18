package helpcrunch_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"switchboard/handlers/apitest"
	"switchboard/handlers/jsonbody"
	"switchboard/models"
	"switchboard/store"
	"switchboard/store/storetest"
)

// FuzzWrite posts fuzzed bodies to every route that takes one, through the
// router on SQLite checked by openapi.yaml, and fails on a 5xx, a panic, an
// answer that is not JSON in HelpCrunch's shape, or an exchange outside the
// spec (a body the spec forbids yet the server accepted, a status or response
// body the spec does not document), and on a 200 to a body with a string
// that is not UTF-8 or a key given twice.
func FuzzWrite(f *testing.F) {
	st := storetest.MustOpen(f, store.SQLite)
	fx := mustFixture(f, st)
	routes := []struct{ method, path string }{
		{http.MethodPost, "/v1/messages"},
		{http.MethodPost, "/v1/chats"},
		{http.MethodPost, "/v1/chats/search"},
		{http.MethodPut, "/v1/chats/status"},
		{http.MethodPost, "/v1/customers"},
		{http.MethodPost, "/v1/customers/search"},
		{http.MethodPut, "/v1/chats/assignee"},
		{http.MethodPut, "/v1/chats/department"},
		{http.MethodPut, "/v1/chats/snooze"},
		{http.MethodPut, fmt.Sprint("/v1/chats/", fx.chat.ID, "/assignee")},
	}
	seeds := [][]string{
		{ // POST /v1/messages: the vendor's example, then the bad inputs of the issue
			fmt.Sprintf(`{"chat":%d,"text":"Can you can a can as a canner can can a can?","markdownText":"Can you can a **can** as a canner can can a **can**","agent":%d,"type":"message"}`, fx.chat.ID, fx.agent.ID),
			fmt.Sprintf(`{"chat":%d,"text":"customer","type":"message"}`, fx.offline.ID),
			fmt.Sprintf(`{"chat":%d,"text":"note","agent":%d,"type":"private"}`, fx.chat.ID, fx.agent.ID),
			`{"chat":"5215261","text":"x","type":"message","agent":4188}`,
			`{"chat":5215261.5,"text":"x","type":"message"}`,
			`{"chat":-1,"text":"x","type":"message","agent":-4188}`,
			`{"chat":99999999999999999999999,"text":"x","type":"message"}`,
			`{"chat":1,"type":"message"}`,
			`{"chat":1,"text":"x","type":"email"}`,
			fmt.Sprintf(`{"chat":%d,"text":"x","type":"message"}`, fx.foreignCase.ID),
			fmt.Sprintf(`{"chat":%d,"text":"x","type":"message","agent":%d}`, fx.chat.ID, fx.foreignAgent.ID),
			``, `{"chat":`, `[]`, `null`, `{"text":"a\u0000b"}`,
			// The limits and the body rules of issue 16: text at and past
			// 65,535 characters, keys given twice, strings not UTF-8.
			fmt.Sprintf(`{"chat":%d,"text":"%s","type":"message"}`, fx.chat.ID, strings.Repeat("x", models.MaxTextLen)),
			fmt.Sprintf(`{"chat":%d,"text":"%s","type":"message"}`, fx.chat.ID, strings.Repeat("x", models.MaxTextLen+1)),
			fmt.Sprintf(`{"chat":%d,"text":"x","type":"message","chat":%d}`, fx.chat.ID, fx.offline.ID),
			fmt.Sprintf("{\"chat\":%d,\"text\":\"caf\xe9\",\"type\":\"message\"}", fx.chat.ID),
			fmt.Sprintf(`{"chat":%d,"text":"\ud800","type":"message"}`, fx.chat.ID),
		},
		{ // POST /v1/chats
			fmt.Sprintf(`{"customer":%d,"assignee":%d,"department":1,"application":1}`, fx.contact.ID, fx.agent.ID),
			`{"customer":"x"}`, `{"customer":99999999999999999999}`, `{}`,
		},
		{ // POST /v1/chats/search
			`{"filter":[{"field":"chats.customer.email","operator":"=","value":"ann@example.com"}],"comparison":"AND","sort":"chats.createdAt","order":"desc","offset":0,"limit":100}`,
			`{"filter":[{"field":"chats.createdAt","operator":">","value":"1594139170.913"},{"field":"chats.assignee","operator":"=","value":null}],"comparison":"OR"}`,
			`{"filter":[{"field":"chats.status","operator":"=","value":"empty"},{"field":"chats.rating","operator":"!=","value":"great"}]}`,
			`{"filter":[{"operator":"~","value":1e400}],"limit":-1}`,
			`{"filter":[{"field":"chats.createdAt","operator":"<","value":"-62135596800.5"}]}`,
		},
		{ // PUT /v1/chats/status
			fmt.Sprintf(`{"id":%d,"status":"no communication"}`, fx.chat.ID),
			fmt.Sprintf(`{"id":%d,"status":"on hold"}`, fx.offline.ID),
			`{"id":1,"status":"empty"}`,
		},
		{ // POST /v1/customers
			`{"name":"Bob","email":"bob@example.com","phone":"+14155550123","userId":"u-1"}`,
			`{"email":"not-an-email","phone":"0"}`, `{"name":" "}`,
			`{"name":"` + strings.Repeat("n", models.MaxNameLen) + `"}`, `{"name":"` + strings.Repeat("n", models.MaxNameLen+1) + `"}`,
			`{"name":"Ann\tLee","userId":"u\n1"}`, `{"email":"a@example.com","email":"b@example.com"}`,
		},
		{ // POST /v1/customers/search
			`{"filter":[{"field":"customers.email","operator":"~","value":"example"}],"sort":"customers.lastSeen","order":"asc"}`,
			`{"filter":[{"field":"customers.firstSeen","operator":">=","value":253402300799}]}`,
			`{"filters":[{"field":"customers.email","operator":"~","value":"x"}],"email":"x"}`,
			`{"filter":[{"field":"customers.name","operator":"~","value":"` + strings.Repeat("v", models.MaxSearchValueLen+1) + `"}]}`,
		},
		{ // PUT /v1/chats/assignee
			fmt.Sprintf(`{"id":%d,"assignee":%d}`, fx.chat.ID, fx.boss.ID),
			fmt.Sprintf(`{"id":%d,"assignee":null}`, fx.offline.ID),
			`{"id":1,"assignee":"x"}`, `{"id":99999999999999999999,"assignee":99999999999999999999}`, `{}`,
		},
		{ // PUT /v1/chats/department
			fmt.Sprintf(`{"id":%d,"department":%d}`, fx.chat.ID, fx.sales.ID),
			fmt.Sprintf(`{"id":%d,"department":%d}`, fx.chat.ID, fx.foreignDepartment.ID),
			`{"id":1,"department":[1]}`,
		},
		{ // PUT /v1/chats/snooze
			fmt.Sprintf(`{"id":%d,"snoozedUntil":"4102444800.913"}`, fx.chat.ID),
			fmt.Sprintf(`{"id":%d,"snoozedUntil":1}`, fx.offline.ID),
			`{"id":1,"snoozedUntil":"tomorrow"}`, `{"id":1,"snoozedUntil":1e400}`, `{"id":1}`,
		},
		{ // PUT /v1/chats/{id}/assignee
			fmt.Sprintf(`{"assignee":%d}`, fx.agent.ID), fmt.Sprintf(`{"id":%d,"assignee":null}`, fx.chat.ID),
			fmt.Sprintf(`{"id":%d,"assignee":null}`, fx.offline.ID), `{"id":"x"}`,
		},
	}
	for i, bodies := range seeds {
		for _, b := range bodies {
			f.Add(uint8(i), b)
		}
	}
	f.Fuzz(func(t *testing.T, route uint8, body string) {
		// Wrapped here so that a departure from the spec fails this input's t
		// (f may not fail inside the fuzz target).
		handler := apitest.Wrap(t, fx.router)
		rt := routes[int(route)%len(routes)]
		req := httptest.NewRequest(rt.method, rt.path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+fx.token)
		req.Header.Set("Content-Type", "application/json")
		before := fx.counts(t)
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		what := fmt.Sprintf("%s %s %q", rt.method, rt.path, body)
		assertHelpCrunchAnswer(t, what, rec)
		// A body with a string that is not UTF-8 or a key given twice is
		// refused, whatever else it holds.
		var je *jsonbody.Error
		if errors.As(jsonbody.Check([]byte(body)), &je) && rec.Code == http.StatusOK {
			t.Fatalf("%s: accepted a body with %v", what, je)
		}
		// A refused request writes nothing, and neither does a search.
		if rec.Code != http.StatusOK || strings.HasSuffix(rt.path, "/search") {
			fx.assertUnchanged(t, before)
		}
	})
}
