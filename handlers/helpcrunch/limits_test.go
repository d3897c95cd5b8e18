package helpcrunch_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"switchboard/models"
	"switchboard/store"
	"switchboard/store/storetest"
)

// HelpCrunch's messages for the limits and the body's JSON.
const (
	control    = "This value should not contain control characters."
	badUTF8    = "This value should be valid UTF-8."
	duplicate  = "This field should appear only once."
	unexpected = "This field was not expected."
)

func tooLong(n int) string {
	return fmt.Sprintf("This value is too long. It should have %d characters or less.", n)
}

// chars returns n two-byte characters: a limit in characters is not met by
// counting bytes.
func chars(n int) string { return strings.Repeat("é", n) }

// TestWrites_TextLimits posts each free-text field at its limit, which is
// taken, and one character past it, which is refused naming the field, with
// nothing written.
func TestWrites_TextLimits(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st)
		message := func(field, v string) string {
			return mustJSON(t, map[string]any{"chat": f.chat.ID, "text": "x", "type": "message", "agent": f.agent.ID, field: v})
		}
		customer := func(field, v string) string { return mustJSON(t, map[string]any{field: v}) }
		search := func(v string) string {
			return mustJSON(t, map[string]any{"filter": []any{map[string]any{"field": "chats.customer.name", "operator": "~", "value": v}}})
		}
		tests := []struct {
			name, path, field string
			limit             int
			body              func(field, v string) string
			value             func(n int) string
		}{
			{"message text", "/v1/messages", "text", models.MaxTextLen, message, chars},
			{"message markdown", "/v1/messages", "markdownText", models.MaxTextLen, message, chars},
			{"customer name", "/v1/customers", "name", models.MaxNameLen, customer, chars},
			{"customer userId", "/v1/customers", "userId", models.MaxExtIDLen, customer, chars},
			{"customer email", "/v1/customers", "email", models.MaxEmailBytes, customer, func(n int) string {
				return strings.Repeat("a", n-len("@example.com")) + "@example.com"
			}},
			{"search value", "/v1/chats/search", "filter[0].value", models.MaxSearchValueLen, func(_, v string) string { return search(v) }, chars},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				mustOK(t, f.do(t, http.MethodPost, tt.path, f.token, tt.body(tt.field, tt.value(tt.limit))))
				before := f.counts(t)
				want := tooLong(tt.limit)
				if tt.field == "email" {
					want = fmt.Sprintf("This value is too long. It should have %d bytes or less.", tt.limit)
				}
				assertError(t, f.do(t, http.MethodPost, tt.path, f.token, tt.body(tt.field, tt.value(tt.limit+1))), 400, hcErrors(tt.field, want))
				f.assertUnchanged(t, before)
			})
		}
		t.Run("every bad field listed", func(t *testing.T) {
			before := f.counts(t)
			body := mustJSON(t, map[string]any{"name": chars(models.MaxNameLen + 1), "email": "ann\x01@example.com", "userId": "u\n1"})
			assertError(t, f.do(t, http.MethodPost, "/v1/customers", f.token, body), 400,
				hcErrors("name", tooLong(models.MaxNameLen), "email", control, "userId", control))
			f.assertUnchanged(t, before)
		})
	})
}

// TestWrites_ControlCharacters checks that names and ids refuse control
// characters (tab and line breaks included) while message text keeps them.
func TestWrites_ControlCharacters(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st)
		for _, tt := range []struct{ name, field, value string }{
			{"name with a tab", "name", "Ann\tLee"},
			{"name with a newline", "name", "Ann\nLee"},
			{"name with an escape", "name", "Ann\x1b[31m"},
			{"name with a C1 control", "name", "Ann\u0085"},
			{"userId with a carriage return", "userId", "u-1\r"},
			{"email with DEL", "email", "ann\x7f@example.com"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				before := f.counts(t)
				assertError(t, f.do(t, http.MethodPost, "/v1/customers", f.token, mustJSON(t, map[string]any{tt.field: tt.value})),
					400, hcErrors(tt.field, control))
				f.assertUnchanged(t, before)
			})
		}
		t.Run("message text keeps tabs and line breaks", func(t *testing.T) {
			text := "line 1\r\n\tline 2\n"
			m := mustOK(t, f.do(t, http.MethodPost, "/v1/messages", f.token, mustJSON(t, map[string]any{
				"chat": f.chat.ID, "text": text, "type": "message"})))
			if m["text"] != text {
				t.Errorf("text = %q, want %q", m["text"], text)
			}
		})
	})
}

