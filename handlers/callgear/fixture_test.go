package callgear_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the fixture account's zone must resolve without a system zoneinfo, as in the binary

	"golang.org/x/crypto/bcrypt"

	"switchboard/auth"
	"switchboard/handlers"
	"switchboard/handlers/callgear"
	"switchboard/handlers/dialect"
	"switchboard/models"
	"switchboard/store"
	"switchboard/store/storetest"
)

// secret signs the fixture's API keys.
var secret = []byte("callgear-test-secret-0123456789abcdef")

// password is every fixture agent's password.
const password = "s3cret-password"

// timezone is the first account's time zone: CallGear's times are read in it.
const timezone = "Europe/Kyiv"

// bodyLimit is the fixture router's CallGear body limit, small enough to
// cross in a test.
const bodyLimit = "1M"

// fixture is one account (in timezone) with agents, sites, campaigns and a
// visitor session, a second account with its own, keys of every kind, and
// the real router over them.
type fixture struct {
	srv  *httptest.Server // the router, checked against openapi.yaml (specChecked)
	h    http.Handler     // the router itself
	st   *store.Store
	keys *auth.Keys
	loc  *time.Location

	acct, other  models.Account
	boss         models.Agent // superadmin: REVE's Basic login and the keys' agent
	agent        models.Agent // an employee for chat messages
	admin        models.Agent // an admin
	foreignAgent models.Agent

	site, site2      models.Site
	campaign         models.Campaign // of site
	campaign2        models.Campaign // of site2
	session          models.VisitorSession
	sessionStart     time.Time // session's start
	foreignSite      models.Site
	foreignCampaign  models.Campaign
	foreignSession   models.VisitorSession
	notUploaded      models.Case // an offline message written another way
	token, readToken string      // every scope; read only
	revokedToken     string
	expiredSession   string // a login.user session that has expired
	foreignToken     string // a key of the other account
}

