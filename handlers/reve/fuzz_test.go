package reve_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"switchboard/auth"
	"switchboard/handlers"
	"switchboard/handlers/apitest"
	"switchboard/handlers/dialect"
	"switchboard/handlers/rawquery"
	"switchboard/handlers/reve"
	"switchboard/models"
	"switchboard/store"
	"switchboard/store/storetest"
)

// fuzzTarget is one backend's fixture and an unwrapped router over it: a
// fuzz target wraps it with apitest.Wrap on its own *testing.T.
type fuzzTarget struct {
	fx *fixture
	h  http.Handler
}

// mustFuzzTargets builds the fixture on every backend (SQLite, and
// PostgreSQL when it answers), each with a page size of 2 so that the
// fixture's five cases span three pages.
func mustFuzzTargets(f *testing.F) []fuzzTarget {
	f.Helper()
	var out []fuzzTarget
	for _, b := range storetest.Backends(f) {
		st := storetest.MustOpen(f, b)
		fx := mustFixture(f, st, 2)
		basic, err := auth.NewBasic(st, auth.BasicOptions{Hasher: auth.Hasher{Cost: bcrypt.MinCost}})
		if err != nil {
			f.Fatal(err)
		}
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		h := handlers.New(handlers.Config{REVE: reve.Config{BodyLimit: "1K", PageSize: 2}}, handlers.Deps{Deps: dialect.Deps{Store: st, Passwords: basic, Log: log}})
		out = append(out, fuzzTarget{fx: fx, h: h})
	}
	return out
}

// The REVE routes: the four lists, then the four by id, in the same order.
var fuzzLists = []string{"/api/offlinemessages", "/api/agents", "/api/chats", "/api/visitors"}

// rowCounts counts the rows a GET must never add to or remove from.
func rowCounts(t *testing.T, st *store.Store) [4]int64 {
	t.Helper()
	var n [4]int64
	for i, table := range []string{"cases", "messages", "contacts", "agents"} {
		if err := st.GORM().Table(table).Count(&n[i]).Error; err != nil {
			t.Fatal(err)
		}
	}
	return n
}

// fuzzGet serves req (Basic auth as the superadmin unless authorization is
// set) through the spec-checked router on every backend and fails on a 5xx,
// on an answer not in REVE's format for its status (a JSON array or object
// for 200 as wantArray says, {"error":[{"code":status,"message":...}]} for
// 400 and 404, REVE's plain texts for 401 and 403), on any row written, and
// on a list (wantArray) answered 200 though net/url drops part of its query.
func fuzzGet(t *testing.T, targets []fuzzTarget, req *http.Request, authorization string, wantArray bool) {
	t.Helper()
	for _, tg := range targets {
		r := req.Clone(req.Context())
		if authorization != "" {
			r.Header.Set("Authorization", authorization)
		} else {
			r.SetBasicAuth(tg.fx.superadmin.Email, password)
		}
		before := rowCounts(t, tg.fx.st)
		rec := httptest.NewRecorder()
		apitest.Wrap(t, tg.h).ServeHTTP(rec, r)
		what := fmt.Sprintf("GET %s (raw %q) auth %q", r.URL.Path, r.URL.RawQuery, authorization)
		body := rec.Body.Bytes()
		switch code := rec.Code; {
		case code >= 500:
			t.Fatalf("%s: status %d: %s", what, code, body)
		case code == http.StatusOK:
			var v any
			if err := json.Unmarshal(body, &v); err != nil {
				t.Fatalf("%s: 200 with a body that is not JSON: %s", what, body)
			}
			if _, isArray := v.([]any); isArray != wantArray {
				t.Fatalf("%s: 200 with %s, want an array: %v", what, body, wantArray)
			}
		case code == http.StatusUnauthorized || code == http.StatusForbidden:
			want := "Bad credentials"
			if code == http.StatusForbidden {
				want = "Access is denied! Only user with Super Admin role can access the REST API"
			}
			if string(body) != want {
				t.Fatalf("%s: %d with body %q, want %q", what, code, body, want)
			}
		case code == http.StatusBadRequest || code == http.StatusNotFound:
			var eb struct {
				Error []struct {
					Code    int    `json:"code"`
					Message string `json:"message"`
				} `json:"error"`
			}
			if err := json.Unmarshal(body, &eb); err != nil || len(eb.Error) != 1 || eb.Error[0].Code != code || eb.Error[0].Message == "" {
				t.Fatalf("%s: %d not in REVE's error format: %s", what, code, body)
			}
		default:
			t.Fatalf("%s: unexpected status %d: %s", what, code, body)
		}
		if after := rowCounts(t, tg.fx.st); after != before {
			t.Fatalf("%s: rows changed %v -> %v", what, before, after)
		}
		// A list does not answer as if a parameter net/url dropped was
		// never sent.
		if wantArray && rec.Code == http.StatusOK && len(rawquery.Check(r.URL.RawQuery)) > 0 {
			t.Fatalf("%s: 200 though net/url drops part of the query", what)
		}
	}
}