// TestWrites_LenientJSON checks that a string that is not UTF-8 and a key
// given twice, anywhere in a body, are refused naming their path, where
// encoding/json would have taken U+FFFD or the last value.
func TestWrites_LenientJSON(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st)
		chat, agent := f.chat.ID, f.agent.ID
		tests := []struct {
			name, method, path, body, want string
		}{
			{"invalid UTF-8 in text", http.MethodPost, "/v1/messages",
				fmt.Sprintf("{\"chat\":%d,\"text\":\"caf\xe9\",\"type\":\"message\"}", chat), hcErrors("text", badUTF8)},
			{"lone surrogate escape in text", http.MethodPost, "/v1/messages",
				fmt.Sprintf(`{"chat":%d,"text":"a\ud800b","type":"message"}`, chat), hcErrors("text", badUTF8)},
			{"invalid UTF-8 in a key", http.MethodPost, "/v1/messages",
				fmt.Sprintf("{\"chat\":%d,\"text\":\"x\",\"type\":\"message\",\"a\xff\":1}", chat), hcErrors("a\uFFFD", badUTF8)},
			{"duplicate chat", http.MethodPost, "/v1/messages",
				fmt.Sprintf(`{"chat":%d,"text":"x","type":"message","chat":%d}`, chat, f.offline.ID), hcErrors("chat", duplicate)},
			{"duplicate agent written with an escape", http.MethodPost, "/v1/messages",
				fmt.Sprintf(`{"chat":%d,"text":"x","type":"private","agent":%d,"\u0061gent":null}`, chat, agent), hcErrors("agent", duplicate)},
			{"every problem listed", http.MethodPost, "/v1/messages",
				fmt.Sprintf("{\"chat\":%d,\"text\":\"\xff\",\"type\":\"message\",\"type\":\"private\",\"markdownText\":\"\xfe\"}", chat),
				hcErrors("text", badUTF8, "type", duplicate, "markdownText", badUTF8)},
			{"nested duplicate in a search filter", http.MethodPost, "/v1/chats/search",
				`{"filter":[{"field":"chats.id","operator":"=","value":1},{"field":"chats.id","operator":">","value":1,"value":2}]}`,
				hcErrors("filter[1].value", duplicate)},
			{"invalid UTF-8 in a nested search value", http.MethodPost, "/v1/customers/search",
				"{\"filter\":[{\"field\":\"customers.name\",\"operator\":\"~\",\"value\":\"\xc3\"}]}", hcErrors("filter[0].value", badUTF8)},
			{"duplicate status", http.MethodPut, "/v1/chats/status",
				fmt.Sprintf(`{"id":%d,"status":"closed","status":"opened"}`, chat), hcErrors("status", duplicate)},
			{"duplicate customer email", http.MethodPost, "/v1/customers",
				`{"email":"a@example.com","email":"b@example.com"}`, hcErrors("email", duplicate)},
			{"duplicate customer", http.MethodPost, "/v1/chats",
				fmt.Sprintf(`{"customer":%d,"customer":%d}`, f.contact.ID, f.anon.ID), hcErrors("customer", duplicate)},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				before := f.counts(t)
				assertError(t, f.do(t, tt.method, tt.path, f.token, tt.body), 400, tt.want)
				f.assertUnchanged(t, before)
			})
		}
	})
}