func mustFixture(tb testing.TB, st *store.Store) *fixture {
	tb.Helper()
	ctx := context.Background()
	f := &fixture{st: st}
	h := auth.Hasher{Cost: bcrypt.MinCost}
	hash, err := h.Hash(password)
	if err != nil {
		tb.Fatal(err)
	}
	f.acct, err = st.CreateAccount(ctx, store.NewAccount{Name: "One", Timezone: timezone})
	if err != nil {
		tb.Fatal(err)
	}
	if f.loc, err = time.LoadLocation(timezone); err != nil {
		tb.Fatal(err)
	}
	f.other = storetest.MustAccount(tb, st, "Two")
	f.boss = storetest.MustAgent(tb, st, f.acct.ID, "boss@example.com", models.RoleSuperadmin, hash)
	f.agent = storetest.MustAgent(tb, st, f.acct.ID, "agent@example.com", models.RoleAgent, hash)
	f.admin = storetest.MustAgent(tb, st, f.acct.ID, "admin@example.com", models.RoleAdmin, hash)
	f.foreignAgent = storetest.MustAgent(tb, st, f.other.ID, "boss2@example.com", models.RoleSuperadmin, hash)

	f.site = mustSite(tb, st, f.acct.ID, "shop.example.com")
	f.site2 = mustSite(tb, st, f.acct.ID, "blog.example.com")
	f.campaign = mustCampaign(tb, st, f.acct.ID, f.site.ID, "Spring sale")
	f.campaign2 = mustCampaign(tb, st, f.acct.ID, f.site2.ID, "Blog ads")
	f.sessionStart = time.Date(2024, 1, 1, 8, 0, 0, 0, time.UTC)
	f.session = mustSession(tb, st, f.acct.ID, store.NewVisitorSession{SiteID: f.site.ID, CampaignID: &f.campaign.ID, StartedAt: f.sessionStart})
	f.foreignSite = mustSite(tb, st, f.other.ID, "other.example.com")
	f.foreignCampaign = mustCampaign(tb, st, f.other.ID, f.foreignSite.ID, "Other")
	f.foreignSession = mustSession(tb, st, f.other.ID, store.NewVisitorSession{SiteID: f.foreignSite.ID, StartedAt: f.sessionStart})
	contact := storetest.MustContact(tb, st, f.acct.ID, "Ann Lee", "ann@example.com", "")
	f.notUploaded = storetest.MustOfflineCase(tb, st, f.acct.ID, contact.ID, "Question", "Hello?", f.sessionStart)

	// Rows are read on every check, so that a logout takes effect at once.
	f.keys, err = auth.NewKeys(secret, st, auth.KeysOptions{CacheTTL: time.Nanosecond})
	if err != nil {
		tb.Fatal(err)
	}
	f.token = mustKey(tb, f.keys, f.acct.ID, auth.KeySpec{Name: "permanent"})
	f.readToken = mustKey(tb, f.keys, f.acct.ID, auth.KeySpec{Name: "read", Scopes: []auth.Scope{auth.ScopeRead, auth.ScopeChat}})
	f.foreignToken = mustKey(tb, f.keys, f.other.ID, auth.KeySpec{Name: "other"})
	revoked, token, err := f.keys.Issue(ctx, f.acct.ID, auth.KeySpec{Name: "revoked"})
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := st.RevokeAPIKey(ctx, revoked.ID); err != nil {
		tb.Fatal(err)
	}
	f.revokedToken = token
	// A session issued two hours ago that ended an hour ago, signed with the
	// same secret so that only its expiry is wrong.
	past := time.Now().Add(-2 * time.Hour)
	pastKeys, err := auth.NewKeys(secret, st, auth.KeysOptions{Now: func() time.Time { return past }})
	if err != nil {
		tb.Fatal(err)
	}
	expires := past.Add(time.Hour)
	f.expiredSession = mustKey(tb, pastKeys, f.acct.ID, auth.KeySpec{AgentID: &f.boss.ID, Name: callgear.SessionKeyName,
		Kind: models.KeySession, Scopes: auth.RoleScopes(models.RoleSuperadmin), ExpiresAt: &expires})

	basic, err := auth.NewBasic(st, auth.BasicOptions{Hasher: h})
	if err != nil {
		tb.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	e := handlers.New(handlers.Config{CallGear: callgear.Config{BodyLimit: bodyLimit}},
		handlers.Deps{Deps: dialect.Deps{Store: st, Passwords: basic, Keys: f.keys, Log: log}})
	f.h = e
	f.srv = httptest.NewServer(specChecked(tb, e))
	tb.Cleanup(f.srv.Close)
	return f
}

// mustSite creates a site of the account.
func mustSite(tb testing.TB, st *store.Store, accountID int64, domain string) models.Site {
	tb.Helper()
	s, err := st.CreateSite(context.Background(), accountID, domain)
	if err != nil {
		tb.Fatalf("create site: %v", err)
	}
	return s
}

// mustCampaign creates a campaign of the site.
func mustCampaign(tb testing.TB, st *store.Store, accountID, siteID int64, name string) models.Campaign {
	tb.Helper()
	c, err := st.CreateCampaign(context.Background(), accountID, siteID, name)
	if err != nil {
		tb.Fatalf("create campaign: %v", err)
	}
	return c
}

// mustSession creates a visitor session.
func mustSession(tb testing.TB, st *store.Store, accountID int64, in store.NewVisitorSession) models.VisitorSession {
	tb.Helper()
	v, err := st.CreateVisitorSession(context.Background(), accountID, in)
	if err != nil {
		tb.Fatalf("create visitor session: %v", err)
	}
	return v
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

// post sends body to the CallGear endpoint.
func (f *fixture) post(tb testing.TB, body string) response {
	tb.Helper()
	return f.send(tb, http.MethodPost, callgear.Path, nil, strings.NewReader(body))
}

// call sends a JSON-RPC request of the method with the params and id 1.
func (f *fixture) call(tb testing.TB, method string, params map[string]any) response {
	tb.Helper()
	return f.post(tb, mustJSON(tb, map[string]any{"jsonrpc": "2.0", "id": 1, "method": method, "params": params}))
}

// send sends a request with the headers to the router.
func (f *fixture) send(tb testing.TB, method, path string, headers map[string]string, body io.Reader) response {
	tb.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, body)
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: string(b)}
}