// FuzzLists sends fuzzed raw query strings to the four REVE lists (page_no
// on all of them; date_from, date_to, agent_id and agent_email_id on
// /api/chats), with and without the trailing slash.
func FuzzLists(f *testing.F) {
	targets := mustFuzzTargets(f)
	seeds := []string{
		"", "page_no=1", "page_no=2", "page_no=3", "page_no=0", "page_no=-1", "page_no=1.5", "page_no=abc",
		"page_no=", "page_no=00002", "page_no=99999999999999999999", "page_no=9223372036854775807",
		"page_no=%2B1", "page_no=%201", "page_no=1&page_no=x", "page_no=%ZZ", "page_no=%00",
		"date_from=2015-04-15&date_to=2015-04-20", "date_from=2015-04-20&date_to=2015-04-15",
		"date_from=2015-02-30", "date_to=9999-12-31", "date_from=0000-01-01", "date_from=10000-01-01",
		"date_from=2015-4-15", "date_from=2015/04/15", "date_from=%EF%BC%92015-04-15", "date_to=1969-12-31",
		"date_from=9999-12-31", "agent_id=1", "agent_id=0", "agent_id=-1", "agent_id=99999999999999999999",
		"agent_id=x", "agent_email_id=ADMIN@example.com", "agent_email_id=%20admin@example.com%20",
		"agent_email_id=%00", "agent_id=2&agent_email_id=agent@example.com&page_no=1&date_from=1970-01-01",
		"page_no=1;date_from=2015-01-01", "a=b=c&&&=", "%gh&%ij",
		// Parameters that ask for a filter or sort a list lacks (issue 16).
		"sort=received_time&order=asc", "visitor_email=a@example.com", "filter[role]=Agent", "q=x&_=1",
		"agent_email_id=" + strings.Repeat("a", models.MaxEmailBytes+1), "agent_email_id=a%0Ab@example.com",
	}
	for i, q := range seeds {
		f.Add(uint8(i), q)
		f.Add(uint8(2), q) // /api/chats reads every parameter
	}
	f.Add(uint8(2), "agent_email_id=%FF")
	f.Fuzz(func(t *testing.T, route uint8, rawQuery string) {
		path := fuzzLists[int(route)%len(fuzzLists)]
		if route/uint8(len(fuzzLists))%2 == 1 {
			path += "/"
		}
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.URL.RawQuery = rawQuery
		fuzzGet(t, targets, req, "", true)
	})
}

// FuzzByID sends fuzzed path ids to the four REVE routes by id ({ID0} to
// {ID4} stand for the fixture's case ids, {AGENT} for an agent's, {FOREIGN}
// for the other account's case) and fuzzed Authorization headers ("" sends
// the superadmin's credentials).
func FuzzByID(f *testing.F) {
	targets := mustFuzzTargets(f)
	basic := func(user, pass string) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
	}
	seeds := []struct{ id, authorization string }{
		{"{ID0}", ""}, {"{ID4}", ""}, {"{AGENT}", ""}, {"{FOREIGN}", ""}, {"1", ""}, {"0", ""}, {"-1", ""},
		{"00{ID1}", ""}, {"1.0", ""}, {"1e3", ""}, {"x", ""}, {"99999999999999999999", ""},
		{"9223372036854775807", ""}, {"%20", ""}, {"%00", ""}, {"\u0661", ""}, {"{ID0}%2F", ""},
		{"{ID0}", basic("boss@example.com", "wrong")}, {"{ID0}", basic("admin@example.com", password)},
		{"{ID0}", basic("boss2@example.com", password)}, {"{ID0}", basic("", "")}, {"{ID0}", "Basic !!!"},
		{"{ID0}", "Bearer x"}, {"{ID0}", "Basic " + base64.StdEncoding.EncodeToString([]byte("no-colon"))},
		{"{ID0}", basic("BOSS@EXAMPLE.COM", password)}, {"{ID0}", basic("boss@example.com\x00", password)},
	}
	for i, s := range seeds {
		f.Add(uint8(i), s.id, s.authorization)
	}
	f.Fuzz(func(t *testing.T, route uint8, id, authorization string) {
		fx := targets[0].fx
		r := strings.NewReplacer("{ID0}", fmt.Sprint(fx.cases[0].ID), "{ID1}", fmt.Sprint(fx.cases[1].ID),
			"{ID4}", fmt.Sprint(fx.cases[4].ID), "{AGENT}", fmt.Sprint(fx.agents[0].ID), "{FOREIGN}", fmt.Sprint(fx.foreign.ID))
		id = r.Replace(id)
		// The id is one path segment: a slash, or an empty id, would route
		// elsewhere (to the list, or to no operation of openapi.yaml).
		if id == "" || strings.Contains(id, "/") {
			id = "x" + strings.ReplaceAll(id, "/", "")
		}
		if strings.ContainsAny(authorization, "\r\n") {
			authorization = ""
		}
		path := fuzzLists[int(route)%len(fuzzLists)] + "/"
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.URL.Path = path + id
		req.URL.RawPath = path + url.PathEscape(id)
		if route/uint8(len(fuzzLists))%2 == 1 {
			req.URL.Path += "/"
			req.URL.RawPath += "/"
		}
		fuzzGet(t, targets, req, authorization, false)
	})
}
