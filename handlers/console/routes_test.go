package console_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"switchboard/handlers/console"
	"switchboard/models"
	"switchboard/store"
	"switchboard/store/storetest"
)

// status sends the request with the browser's cookies and returns the
// status and the Location without reading the body (a stream's never
// ends).
func (b *browser) status(method, path string, form url.Values) (int, string) {
	b.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var body *strings.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	} else {
		body = strings.NewReader("")
	}
	req, err := http.NewRequestWithContext(ctx, method, b.f.srv.URL+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode, res.Header.Get("Location")
}

// TestConsole_Routes checks every route Register adds, from the console's
// own list, so that a new route cannot go unchecked: signed out, a page
// goes to the sign-in form and a POST is refused 401; an agent whose role
// is below the route's is refused 403; a POST with a forged CSRF token is
// refused 403 and writes nothing; and a GET by an agent of the right role
// answers 200.
func TestConsole_Routes(t *testing.T) {
	st := storetest.MustOpen(t, store.SQLite)
	f := mustFixture(t, st, console.Config{})
	ctx := context.Background()
	hook, err := st.CreateWebhook(ctx, f.one.ID, store.NewWebhook{URL: "https://hooks.example.com/r", Format: models.FormatStandard,
		Secret: "whsec_c2VjcmV0c2VjcmV0c2VjcmV0"})
	if err != nil {
		t.Fatal(err)
	}
	key, _, err := f.keys.Issue(ctx, f.one.ID, authSpec())
	if err != nil {
		t.Fatal(err)
	}
	cs := fmt.Sprintf("/console/cases/%d", f.annCase.ID)
	// paths has a concrete path for each route, by "METHOD pattern".
	paths := map[string]string{
		"GET /console":                                    "/console",
		"GET /console/login":                              "/console/login",
		"POST /console/login":                             "/console/login",
		"POST /console/logout":                            "/console/logout",
		"GET /console/inbox":                              "/console/inbox",
		"GET /console/unread":                             "/console/unread",
		"GET /console/events":                             "/console/events",
		"GET /console/cases/:id":                          cs,
		"GET /console/cases/:id/messages":                 cs + "/messages",
		"POST /console/cases/:id/reply":                   cs + "/reply",
		"POST /console/cases/:id/note":                    cs + "/note",
		"POST /console/cases/:id/status":                  cs + "/status",
		"POST /console/cases/:id/assign":                  cs + "/assign",
		"POST /console/cases/:id/messages/:message/retry": cs + "/messages/1/retry",
		"GET /console/offline":                            "/console/offline",
		"GET /console/assets/:name":                       "/console/assets/console.css",
		"GET /console/admin":                              "/console/admin",
		"POST /console/admin/keys":                        "/console/admin/keys",
		"POST /console/admin/keys/:key/revoke":            "/console/admin/keys/" + key.ID + "/revoke",
		"POST /console/admin/agents":                      "/console/admin/agents",
		"POST /console/admin/agents/:agent":               fmt.Sprintf("/console/admin/agents/%d", f.agent.ID),
		"POST /console/admin/inboxes":                     "/console/admin/inboxes",
		"POST /console/admin/webhooks":                    "/console/admin/webhooks",
		"POST /console/admin/webhooks/:webhook/disable":   fmt.Sprintf("/console/admin/webhooks/%d/disable", hook.ID),
		"GET /console/admin/webhooks/:webhook/failed":     fmt.Sprintf("/console/admin/webhooks/%d/failed", hook.ID),
	}
	// A form that each POST would accept, but for its token.
	forms := map[string]url.Values{
		"POST /console/login":                           {"email": {"boss@example.com"}, "password": {password}},
		"POST /console/cases/:id/reply":                 {"text": {"forged reply"}},
		"POST /console/cases/:id/note":                  {"text": {"forged note"}},
		"POST /console/cases/:id/status":                {"status": {"closed"}},
		"POST /console/cases/:id/assign":                {"agent_id": {fmt.Sprint(f.boss.ID)}},
		"POST /console/admin/keys":                      {"name": {"forged"}},
		"POST /console/admin/agents":                    {"email": {"forged@example.com"}, "password": {"forged-password"}, "role": {"agent"}},
		"POST /console/admin/agents/:agent":             {"role": {"superadmin"}, "enabled": {"true"}},
		"POST /console/admin/inboxes":                   {"kind": {"email"}, "address": {"forged@example.com"}},
		"POST /console/admin/webhooks":                  {"url": {"https://hooks.example.com/forged"}, "format": {"standard"}},
		"POST /console/admin/webhooks/:webhook/disable": {},
	}

	roles := map[console.RouteAccess]int{"public": 0, "agents": 1, "admins": 2, "superadmins": 3}
	agent := f.browser(t)
	agent.signIn("agent@example.com")
	boss := f.browser(t)
	boss.signIn("boss@example.com")
	seen := map[string]bool{}
	for _, r := range console.Routes() {
		name := r.Method + " " + r.Path
		seen[name] = true
		path, ok := paths[name]
		if !ok {
			t.Errorf("route %s (%s) has no path in this test: add it", name, r.Access)
			continue
		}
		t.Run(name, func(t *testing.T) {
			if r.Access != "public" {
				t.Run("SignedOut", func(t *testing.T) {
					code, loc := f.browser(t).status(r.Method, path, url.Values{})
					switch {
					case r.Method == http.MethodPost && code != http.StatusUnauthorized:
						t.Errorf("got %d, want 401", code)
					case r.Method == http.MethodGet && r.Path == "/console/events" && code != http.StatusSeeOther && code != http.StatusUnauthorized:
						t.Errorf("got %d, want the sign-in form or 401", code)
					case r.Method == http.MethodGet && r.Path != "/console/events" && (code != http.StatusSeeOther || !strings.HasPrefix(loc, "/console/login?next=")):
						t.Errorf("got %d to %q, want 303 to the sign-in form", code, loc)
					}
				})
			}
			if roles[r.Access] > roles["agents"] {
				t.Run("RoleBelow403", func(t *testing.T) {
					form := url.Values{"csrf": {agent.csrf}}
					if r.Method == http.MethodGet {
						form = nil
					}
					if code, _ := agent.status(r.Method, path, form); code != http.StatusForbidden {
						t.Errorf("an agent got %d, want 403", code)
					}
				})
			}
			switch r.Method {
			case http.MethodPost:
				t.Run("ForgedCSRF403", func(t *testing.T) {
					form := url.Values{}
					for k, v := range forms[name] {
						form[k] = v
					}
					form.Set("csrf", "forged")
					b := boss
					if r.Access == "public" {
						b = f.browser(t)
						b.get("/console/login")
					}
					before := mustWrites(t, st)
					b.do(http.MethodPost, path, form, nil).want(t, http.StatusForbidden, "security token")
					if after := mustWrites(t, st); after != before {
						t.Errorf("the refused POST wrote: %s, then %s", before, after)
					}
					if r.Path == "/console/logout" {
						boss.get("/console").want(t, http.StatusOK, "Inbox")
					}
				})
			case http.MethodGet:
				t.Run("OK", func(t *testing.T) {
					if code, loc := boss.status(http.MethodGet, path, nil); code != http.StatusOK {
						t.Errorf("a superadmin got %d (to %q), want 200", code, loc)
					}
				})
			}
		})
	}
	for name := range paths {
		if !seen[name] {
			t.Errorf("this test has a path for %s, which is no route", name)
		}
	}
}

// mustWrites returns a digest of what the console's POSTs write: the rows
// of the tables they write to, and the cases' status and assignee.
func mustWrites(t testing.TB, st *store.Store) string {
	t.Helper()
	var out []string
	for _, q := range []string{
		"SELECT COUNT(*) FROM messages", "SELECT COUNT(*) FROM agents", "SELECT COUNT(*) FROM api_keys",
		"SELECT COUNT(*) FROM api_keys WHERE revoked_at IS NOT NULL", "SELECT COUNT(*) FROM inboxes",
		"SELECT COUNT(*) FROM webhooks", "SELECT COUNT(*) FROM webhooks WHERE status = 'disabled'",
		"SELECT COUNT(*) FROM console_sessions", "SELECT COUNT(*) FROM cases WHERE status = 'closed' OR assignee_id IS NOT NULL",
		"SELECT COUNT(*) FROM agents WHERE role = 'superadmin'",
	} {
		var n int64
		if err := st.GORM().Raw(q).Scan(&n).Error; err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		out = append(out, fmt.Sprint(n))
	}
	return strings.Join(out, "/")
}
