package helpcrunch_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"switchboard/auth"
	"switchboard/handlers"
	"switchboard/handlers/apitest"
	"switchboard/handlers/dialect"
	"switchboard/models"
	"switchboard/store"
	"switchboard/store/storetest"
)

// secret signs the fixture's API keys.
var secret = []byte("helpcrunch-test-secret-0123456789abcdef")

// fixture is one account with agents, customers, an offline-message case and
// a chat, a second account with its own, keys of every kind, and the router
// over them.
type fixture struct {
	// srv serves router checked by openapi.yaml (apitest.Wrap), failing the
	// test that made the fixture on any departure; a fuzz target, which must
	// fail its own *testing.T, wraps router itself.
	srv    *httptest.Server
	router http.Handler
	st     *store.Store
	keys   *auth.Keys

	acct, other models.Account
	boss        models.Agent // the first superadmin: the agent the keys act as
	agent       models.Agent
	contact     models.Contact // "Ann Lee", ann@example.com
	anon        models.Contact // no name, email or phone
	offline     models.Case    // an offline message of contact, received at received
	received    time.Time
	chat        store.CaseView // a chat of contact assigned to agent, no messages

	foreignAgent   models.Agent
	foreignContact models.Contact
	foreignCase    models.Case

	sales             models.Department // a department of acct, no chat in it
	foreignDepartment models.Department // a department of other

	token        string // every scope
	readToken    string // read only
	chatToken    string // chat only
	revokedToken string
	expiredToken string
	foreignToken string // a key of the other account
}

func mustFixture(t testing.TB, st *store.Store) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{st: st}
	f.acct = storetest.MustAccount(t, st, "One")
	f.other = storetest.MustAccount(t, st, "Two")
	f.boss = storetest.MustAgent(t, st, f.acct.ID, "boss@example.com", models.RoleSuperadmin, "x")
	f.agent = storetest.MustAgent(t, st, f.acct.ID, "agent@example.com", models.RoleAgent, "x")
	f.foreignAgent = storetest.MustAgent(t, st, f.other.ID, "boss2@example.com", models.RoleSuperadmin, "x")
	f.contact = storetest.MustContact(t, st, f.acct.ID, "Ann Lee", "ann@example.com", "+380501234567")
	f.anon = storetest.MustContact(t, st, f.acct.ID, "", "", "")
	f.foreignContact = storetest.MustContact(t, st, f.other.ID, "Other", "other@example.com", "")
	f.received = time.Date(2020, 10, 28, 11, 49, 6, 0, time.UTC)
	f.offline = storetest.MustOfflineCase(t, st, f.acct.ID, f.contact.ID, "Question", "Hello, anyone?", f.received)
	f.foreignCase = storetest.MustOfflineCase(t, st, f.other.ID, f.foreignContact.ID, "x", "foreign", f.received)
	f.sales = storetest.MustDepartment(t, st, f.acct.ID, "Sales")
	f.foreignDepartment = storetest.MustDepartment(t, st, f.other.ID, "Theirs")
	var err error
	f.chat, err = st.CreateCase(ctx, f.acct.ID, store.NewCase{ContactID: f.contact.ID, AssigneeID: &f.agent.ID})
	if err != nil {
		t.Fatal(err)
	}

	f.keys, err = auth.NewKeys(secret, st, auth.KeysOptions{})
	if err != nil {
		t.Fatal(err)
	}
	f.token = mustKey(t, f.keys, f.acct.ID, auth.KeySpec{Name: "all"})
	f.readToken = mustKey(t, f.keys, f.acct.ID, auth.KeySpec{Name: "read", Scopes: []auth.Scope{auth.ScopeRead}})
	f.chatToken = mustKey(t, f.keys, f.acct.ID, auth.KeySpec{Name: "chat", Scopes: []auth.Scope{auth.ScopeChat}})
	f.foreignToken = mustKey(t, f.keys, f.other.ID, auth.KeySpec{Name: "other"})
	revoked, token, err := f.keys.Issue(ctx, f.acct.ID, auth.KeySpec{Name: "revoked"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.RevokeAPIKey(ctx, revoked.ID); err != nil {
		t.Fatal(err)
	}
	f.revokedToken = token
	// A key issued an hour ago that expired a minute ago, signed with the
	// same secret so that only its expiry is wrong.
	past := time.Now().Add(-time.Hour)
	pastKeys, err := auth.NewKeys(secret, st, auth.KeysOptions{Now: func() time.Time { return past }})
	if err != nil {
		t.Fatal(err)
	}
	expires := time.Now().Add(-time.Minute)
	f.expiredToken = mustKey(t, pastKeys, f.acct.ID, auth.KeySpec{Name: "expired", ExpiresAt: &expires})

	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	f.router = handlers.New(handlers.Config{}, handlers.Deps{Deps: dialect.Deps{Store: st, Keys: f.keys, Log: log}})
	f.srv = httptest.NewServer(apitest.Wrap(t, f.router))
	t.Cleanup(f.srv.Close)
	return f
}

// mustKey issues a key of the account and returns its token.
func mustKey(tb testing.TB, keys *auth.Keys, accountID int64, spec auth.KeySpec) string {
	tb.Helper()
	_, token, err := keys.Issue(context.Background(), accountID, spec)
	if err != nil {
		tb.Fatalf("issue key: %v", err)
	}
	return token
}

type response struct {
	status int
	header http.Header
	body   string
}

// do sends a request with "Authorization: Bearer token" (no header when token
// is empty) and, when body is not empty, the body as JSON.
func (f *fixture) do(t *testing.T, method, path, token, body string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	return f.send(t, method, path, map[string]string{"Authorization": bearer(token)}, rd)
}

func bearer(token string) string {
	if token == "" {
		return ""
	}
	return "Bearer " + token
}

// send sends a request with the headers (empty values are left out).
func (f *fixture) send(t *testing.T, method, path string, headers map[string]string, body io.Reader) response {
	t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		if v != "" {
			req.Header.Set(k, v)
		}
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: string(b)}
}

