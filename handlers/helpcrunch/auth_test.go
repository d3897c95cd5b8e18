package helpcrunch_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"switchboard/store"
	"switchboard/store/storetest"
)

// route is one HelpCrunch route with a body that succeeds with a good key.
type route struct {
	method, path, body string
	scope              string // the scope it needs
}

func (f *fixture) routes() []route {
	return []route{
		{http.MethodPost, "/v1/messages", fmt.Sprintf(`{"chat":%d,"text":"hi","type":"message"}`, f.chat.ID), "chat"},
		{http.MethodGet, "/v1/chats", "", "read"},
		{http.MethodPost, "/v1/chats", fmt.Sprintf(`{"customer":%d}`, f.contact.ID), "chat"},
		{http.MethodPost, "/v1/chats/search", `{"filter":[]}`, "read"},
		{http.MethodPut, "/v1/chats/status", fmt.Sprintf(`{"id":%d,"status":"pending"}`, f.chat.ID), "chat"},
		{http.MethodGet, fmt.Sprint("/v1/chats/", f.chat.ID), "", "read"},
		{http.MethodGet, fmt.Sprint("/v1/chats/", f.chat.ID, "/messages"), "", "read"},
		{http.MethodGet, "/v1/customers", "", "read"},
		{http.MethodPost, "/v1/customers", `{"name":"New One"}`, "chat"},
		{http.MethodPost, "/v1/customers/search", `{"filter":[]}`, "read"},
		{http.MethodGet, fmt.Sprint("/v1/customers/", f.contact.ID), "", "read"},
		{http.MethodGet, "/v1/agents", "", "read"},
		{http.MethodGet, fmt.Sprint("/v1/agents/", f.agent.ID), "", "read"},
		{http.MethodGet, "/v1/departments", "", "read"},
		{http.MethodPut, "/v1/chats/assignee", fmt.Sprintf(`{"id":%d,"assignee":%d}`, f.chat.ID, f.boss.ID), "chat"},
		{http.MethodPut, "/v1/chats/department", fmt.Sprintf(`{"id":%d,"department":%d}`, f.chat.ID, f.sales.ID), "chat"},
		{http.MethodPut, "/v1/chats/snooze", fmt.Sprintf(`{"id":%d,"snoozedUntil":null}`, f.chat.ID), "chat"},
		{http.MethodPut, fmt.Sprint("/v1/chats/", f.chat.ID, "/status"), `{"status":"pending"}`, "chat"},
		{http.MethodPut, fmt.Sprint("/v1/chats/", f.chat.ID, "/assignee"), `{"assignee":null}`, "chat"},
		{http.MethodPut, fmt.Sprint("/v1/chats/", f.chat.ID, "/department"), `{"department":null}`, "chat"},
	}
}

func TestAuth_EveryRoute(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st)
		bad := []struct {
			name, header string
		}{
			{"no header", ""},
			{"wrong scheme", "Basic " + f.token},
			{"scheme only", "Bearer"},
			{"empty token", "Bearer   "},
			{"token with a space", "Bearer " + f.token + " x"},
			{"garbage token", "Bearer not-a-token"},
			{"tampered token", "Bearer " + f.token[:len(f.token)-2] + "xx"},
			{"revoked key", "Bearer " + f.revokedToken},
			{"expired key", "Bearer " + f.expiredToken},
		}
		for _, rt := range f.routes() {
			t.Run(rt.method+" "+rt.path, func(t *testing.T) {
				for _, b := range bad {
					t.Run(b.name, func(t *testing.T) {
						before := f.counts(t)
						r := f.send(t, rt.method, rt.path, map[string]string{"Authorization": b.header}, strings.NewReader(rt.body))
						assertError(t, r, http.StatusUnauthorized, unauthorized)
						f.assertUnchanged(t, before)
					})
				}
				t.Run("missing scope", func(t *testing.T) {
					token, want := f.readToken, needsChat
					if rt.scope == "read" {
						token, want = f.chatToken, needsRead
					}
					before := f.counts(t)
					assertError(t, f.do(t, rt.method, rt.path, token, rt.body), http.StatusForbidden, want)
					f.assertUnchanged(t, before)
				})
				t.Run("scheme is case-insensitive", func(t *testing.T) {
					r := f.send(t, rt.method, rt.path, map[string]string{"Authorization": "bearer " + f.token}, strings.NewReader(rt.body))
					mustOK(t, r)
				})
			})
		}
	})
}

// TestAuth_DatabaseGone checks that a database failure is a 503 in
// HelpCrunch's format, with Retry-After, whether the key was cached or not.
func TestAuth_DatabaseGone(t *testing.T) {
	st := storetest.MustOpen(t, store.SQLite)
	f := mustFixture(t, st)
	mustOK(t, f.do(t, http.MethodGet, "/v1/chats", f.token, ""))
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	for _, token := range []string{f.token, f.readToken} {
		r := f.do(t, http.MethodGet, "/v1/chats", token, "")
		assertError(t, r, http.StatusServiceUnavailable,
			hcErrors("service_unavailable", "Service is temporarily unavailable. Retry after the number of seconds in Retry-After; send a write again with the same Idempotency-Key header so that it is not made twice"))
		if r.header.Get("Retry-After") != "1" {
			t.Errorf("Retry-After = %q", r.header.Get("Retry-After"))
		}
	}
}