// TestLists_UnknownFilters checks that a list or search refuses a
// parameter asking for a filter or sort it does not have, rather than
// answering every row, and lets other parameters through.
func TestLists_UnknownFilters(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st)
		messages := fmt.Sprint("/v1/chats/", f.chat.ID, "/messages")
		refused := []struct {
			name, method, path, body, want string
		}{
			{"sql in sort", http.MethodGet, "/v1/chats?sort=id;DROP", "", hcErrors("sort", "This value is not valid.")},
			{"malformed escape in order", http.MethodGet, "/v1/customers?order=%zz", "", hcErrors("order", "This value is not valid.")},
			{"semicolon on messages", http.MethodGet, messages + "?limit=1;offset=5", "", hcErrors("limit", "This value is not valid.")},
			{"unknown sort", http.MethodGet, "/v1/chats?sort=id", "", hcErrors("sort", choice)},
			{"status as a parameter", http.MethodGet, "/v1/chats?status=closed", "", hcErrors("status", unexpected)},
			{"dotted field", http.MethodGet, "/v1/chats?chats.assignee=1", "", hcErrors("chats.assignee", unexpected)},
			{"filter array", http.MethodGet, "/v1/chats?filter[0][field]=chats.status", "", hcErrors("filter[0][field]", unexpected)},
			{"where", http.MethodGet, "/v1/chats?where=status|eq|closed", "", hcErrors("where", unexpected)},
			{"every one listed", http.MethodGet, "/v1/chats?q=ann&customer=1&sortBy=id&sort=chats.createdAt", "",
				hcErrors("customer", unexpected, "q", unexpected, "sortBy", unexpected)},
			{"customer email as a parameter", http.MethodGet, "/v1/customers?email=ann@example.com", "", hcErrors("email", unexpected)},
			{"customer search word", http.MethodGet, "/v1/customers?search=ann", "", hcErrors("search", unexpected)},
			{"messages in ascending order", http.MethodGet, messages + "?order=asc", "", hcErrors("order", choice)},
			{"messages sorted by another field", http.MethodGet, messages + "?sort=type", "", hcErrors("sort", choice)},
			{"messages filtered by type", http.MethodGet, messages + "?type=private", "", hcErrors("type", unexpected)},
			{"search with filters misspelt", http.MethodPost, "/v1/chats/search",
				`{"filters":[{"field":"chats.status","operator":"=","value":"closed"}]}`, hcErrors("filters", unexpected)},
			{"search with a bare field", http.MethodPost, "/v1/chats/search", `{"status":"closed","where":"x"}`,
				hcErrors("status", unexpected, "where", unexpected)},
			{"customer search with a dotted field", http.MethodPost, "/v1/customers/search", `{"customers.email":"ann@example.com"}`,
				hcErrors("customers.email", unexpected)},
		}
		for _, tt := range refused {
			t.Run(tt.name, func(t *testing.T) {
				assertError(t, f.do(t, tt.method, tt.path, f.readToken, tt.body), 400, tt.want)
			})
		}
		taken := []struct{ name, method, path, body string }{
			{"cache buster", http.MethodGet, "/v1/chats?_=1700000000&utm_source=x", ""},
			{"customers with a cache buster", http.MethodGet, "/v1/customers?_=1", ""},
			{"messages newest first said out loud", http.MethodGet, messages + "?sort=createdAt&order=DESC", ""},
			{"messages sorted by messages.createdAt", http.MethodGet, messages + "?sort=messages.createdAt", ""},
			{"search with an application", http.MethodPost, "/v1/chats/search", `{"application":1,"filter":[]}`},
		}
		for _, tt := range taken {
			t.Run(tt.name, func(t *testing.T) {
				mustOK(t, f.do(t, tt.method, tt.path, f.readToken, tt.body))
			})
		}
	})
}