// mustOK checks that r is a 200 with a JSON body and returns the body decoded.
func mustOK(t *testing.T, r response) map[string]any {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("status = %d, want 200; body %s", r.status, r.body)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q", ct)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(r.body), &m); err != nil {
		t.Fatalf("body is not a JSON object: %v\n%s", err, r.body)
	}
	return m
}

// hcErrors is HelpCrunch's error body with invalid_request and then the
// entries given as code, message pairs.
func hcErrors(pairs ...string) string {
	items := []map[string]string{{"code": "invalid_request", "message": "Invalid request"}}
	for i := 0; i+1 < len(pairs); i += 2 {
		items = append(items, map[string]string{"code": pairs[i], "message": pairs[i+1]})
	}
	b, _ := json.Marshal(map[string]any{"errors": items})
	return string(b)
}

// The bodies every route answers for a bad key and a missing scope.
var (
	unauthorized = hcErrors("unauthorized", "Unauthorized")
	needsChat    = hcErrors("forbidden", `This API key lacks the "chat" scope`)
	needsRead    = hcErrors("forbidden", `This API key lacks the "read" scope`)
)

// The field messages HelpCrunch shows.
const (
	blank    = "This value should not be blank."
	numeric  = "This value should be of type numeric."
	typeStr  = "This value should be of type string."
	choice   = "The value you selected is not a valid choice."
	positive = "This value should be positive."
	// maxOffset is for an offset beyond the largest 64-bit integer.
	maxOffset = "This value should be less than or equal to 9223372036854775807."
)

// assertJSON compares two JSON documents, ignoring formatting and key order.
func assertJSON(t *testing.T, got, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		t.Fatalf("response is not JSON: %v\n%s", err, got)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("want is not JSON: %v\n%s", err, want)
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if string(gb) != string(wb) {
		t.Errorf("body\n got: %s\nwant: %s", gb, wb)
	}
}

// assertError checks a HelpCrunch error response: its status and exact body.
func assertError(t *testing.T, r response, status int, body string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d, want %d; body %s", r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q", ct)
	}
	assertJSON(t, r.body, body)
}

// rowCounts are the rows a bad request must not add to.
type rowCounts struct{ cases, messages, contacts int64 }

func (f *fixture) counts(t *testing.T) rowCounts {
	t.Helper()
	var c rowCounts
	db := f.st.GORM()
	for table, n := range map[string]*int64{"cases": &c.cases, "messages": &c.messages, "contacts": &c.contacts} {
		if err := db.Table(table).Count(n).Error; err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// assertUnchanged fails when the counts differ from before.
func (f *fixture) assertUnchanged(t *testing.T, before rowCounts) {
	t.Helper()
	if after := f.counts(t); after != before {
		t.Errorf("rows changed: before %+v, after %+v", before, after)
	}
}

// unix is HelpCrunch's time string of t.
func unix(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

// agentJSON is the agent object HelpCrunch shows for a.
func agentJSON(a models.Agent) string {
	return fmt.Sprintf(`{"id":%d,"name":%q,"email":%q,"role":%q}`, a.ID, a.FirstName+" "+a.LastName, a.Email, a.Role)
}

// assertRecent checks that a HelpCrunch time string is within a minute of now.
func assertRecent(t *testing.T, name string, v any) {
	t.Helper()
	s, ok := v.(string)
	if !ok {
		t.Fatalf("%s = %v, want a string", name, v)
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatalf("%s = %q, want unix seconds", name, s)
	}
	if d := time.Since(time.Unix(n, 0)); d < -time.Minute || d > time.Minute {
		t.Errorf("%s = %s, %s from now", name, s, d)
	}
}

// id returns the JSON number v as an int64.
func id(t *testing.T, v any) int64 {
	t.Helper()
	n, ok := v.(float64)
	if !ok {
		t.Fatalf("id = %v, want a number", v)
	}
	return int64(n)
}

// mustJSON encodes v.
func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
