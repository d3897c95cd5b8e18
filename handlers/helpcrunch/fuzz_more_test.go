package helpcrunch_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"switchboard/handlers/apitest"
	"switchboard/handlers/rawquery"
	"switchboard/store/storetest"
)

// FuzzRead sends fuzzed path ids and raw query strings (sort, order, offset,
// limit) to every GET route, through the spec-checked router on every
// backend (SQLite, and PostgreSQL when it answers), and fails on a 5xx, on
// an answer not in HelpCrunch's shape (a JSON object for 200, the errors
// array led by invalid_request otherwise), on any row written and on a list
// answered 200 though net/url drops part of its query. {chat},
// {offline} and {foreign} in an id stand for the fixture's cases.
func FuzzRead(f *testing.F) {
	var fxs []*fixture
	for _, b := range storetest.Backends(f) {
		fxs = append(fxs, mustFixture(f, storetest.MustOpen(f, b)))
	}
	routes := []string{"/v1/chats", "/v1/customers", "/v1/chats/%s", "/v1/chats/%s/messages"}
	seeds := []struct {
		route    uint8
		id, rawQ string
	}{
		{0, "", ""}, {0, "", "sort=chats.createdAt&order=asc&offset=0&limit=100"}, {0, "", "sort=chats.lastMessageAt&order=DESC"},
		{0, "", "sort=nope"}, {0, "", "sort="}, {0, "", "order=up"}, {0, "", "offset=-1&limit=0"}, {0, "", "limit=101"},
		{0, "", "offset=9223372036854775807"}, {0, "", "offset=9223372036854775808"}, {0, "", "offset=1.5&limit=1e2"},
		{0, "", "offset=%201&limit=%2B1"}, {0, "", "limit=1&limit=x"}, {0, "", "sort=%00&order=%FF"}, {0, "", "%zz&limit=%zz"},
		{1, "", ""}, {1, "", "sort=customers.lastSeen&order=asc"}, {1, "", "sort=customers.email&limit=1&offset=1"},
		{1, "", "sort=chats.createdAt"}, {1, "", "offset=99999999999999999999"},
		{2, "{chat}", ""}, {2, "{offline}", ""}, {2, "{foreign}", ""}, {2, "0", ""}, {2, "-1", ""}, {2, "x", ""},
		{2, "99999999999999999999", ""}, {2, "9223372036854775807", ""}, {2, "00{chat}", ""}, {2, "1.0", ""}, {2, "%00", ""},
		{3, "{chat}", ""}, {3, "{offline}", "offset=0&limit=1"}, {3, "{foreign}", ""}, {3, "{offline}", "limit=0"},
		{3, "99999999999999999999", "offset=1"}, {3, "x", "limit=x"},
		// Parameters that ask for a filter or sort the list lacks, or that
		// net/url drops (issue 16).
		{0, "", "sort=id;DROP"}, {0, "", "status=closed&q=x"}, {0, "", "filter[0][field]=chats.status"},
		{1, "", "email=a@example.com&_=1"}, {3, "{chat}", "order=asc&sort=type"}, {3, "{chat}", "order=desc&sort=createdAt"},
	}
	for _, s := range seeds {
		f.Add(s.route, s.id, s.rawQ)
	}
	f.Fuzz(func(t *testing.T, route uint8, id, rawQuery string) {
		fx0 := fxs[0]
		id = strings.NewReplacer("{chat}", fmt.Sprint(fx0.chat.ID), "{offline}", fmt.Sprint(fx0.offline.ID),
			"{foreign}", fmt.Sprint(fx0.foreignCase.ID)).Replace(id)
		// One path segment: an empty id or a slash would route elsewhere.
		if id == "" || strings.Contains(id, "/") {
			id = "x" + strings.ReplaceAll(id, "/", "")
		}
		tmpl := routes[int(route)%len(routes)]
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.URL.RawQuery = rawQuery
		if strings.Contains(tmpl, "%s") {
			req.URL.Path = fmt.Sprintf(tmpl, id)
			req.URL.RawPath = fmt.Sprintf(tmpl, url.PathEscape(id))
		} else {
			req.URL.Path = tmpl
		}
		for _, fx := range fxs {
			r := req.Clone(req.Context())
			r.Header.Set("Authorization", "Bearer "+fx.readToken)
			before := fx.counts(t)
			rec := httptest.NewRecorder()
			fx.router.ServeHTTP(rec, r)
			what := fmt.Sprintf("GET %s (raw %q)", r.URL.Path, rawQuery)
			checkSpec(t, r, rec)
			assertHelpCrunchAnswer(t, what, rec)
			if after := fx.counts(t); after != before {
				t.Fatalf("%s: a read changed rows: %+v -> %+v", what, before, after)
			}
			// A list does not answer as if a parameter net/url dropped was
			// never sent.
			if tmpl != "/v1/chats/%s" && rec.Code == http.StatusOK && len(rawquery.Check(rawQuery)) > 0 {
				t.Fatalf("%s: 200 though net/url drops part of the query", what)
			}
		}
	})
}

// checkSpec fails t when the exchange departs from openapi.yaml, as
// apitest.Wrap does, except where kin-openapi alone is wrong: it reads
// integers with Go's base prefixes, taking offset or limit "008" for bad
// octal, though it is 8 (and "010" for 8, though it is 10). Such an exchange
// passes when it conforms with the leading zeros of offset and limit dropped.
func checkSpec(t *testing.T, r *http.Request, rec *httptest.ResponseRecorder) {
	t.Helper()
	spec := apitest.MustSpec(t)
	x := apitest.Exchange{Request: r, Status: rec.Code, Header: rec.Header(), ResponseBody: rec.Body.Bytes()}
	err := spec.Check(context.Background(), x)
	if err == nil {
		return
	}
	q := r.URL.Query() // as the server and kin-openapi read it: bad pairs dropped
	changed := false
	for _, name := range []string{"offset", "limit"} {
		for i, v := range q[name] {
			sign, digits := "", v
			if strings.HasPrefix(digits, "-") {
				sign, digits = "-", digits[1:]
			}
			if d := strings.TrimLeft(digits, "0"); d != digits {
				if d == "" {
					d = "0"
				}
				q[name][i], changed = sign+d, true
			}
		}
	}
	if changed {
		r2 := r.Clone(r.Context())
		r2.URL.RawQuery = q.Encode()
		x.Request = r2
		if spec.Check(context.Background(), x) == nil {
			return
		}
	}
	t.Fatalf("%v", err)
}

// assertHelpCrunchAnswer fails on a 5xx, on a 200 whose body is not a JSON
// object, and on any other status whose body is not HelpCrunch's errors
// array led by invalid_request.
func assertHelpCrunchAnswer(t *testing.T, what string, rec *httptest.ResponseRecorder) {
	t.Helper()
	if rec.Code >= 500 {
		t.Fatalf("%s: %d %s", what, rec.Code, rec.Body.String())
	}
	if rec.Code == http.StatusOK {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(rec.Body.Bytes(), &obj); err != nil {
			t.Fatalf("%s: 200 with a body that is not a JSON object: %s", what, rec.Body.String())
		}
		return
	}
	var eb struct {
		Errors []struct{ Code, Message string } `json:"errors"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &eb); err != nil || len(eb.Errors) < 2 || eb.Errors[0].Code != "invalid_request" {
		t.Fatalf("%s: %d with a body not in HelpCrunch's shape: %s", what, rec.Code, rec.Body.String())
	}
}