// rpcProblem is one entry of data.params, and the data of an error.
type rpcProblem struct {
	Field    string `json:"field"`
	Mnemonic string `json:"mnemonic"`
	Message  string `json:"message"`
	Value    any    `json:"value"`
}

// rpcResponse is a JSON-RPC response as a client reads it.
type rpcResponse struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Result  json.RawMessage `json:"result"`
	Error   *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Data    struct {
			rpcProblem
			Params []rpcProblem `json:"params"`
		} `json:"data"`
	} `json:"error"`
}

// mustRPC checks that r is a JSON-RPC response with the status and
// CallGear's Content-Type, and returns it decoded.
func mustRPC(tb testing.TB, r response, status int) rpcResponse {
	tb.Helper()
	if r.status != status {
		tb.Fatalf("status = %d, want %d; body %s", r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json; charset=UTF-8" {
		tb.Errorf("Content-Type = %q", ct)
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal([]byte(r.body), &keys); err != nil {
		tb.Fatalf("body is not a JSON object: %v\n%s", err, r.body)
	}
	_, hasResult := keys["result"]
	_, hasError := keys["error"]
	if _, hasID := keys["id"]; !hasID || hasResult == hasError {
		tb.Fatalf("not a JSON-RPC response (id, and one of result and error): %s", r.body)
	}
	var res rpcResponse
	if err := json.Unmarshal([]byte(r.body), &res); err != nil {
		tb.Fatalf("decode %s: %v", r.body, err)
	}
	if res.JSONRPC != "2.0" {
		tb.Errorf("jsonrpc = %q", res.JSONRPC)
	}
	return res
}

// assertError checks a JSON-RPC error answer: HTTP status, code, mnemonic and
// field (empty: no field), and returns it.
func assertError(tb testing.TB, r response, status, code int, mnemonic, field string) rpcResponse {
	tb.Helper()
	res := mustRPC(tb, r, status)
	if res.Error == nil {
		tb.Fatalf("want error %d %s %s, got result %s", code, mnemonic, field, res.Result)
	}
	d := res.Error.Data
	if res.Error.Code != code || d.Mnemonic != mnemonic || d.Field != field {
		tb.Errorf("error = %d %s field %q (%s), want %d %s field %q; body %s",
			res.Error.Code, d.Mnemonic, d.Field, res.Error.Message, code, mnemonic, field, r.body)
	}
	if res.Error.Message == "" {
		tb.Errorf("empty message: %s", r.body)
	}
	return res
}

// mustResult checks a successful answer with id 1 and returns its data; the
// metadata must be an object.
func mustResult(tb testing.TB, r response) json.RawMessage {
	tb.Helper()
	res := mustRPC(tb, r, http.StatusOK)
	if res.Error != nil {
		tb.Fatalf("want a result, got error %s", r.body)
	}
	if string(res.ID) != "1" {
		tb.Errorf("id = %s, want 1", res.ID)
	}
	var out struct {
		Data     json.RawMessage `json:"data"`
		Metadata map[string]any  `json:"metadata"`
	}
	if err := json.Unmarshal(res.Result, &out); err != nil || out.Metadata == nil || out.Data == nil {
		tb.Fatalf("result is not {data, metadata:{}}: %s", res.Result)
	}
	return out.Data
}

// mustIDs checks a successful upload or delete and returns its ids in order.
func mustIDs(tb testing.TB, r response) []int64 {
	tb.Helper()
	var data []struct {
		ID int64 `json:"id"`
	}
	if err := json.Unmarshal(mustResult(tb, r), &data); err != nil {
		tb.Fatalf("data is not [{id}]: %v; body %s", err, r.body)
	}
	ids := make([]int64, len(data))
	for i, d := range data {
		ids[i] = d.ID
	}
	return ids
}

// rowCounts are the rows a refused request must not add to or delete.
type rowCounts struct{ cases, messages, contacts int64 }

func (f *fixture) counts(tb testing.TB) rowCounts {
	tb.Helper()
	var c rowCounts
	db := f.st.GORM()
	for table, n := range map[string]*int64{"cases": &c.cases, "messages": &c.messages, "contacts": &c.contacts} {
		if err := db.Table(table).Count(n).Error; err != nil {
			tb.Fatal(err)
		}
	}
	return c
}

// assertUnchanged fails when the counts differ from before.
func (f *fixture) assertUnchanged(tb testing.TB, before rowCounts) {
	tb.Helper()
	if after := f.counts(tb); after != before {
		tb.Errorf("rows changed: before %+v, after %+v", before, after)
	}
}

// mustJSON encodes v.
func mustJSON(tb testing.TB, v any) string {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

// obj is a JSON object under construction.
type obj = map[string]any

// with returns a copy of o with the members set; a nil value removes the member.
func with(o obj, kv ...any) obj {
	out := maps.Clone(o)
	for i := 0; i+1 < len(kv); i += 2 {
		k := kv[i].(string)
		if kv[i+1] == nil {
			delete(out, k)
			continue
		}
		out[k] = kv[i+1]
	}
	return out
}

// raw is a JSON value written as it is (a number too large for Go, a fraction).
type raw string

func (r raw) MarshalJSON() ([]byte, error) { return []byte(r), nil }

// local returns CallGear's text of t in the first account's time zone.
func (f *fixture) local(t time.Time) string { return t.In(f.loc).Format("2006-01-02 15:04:05") }

// offlineItem is a valid offline message of the first account.
func (f *fixture) offlineItem() obj {
	return obj{"date_time": "2024-03-05 14:30:00", "name": "Bob", "phone": "+14155550100", "email": "bob@example.com",
		"message": "Do you ship to Riga?", "site_id": f.site.ID, "form_name": "Contact us"}
}

// chatItem is a valid chat of the first account, with a visitor's and an
// operator's message.
func (f *fixture) chatItem() obj {
	return obj{"start_date_time": "2024-03-05 14:30:00", "name": "Bob", "email": "bob@example.com", "status": "lost",
		"site_id": f.site.ID, "messages": []any{
			obj{"date_time": "2024-03-05 14:30:10", "source": "visitor", "message": "Hello?"},
			obj{"date_time": "2024-03-05 14:31:00", "source": "operator", "employee_id": f.agent.ID, "message": "Hi, how can I help?"},
		}}
}

// items returns n copies of item.
func items(n int, item obj) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = item
	}
	return out
}

// basicGet sends a GET with REVE's Basic credentials of the superadmin.
func (f *fixture) basicGet(tb testing.TB, path string) response {
	tb.Helper()
	req, err := http.NewRequest(http.MethodGet, f.srv.URL+path, nil)
	if err != nil {
		tb.Fatal(err)
	}
	req.SetBasicAuth(f.boss.Email, password)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: string(b)}
}

// bearerGet sends a GET with the bearer token.
func (f *fixture) bearerGet(tb testing.TB, path, token string) response {
	tb.Helper()
	return f.send(tb, http.MethodGet, path, map[string]string{"Authorization": "Bearer " + token}, nil)
}

// decode decodes r's body into v, failing unless r is a 200.
func decode(tb testing.TB, r response, v any) {
	tb.Helper()
	if r.status != http.StatusOK {
		tb.Fatalf("status = %d, want 200; body %s", r.status, r.body)
	}
	if err := json.Unmarshal([]byte(r.body), v); err != nil {
		tb.Fatalf("decode %s: %v", r.body, err)
	}
}

// path formats a route path.
func path(format string, args ...any) string { return fmt.Sprintf(format, args...) }
