package acquire_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
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

// fixture is one account with cases in every state, a second account, keys
// with every scope set and state, and the real router over them.
type fixture struct {
	srv *httptest.Server // h checked by openapi.yaml (apitest.Wrap)
	h   http.Handler     // the router itself: wrap it with apitest.Wrap
	st  *store.Store

	agent, boss   models.Agent // agent is the full key's agent
	other         models.Agent // agent of the second account
	contact, anon models.Contact

	// off0 and off1 are offline cases received in 2021; open, assigned and
	// closed are chat or email cases created now, in that order.
	off0, off1, open, assigned, closed models.Case
	foreign                            models.Case // a case of the second account

	// The first account's email inbox and SMS number, and the second's.
	mailbox, number, otherMailbox, otherNumber models.Inbox

	full, chatOnly, readOnly, emailOnly, smsOnly, revoked, expired, otherKey string

	keys *auth.Keys // the keys' checker, for a router with other settings
}

// The times the offline cases were received.
var (
	off0At = time.Date(2021, 3, 30, 16, 4, 10, 0, time.UTC)
	off1At = time.Date(2021, 3, 31, 10, 0, 0, 123_000_000, time.UTC)
)

func mustFixture(tb testing.TB, st *store.Store) *fixture {
	tb.Helper()
	ctx := context.Background()
	f := &fixture{st: st}
	a1 := storetest.MustAccount(tb, st, "One")
	a2 := storetest.MustAccount(tb, st, "Two")
	f.boss = storetest.MustAgent(tb, st, a1.ID, "boss@example.com", models.RoleSuperadmin, "x")
	f.agent = storetest.MustAgent(tb, st, a1.ID, "agent@example.com", models.RoleAgent, "x")
	f.other = storetest.MustAgent(tb, st, a2.ID, "boss2@example.com", models.RoleSuperadmin, "x")
	f.contact = storetest.MustContact(tb, st, a1.ID, "Ann Lee", "ann@example.com", "+14155550100")
	f.anon = storetest.MustContact(tb, st, a1.ID, "", "", "")

	f.off0 = storetest.MustOfflineCase(tb, st, a1.ID, f.anon.ID, "Offline one", "hello", off0At)
	f.off1 = storetest.MustOfflineCase(tb, st, a1.ID, f.contact.ID, "Pricing question", "how much?", off1At)
	f.open = mustCase(tb, st, a1.ID, store.NewCase{ContactID: f.contact.ID, Subject: "#1 has just started a chat"})
	f.assigned = mustCase(tb, st, a1.ID, store.NewCase{ContactID: f.contact.ID, Channel: models.ChannelEmail, Subject: "Billing", AssigneeID: &f.boss.ID})
	f.closed = mustCase(tb, st, a1.ID, store.NewCase{ContactID: f.anon.ID, Subject: "Closed chat"})
	storetest.MustReply(tb, st, a1.ID, f.closed.ID, f.boss.ID, "bye", time.Time{})
	if _, err := st.SetCaseStatus(ctx, a1.ID, f.closed.ID, models.StatusClosed, &f.agent.ID); err != nil {
		tb.Fatal(err)
	}
	fc := storetest.MustContact(tb, st, a2.ID, "Foreign", "", "")
	f.foreign = mustCase(tb, st, a2.ID, store.NewCase{ContactID: fc.ID, Subject: "theirs"})
	f.mailbox = mustInbox(tb, st, a1.ID, models.InboxEmail, "support@example.com")
	f.number = mustInbox(tb, st, a1.ID, models.InboxSMS, "+14155550199")
	f.otherMailbox = mustInbox(tb, st, a2.ID, models.InboxEmail, "help@two.example.com")
	f.otherNumber = mustInbox(tb, st, a2.ID, models.InboxSMS, "+14155550188")

	secret := bytes.Repeat([]byte("s"), auth.MinSecretLen)
	keys, err := auth.NewKeys(secret, st, auth.KeysOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	issue := func(k *auth.Keys, account int64, spec auth.KeySpec) (models.APIKey, string) {
		tb.Helper()
		key, token, err := k.Issue(ctx, account, spec)
		if err != nil {
			tb.Fatalf("issue key: %v", err)
		}
		return key, token
	}
	_, f.full = issue(keys, a1.ID, auth.KeySpec{AgentID: &f.agent.ID, Name: "full"})
	_, f.chatOnly = issue(keys, a1.ID, auth.KeySpec{AgentID: &f.agent.ID, Scopes: []auth.Scope{auth.ScopeChat}})
	_, f.readOnly = issue(keys, a1.ID, auth.KeySpec{AgentID: &f.agent.ID, Scopes: []auth.Scope{auth.ScopeRead}})
	_, f.emailOnly = issue(keys, a1.ID, auth.KeySpec{AgentID: &f.agent.ID, Scopes: []auth.Scope{auth.ScopeEmail}})
	_, f.smsOnly = issue(keys, a1.ID, auth.KeySpec{AgentID: &f.agent.ID, Scopes: []auth.Scope{auth.ScopeSMS}})
	rk, token := issue(keys, a1.ID, auth.KeySpec{AgentID: &f.agent.ID, Name: "revoked"})
	if _, err := st.RevokeAPIKey(ctx, rk.ID); err != nil {
		tb.Fatal(err)
	}
	f.revoked = token
	// A key that expired an hour ago, issued by a clock two hours behind.
	past, err := auth.NewKeys(secret, st, auth.KeysOptions{Now: func() time.Time { return time.Now().Add(-2 * time.Hour) }})
	if err != nil {
		tb.Fatal(err)
	}
	exp := time.Now().Add(-time.Hour)
	_, f.expired = issue(past, a1.ID, auth.KeySpec{AgentID: &f.agent.ID, ExpiresAt: &exp})
	_, f.otherKey = issue(keys, a2.ID, auth.KeySpec{})
	f.keys = keys

	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	f.h = handlers.New(handlers.Config{}, handlers.Deps{Deps: dialect.Deps{Store: st, Keys: keys, Log: log}})
	if t, ok := tb.(*testing.T); ok {
		f.srv = httptest.NewServer(apitest.Wrap(t, f.h))
		t.Cleanup(f.srv.Close)
	}
	return f
}

func mustCase(tb testing.TB, st *store.Store, accountID int64, in store.NewCase) models.Case {
	tb.Helper()
	v, err := st.CreateCase(context.Background(), accountID, in)
	if err != nil {
		tb.Fatalf("create case: %v", err)
	}
	return v.Case
}

func mustInbox(tb testing.TB, st *store.Store, accountID int64, kind models.InboxKind, address string) models.Inbox {
	tb.Helper()
	in, err := st.CreateInbox(context.Background(), accountID, kind, address)
	if err != nil {
		tb.Fatalf("create inbox: %v", err)
	}
	return in
}

// mustCaseView reads a case as the store shows it now.
func (f *fixture) mustCaseView(tb testing.TB, c models.Case) store.CaseView {
	tb.Helper()
	v, err := f.st.Case(context.Background(), c.AccountID, c.ID)
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

// counts returns the numbers of messages and cases in the store.
func (f *fixture) counts(tb testing.TB) (messages, cases int64) {
	tb.Helper()
	db := f.st.GORM()
	if err := db.Model(&models.Message{}).Count(&messages).Error; err != nil {
		tb.Fatal(err)
	}
	if err := db.Model(&models.Case{}).Count(&cases).Error; err != nil {
		tb.Fatal(err)
	}
	return messages, cases
}

// deliveries returns the number of rows in the outbox.
func (f *fixture) deliveries(tb testing.TB) int64 {
	tb.Helper()
	var n int64
	if err := f.st.GORM().Model(&models.Delivery{}).Count(&n).Error; err != nil {
		tb.Fatal(err)
	}
	return n
}

// writes returns the numbers of messages, cases and deliveries, to tell
// whether a request wrote anything.
func (f *fixture) writes(tb testing.TB) [3]int64 {
	tb.Helper()
	m, c := f.counts(tb)
	return [3]int64{m, c, f.deliveries(tb)}
}

// mustDelivery returns the outbox row of a message, or nil when it has none.
func (f *fixture) mustDelivery(tb testing.TB, messageID int64) *models.Delivery {
	tb.Helper()
	var ds []models.Delivery
	if err := f.st.GORM().Where("message_id = ?", messageID).Find(&ds).Error; err != nil {
		tb.Fatal(err)
	}
	if len(ds) == 0 {
		return nil
	}
	return &ds[0]
}

type response struct {
	status int
	header http.Header
	body   string
}

// request is one call: Token goes in "Authorization: Bearer"; a Body goes
// with "Content-Type: application/json", as Acquire's clients send it; Header
// adds more headers or replaces that one; Query is appended to Path.
type request struct {
	Method, Path string
	Query        url.Values
	Token        string
	Header       map[string]string
	Body         io.Reader
}

func (f *fixture) do(tb testing.TB, r request) response {
	tb.Helper()
	u := f.srv.URL + r.Path
	if len(r.Query) > 0 {
		u += "?" + r.Query.Encode()
	}
	req, err := http.NewRequest(r.Method, u, r.Body)
	if err != nil {
		tb.Fatal(err)
	}
	if r.Token != "" {
		req.Header.Set("Authorization", "Bearer "+r.Token)
	}
	if r.Body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range r.Header {
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

func (f *fixture) get(tb testing.TB, path, token string, q url.Values) response {
	tb.Helper()
	return f.do(tb, request{Method: http.MethodGet, Path: path, Query: q, Token: token})
}

func acquireError(typ, msg string) string {
	b, _ := json.Marshal(map[string]any{"error": map[string]any{"type": typ, "message": msg}})
	return string(b)
}

// assertJSON compares two JSON documents, ignoring formatting and key order.
func assertJSON(tb testing.TB, got, want string) {
	tb.Helper()
	var g, w any
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		tb.Fatalf("response is not JSON: %v\n%s", err, got)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		tb.Fatalf("want is not JSON: %v\n%s", err, want)
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if string(gb) != string(wb) {
		tb.Errorf("body\n got: %s\nwant: %s", gb, wb)
	}
}

// assertError checks an Acquire error response.
func assertError(tb testing.TB, r response, status int, typ, msg string) {
	tb.Helper()
	if r.status != status {
		tb.Fatalf("status = %d, want %d; body %s", r.status, status, r.body)
	}
	if !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
		tb.Errorf("Content-Type = %q", r.header.Get("Content-Type"))
	}
	assertJSON(tb, r.body, acquireError(typ, msg))
}

// iso is Acquire's time format, written independently of the package.
func iso(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func isoOrNull(t *time.Time) string {
	if t == nil {
		return "null"
	}
	return `"` + iso(*t) + `"`
}

func intOrNull(p *int64) string {
	if p == nil {
		return "null"
	}
	b, _ := json.Marshal(*p)
	return string(b)
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
