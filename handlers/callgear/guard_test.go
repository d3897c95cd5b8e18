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
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/crypto/bcrypt"

	"switchboard/auth"
	"switchboard/handlers"
	"switchboard/handlers/callgear"
	"switchboard/handlers/dialect"
	"switchboard/handlers/guard"
	"switchboard/ratelimit"
	"switchboard/store"
	"switchboard/store/storetest"
)

// guarded is the fixture served by a router with its guards on: rate limits
// counted in this process and Idempotency-Key replays kept in the store.
type guarded struct {
	*fixture
	e *echo.Echo
}

// mustGuarded returns the fixture with the first account's minute and day
// limits set (0 keeps the defaults) and its server swapped for a guarded
// one. The limits are set before any request, so that the guard's account
// cache reads them.
func mustGuarded(tb testing.TB, st *store.Store, minute, day int) *guarded {
	tb.Helper()
	f := mustFixture(tb, st)
	if _, err := st.UpdateAccount(context.Background(), f.acct.ID, store.AccountUpdate{RateLimit: &minute, DailyRateLimit: &day}); err != nil {
		tb.Fatalf("update account limits: %v", err)
	}
	basic, err := auth.NewBasic(st, auth.BasicOptions{Hasher: auth.Hasher{Cost: bcrypt.MinCost}})
	if err != nil {
		tb.Fatal(err)
	}
	counter := ratelimit.NewMemory()
	tb.Cleanup(func() { counter.Close() })
	e := handlers.New(handlers.Config{CallGear: callgear.Config{BodyLimit: bodyLimit}},
		handlers.Deps{Deps: dialect.Deps{Store: st, Passwords: basic, Keys: f.keys, Log: slog.New(slog.DiscardHandler),
			Limits:      guard.NewLimits(counter, st, guard.LimitsConfig{}, nil, nil),
			Idempotency: guard.NewIdempotency(st, guard.IdempotencyConfig{}, nil, nil)}})
	f.h = e
	f.srv = httptest.NewServer(specChecked(tb, e))
	tb.Cleanup(f.srv.Close)
	return &guarded{fixture: f, e: e}
}

// request returns the body of a JSON-RPC request of the method with id 1.
func request(tb testing.TB, method string, params obj) string {
	tb.Helper()
	return mustJSON(tb, obj{"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
}

// postKey sends body with the Idempotency-Key.
func (g *guarded) postKey(tb testing.TB, body, key string) response {
	tb.Helper()
	return g.send(tb, http.MethodPost, callgear.Path, map[string]string{guard.HeaderIdempotencyKey: key}, strings.NewReader(body))
}

// serveDirect hands a request with the Idempotency-Key values to the router
// itself, past net/http's checks of header values (which refuse most
// control characters before a handler sees them).
func (g *guarded) serveDirect(tb testing.TB, body string, keys ...string) response {
	tb.Helper()
	req := httptest.NewRequest(http.MethodPost, callgear.Path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header[guard.HeaderIdempotencyKey] = keys
	rec := httptest.NewRecorder()
	specChecked(tb, g.e).ServeHTTP(rec, req)
	return response{status: rec.Code, header: rec.Header(), body: rec.Body.String()}
}

// usage is result.metadata.limits.
type usage struct {
	minuteLimit, minuteRemaining, minuteReset int64
	dayLimit, dayRemaining, dayReset          int64
}

// mustUsage checks a successful answer and returns its metadata.limits,
// which must have exactly CallGear's six members, each an integer.
func mustUsage(tb testing.TB, r response) usage {
	tb.Helper()
	mustResult(tb, r)
	var res struct {
		Result struct {
			Metadata struct {
				Limits map[string]json.RawMessage `json:"limits"`
			} `json:"metadata"`
		} `json:"result"`
	}
	if err := json.Unmarshal([]byte(r.body), &res); err != nil {
		tb.Fatalf("decode %s: %v", r.body, err)
	}
	got := res.Result.Metadata.Limits
	var u usage
	fields := map[string]*int64{
		"minute_limit": &u.minuteLimit, "minute_remaining": &u.minuteRemaining, "minute_reset": &u.minuteReset,
		"day_limit": &u.dayLimit, "day_remaining": &u.dayRemaining, "day_reset": &u.dayReset,
	}
	if keys, want := slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(fields)); !slices.Equal(keys, want) {
		tb.Fatalf("metadata.limits has %v, want exactly %v; body %s", keys, want, r.body)
	}
	for name, p := range fields {
		n, err := strconv.ParseInt(string(got[name]), 10, 64)
		if err != nil {
			tb.Fatalf("metadata.limits.%s = %s, want an integer; body %s", name, got[name], r.body)
		}
		*p = n
	}
	return u
}

// assertUsage checks the limits and remaining counts of u, that its resets
// lie within their windows, and that the RateLimit headers of r say the same.
func assertUsage(tb testing.TB, r response, u usage, minuteLimit, minuteRemaining, dayLimit, dayRemaining int64) {
	tb.Helper()
	if u.minuteLimit != minuteLimit || u.minuteRemaining != minuteRemaining || u.dayLimit != dayLimit || u.dayRemaining != dayRemaining {
		tb.Errorf("limits = minute %d/%d, day %d/%d (remaining/limit), want minute %d/%d, day %d/%d",
			u.minuteRemaining, u.minuteLimit, u.dayRemaining, u.dayLimit, minuteRemaining, minuteLimit, dayRemaining, dayLimit)
	}
	if u.minuteReset < 1 || u.minuteReset > 60 {
		tb.Errorf("minute_reset = %d, want 1..60", u.minuteReset)
	}
	if u.dayReset < 1 || u.dayReset > 86400 {
		tb.Errorf("day_reset = %d, want 1..86400", u.dayReset)
	}
	wantPolicy := fmt.Sprintf(`"minute";q=%d;w=60, "day";q=%d;w=86400`, minuteLimit, dayLimit)
	if got := r.header.Get("RateLimit-Policy"); got != wantPolicy {
		tb.Errorf("RateLimit-Policy = %q, want %q", got, wantPolicy)
	}
	wantState := fmt.Sprintf(`"minute";r=%d;t=%d, "day";r=%d;t=%d`, u.minuteRemaining, u.minuteReset, u.dayRemaining, u.dayReset)
	if got := r.header.Get("RateLimit"); got != wantState {
		tb.Errorf("RateLimit = %q, want %q (as metadata.limits)", got, wantState)
	}
}

// upload sends one valid offline message of the first account with the token.
func (g *guarded) upload(tb testing.TB, token string) response {
	tb.Helper()
	return g.call(tb, "upload.offline_messages", obj{"access_token": token, "offline_messages": []any{g.offlineItem()}})
}

func TestServe_MetadataLimits(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		g := mustGuarded(t, st, 5, 10)
		foreign := obj{"access_token": g.foreignToken, "offline_messages": []any{with(g.offlineItem(), "site_id", g.foreignSite.ID)}}
		tests := []struct {
			name                  string
			send                  func(t *testing.T) response
			minuteLimit, dayLimit int64
		}{
			{"account limits", func(t *testing.T) response { return g.upload(t, g.token) }, 5, 10},
			{"default limits", func(t *testing.T) response { return g.call(t, "upload.offline_messages", foreign) },
				store.DefaultRateLimit, store.DefaultDailyRateLimit},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				for i := int64(1); i <= 3; i++ {
					r := tt.send(t)
					assertUsage(t, r, mustUsage(t, r), tt.minuteLimit, tt.minuteLimit-i, tt.dayLimit, tt.dayLimit-i)
				}
			})
		}
	})
}

func TestServe_ChargesOnlySuccess(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		g := mustGuarded(t, st, 5, 10)
		r := g.upload(t, g.token)
		assertUsage(t, r, mustUsage(t, r), 5, 4, 10, 9)

		failing := []struct {
			name            string
			params          obj
			mnemonic, field string
		}{
			{"bad item", obj{"access_token": g.token, "offline_messages": []any{with(g.offlineItem(), "phone", "12345")}},
				"invalid_parameter_value", "offline_messages[0].phone"},
			{"missing list", obj{"access_token": g.token}, "required_parameter_missed", "offline_messages"},
			{"unexpected parameter", obj{"access_token": g.token, "offline_messages": []any{g.offlineItem()}, "limit": 1},
				"unexpected_parameters", "limit"},
		}
		for _, tt := range failing {
			t.Run(tt.name, func(t *testing.T) {
				r := g.call(t, "upload.offline_messages", tt.params)
				assertError(t, r, http.StatusOK, -32602, tt.mnemonic, tt.field)
				// The check before the call reports the windows, uncharged.
				if got := r.header.Get("RateLimit"); !strings.HasPrefix(got, `"minute";r=4;`) || !strings.Contains(got, `"day";r=9;`) {
					t.Errorf("RateLimit = %q, want minute r=4 and day r=9", got)
				}
			})
		}

		r = g.upload(t, g.token)
		assertUsage(t, r, mustUsage(t, r), 5, 3, 10, 8)
	})
}

func TestServe_LimitExceeded(t *testing.T) {
	tests := []struct {
		name        string
		minute, day int
		per         string
		window      int64
	}{
		{"minute", 2, 1000, "minute", 60},
		{"day", 1000, 2, "day", 86400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
				g := mustGuarded(t, st, tt.minute, tt.day)
				for range 2 {
					mustIDs(t, g.upload(t, g.token))
				}
				before := g.counts(t)
				for i := range 2 { // a refused call is not charged, and stays refused
					r := g.upload(t, g.token)
					res := assertError(t, r, http.StatusOK, -32029, "limit_exceeded", "")
					want := fmt.Sprintf("Limit per %s has been exceeded. Value of current limit per %s is 2", tt.per, tt.per)
					if res.Error.Message != want {
						t.Errorf("call %d: message = %q, want %q", i, res.Error.Message, want)
					}
					if string(res.ID) != "1" {
						t.Errorf("call %d: id = %s, want 1", i, res.ID)
					}
					retry, err := strconv.ParseInt(r.header.Get("Retry-After"), 10, 64)
					if err != nil || retry < 1 || retry > tt.window {
						t.Errorf("call %d: Retry-After = %q, want 1..%d", i, r.header.Get("Retry-After"), tt.window)
					}
					if p := r.header.Get("RateLimit-Policy"); !strings.Contains(p, fmt.Sprintf(`"%s";q=2;w=%d`, tt.per, tt.window)) {
						t.Errorf("call %d: RateLimit-Policy = %q, want the %s policy", i, p, tt.per)
					}
					if s := r.header.Get("RateLimit"); !strings.Contains(s, fmt.Sprintf(`"%s";r=0;t=`, tt.per)) {
						t.Errorf("call %d: RateLimit = %q, want %s r=0", i, s, tt.per)
					}
				}
				g.assertUnchanged(t, before)

				// Other callers keep their own windows.
				foreign := obj{"access_token": g.foreignToken, "offline_messages": []any{with(g.offlineItem(), "site_id", g.foreignSite.ID)}}
				mustIDs(t, g.call(t, "upload.offline_messages", foreign))
			})
		})
	}
}

func TestLoginUser_NotLimited(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		g := mustGuarded(t, st, 2, 1000)
		login := obj{"login": g.admin.Email, "password": password}
		// More logins than the minute allows: none is limited or charged.
		var s session
		for range 4 {
			data := mustResult(t, g.call(t, "login.user", login))
			if err := json.Unmarshal(data, &s); err != nil || s.AccessToken == "" {
				t.Fatalf("login data = %s (%v), want a session", data, err)
			}
		}
		r := g.upload(t, g.token)
		assertUsage(t, r, mustUsage(t, r), 2, 1, 1000, 999)
		r = g.upload(t, s.AccessToken)
		assertUsage(t, r, mustUsage(t, r), 2, 1, 1000, 999)

		// With the permanent key spent, logins and the session still work.
		mustIDs(t, g.upload(t, g.token))
		assertError(t, g.upload(t, g.token), http.StatusOK, -32029, "limit_exceeded", "")
		for range 3 {
			mustResult(t, g.call(t, "login.user", login))
		}
		r = g.upload(t, s.AccessToken)
		assertUsage(t, r, mustUsage(t, r), 2, 0, 1000, 998)
	})
}

// idemCase is an upload Idempotency-Key guards: a valid body of the first
// account, another valid body, a body with a bad item and the error it gets,
// and the rows one upload of body adds.
type idemCase struct {
	method                string
	body, other, bad      string
	badMnemonic, badField string
	cases, messages       int64
}

// idemMethods returns the cases of both uploads.
func idemMethods(tb testing.TB, g *guarded) []idemCase {
	tb.Helper()
	req := func(method, list string, item obj) string {
		return request(tb, method, obj{"access_token": g.token, list: []any{item}})
	}
	chat, offline := g.chatItem(), g.offlineItem()
	return []idemCase{
		{method: "upload.chats", body: req("upload.chats", "chats", chat),
			other:       req("upload.chats", "chats", with(chat, "name", "Robert")),
			bad:         req("upload.chats", "chats", with(chat, "email", "bob at example")),
			badMnemonic: "invalid_parameter_value", badField: "chats[0].email", cases: 1, messages: 2},
		{method: "upload.offline_messages", body: req("upload.offline_messages", "offline_messages", offline),
			other:       req("upload.offline_messages", "offline_messages", with(offline, "name", "Robert")),
			bad:         req("upload.offline_messages", "offline_messages", with(offline, "phone", "12345")),
			badMnemonic: "invalid_parameter_value", badField: "offline_messages[0].phone", cases: 1, messages: 1},
	}
}

// assertAdded fails unless exactly cases and messages were written since before.
func (g *guarded) assertAdded(tb testing.TB, before rowCounts, cases, messages int64) {
	tb.Helper()
	after := g.counts(tb)
	if after.cases-before.cases != cases || after.messages-before.messages != messages {
		tb.Errorf("rows added: %d cases, %d messages; want %d, %d (before %+v, after %+v)",
			after.cases-before.cases, after.messages-before.messages, cases, messages, before, after)
	}
}

func TestServe_IdempotencyReplay(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		g := mustGuarded(t, st, 0, 0)
		for _, tt := range idemMethods(t, g) {
			t.Run(tt.method, func(t *testing.T) {
				key := "replay-" + tt.method
				before := g.counts(t)
				first := g.postKey(t, tt.body, key)
				ids := mustIDs(t, first)
				if len(ids) != 1 {
					t.Fatalf("ids = %v, want one", ids)
				}
				if h := first.header.Get(guard.HeaderReplayed); h != "" {
					t.Errorf("first answer has %s: %q", guard.HeaderReplayed, h)
				}
				mustUsage(t, first)
				g.assertAdded(t, before, tt.cases, tt.messages)

				// Another call in between moves the counters on; the replay
				// still carries the first answer's metadata.
				mustIDs(t, g.upload(t, g.token))
				before = g.counts(t)
				for i := range 2 {
					again := g.postKey(t, tt.body, key)
					if again.status != first.status || again.body != first.body {
						t.Errorf("replay %d = %d %s, want the first answer byte for byte: %d %s", i, again.status, again.body, first.status, first.body)
					}
					if h := again.header.Get(guard.HeaderReplayed); h != "true" {
						t.Errorf("replay %d: %s = %q, want true", i, guard.HeaderReplayed, h)
					}
					if ct := again.header.Get("Content-Type"); ct != first.header.Get("Content-Type") {
						t.Errorf("replay %d: Content-Type = %q, want %q", i, ct, first.header.Get("Content-Type"))
					}
				}
				g.assertUnchanged(t, before)

				others := []struct{ name, body string }{
					{"another body", tt.other},
					{"another method", request(t, strings.Replace(tt.method, "upload.", "delete.", 1), obj{"access_token": g.token, "id": ids[0]})},
				}
				for _, o := range others {
					t.Run(o.name, func(t *testing.T) {
						r := g.postKey(t, o.body, key)
						res := assertError(t, r, http.StatusUnprocessableEntity, -32600, "idempotency_key_reused", "")
						if string(res.ID) != "1" || r.header.Get(guard.HeaderReplayed) != "" {
							t.Errorf("id = %s, %s = %q; want id 1 and no replay", res.ID, guard.HeaderReplayed, r.header.Get(guard.HeaderReplayed))
						}
						g.assertUnchanged(t, before)
					})
				}

				// The same body under another key is another request.
				mustIDs(t, g.postKey(t, tt.body, key+"-2"))
				g.assertAdded(t, before, tt.cases, tt.messages)
			})
		}
	})
}

func TestServe_IdempotencyKeyPerAccount(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		g := mustGuarded(t, st, 0, 0)
		const key = "shared-key"
		mine := request(t, "upload.offline_messages", obj{"access_token": g.token, "offline_messages": []any{g.offlineItem()}})
		theirs := request(t, "upload.offline_messages", obj{"access_token": g.foreignToken,
			"offline_messages": []any{with(g.offlineItem(), "site_id", g.foreignSite.ID)}})
		before := g.counts(t)
		a := mustIDs(t, g.postKey(t, mine, key))
		r := g.postKey(t, theirs, key)
		b := mustIDs(t, r)
		if r.header.Get(guard.HeaderReplayed) != "" || slices.Equal(a, b) {
			t.Errorf("the other account's request with the key got %v (replayed %q), want its own upload beside %v",
				b, r.header.Get(guard.HeaderReplayed), a)
		}
		g.assertAdded(t, before, 2, 2)
	})
}

func TestServe_IdempotencyKeyInUse(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		g := mustGuarded(t, st, 0, 0)
		for _, tt := range idemMethods(t, g) {
			t.Run(tt.method, func(t *testing.T) {
				key := "held-" + tt.method
				claim, err := st.ClaimIdempotencyKey(context.Background(), g.acct.ID, key,
					guard.RequestHash(http.MethodPost, callgear.Path, []byte(tt.body)), time.Minute)
				if err != nil || claim.ID == 0 {
					t.Fatalf("claim = %+v, %v", claim, err)
				}
				before := g.counts(t)
				res := assertError(t, g.postKey(t, tt.body, key), http.StatusConflict, -32004, "idempotency_key_in_use", "")
				if string(res.ID) != "1" {
					t.Errorf("id = %s, want 1", res.ID)
				}
				g.assertUnchanged(t, before)

				if err := st.ReleaseIdempotencyKey(context.Background(), claim.ID, time.Hour); err != nil {
					t.Fatal(err)
				}
				mustIDs(t, g.postKey(t, tt.body, key))
				g.assertAdded(t, before, tt.cases, tt.messages)
			})
		}
	})
}

func TestServe_IdempotencyBadKey(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		g := mustGuarded(t, st, 0, 0)
		for _, m := range idemMethods(t, g) {
			t.Run(m.method, func(t *testing.T) {
				tests := []struct {
					name string
					send func(t *testing.T) response
				}{
					{"empty", func(t *testing.T) response { return g.postKey(t, m.body, "") }},
					{"blank", func(t *testing.T) response { return g.postKey(t, m.body, "   ") }},
					{"empty quoted", func(t *testing.T) response { return g.postKey(t, m.body, `""`) }},
					{"256 characters", func(t *testing.T) response { return g.postKey(t, m.body, strings.Repeat("k", 256)) }},
					{"tab", func(t *testing.T) response { return g.postKey(t, m.body, "a\tb") }},
					{"control character", func(t *testing.T) response { return g.serveDirect(t, m.body, "a\x01b") }},
					{"DEL", func(t *testing.T) response { return g.serveDirect(t, m.body, "a\x7fb") }},
					{"newline", func(t *testing.T) response { return g.serveDirect(t, m.body, "a\nb") }},
					{"sent twice", func(t *testing.T) response { return g.serveDirect(t, m.body, "a", "b") }},
				}
				for _, tt := range tests {
					t.Run(tt.name, func(t *testing.T) {
						before := g.counts(t)
						assertError(t, tt.send(t), http.StatusBadRequest, -32600, "invalid_request", guard.HeaderIdempotencyKey)
						g.assertUnchanged(t, before)
					})
				}
				t.Run("255 characters", func(t *testing.T) {
					before := g.counts(t)
					key := strings.Repeat("k", 254) + m.method[len("upload."):][:1]
					mustIDs(t, g.postKey(t, m.body, key))
					r := g.postKey(t, m.body, key)
					mustIDs(t, r)
					if r.header.Get(guard.HeaderReplayed) != "true" {
						t.Errorf("second request with a 255-character key was not replayed")
					}
					g.assertAdded(t, before, m.cases, m.messages)
				})
			})
		}
	})
}

func TestServe_IdempotencyFailureReleasesKey(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		g := mustGuarded(t, st, 0, 0)
		for _, tt := range idemMethods(t, g) {
			t.Run(tt.method, func(t *testing.T) {
				key := "retry-" + tt.method
				before := g.counts(t)
				for i := range 2 { // a failure is not kept: the same bad request runs again
					r := g.postKey(t, tt.bad, key)
					assertError(t, r, http.StatusOK, -32602, tt.badMnemonic, tt.badField)
					if h := r.header.Get(guard.HeaderReplayed); h != "" {
						t.Errorf("bad request %d: %s = %q, want it run, not replayed", i, guard.HeaderReplayed, h)
					}
				}
				g.assertUnchanged(t, before)

				// The corrected request takes the key.
				first := g.postKey(t, tt.body, key)
				mustIDs(t, first)
				again := g.postKey(t, tt.body, key)
				if again.body != first.body || again.header.Get(guard.HeaderReplayed) != "true" {
					t.Errorf("retry = %s (replayed %q), want the replay of %s", again.body, again.header.Get(guard.HeaderReplayed), first.body)
				}
				g.assertAdded(t, before, tt.cases, tt.messages)
			})
		}
	})
}

func TestServe_IdempotencyConcurrent(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		g := mustGuarded(t, st, 1000, 0)
		body := request(t, "upload.chats", obj{"access_token": g.token, "chats": []any{g.chatItem()}})
		const key, n = "concurrent", 50
		before := g.counts(t)

		responses := make([]response, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				responses[i], errs[i] = postWithKey(g.srv.URL+callgear.Path, body, key)
			})
		}
		close(start)
		wg.Wait()

		var success string
		var ok, conflicts int
		for i, r := range responses {
			if errs[i] != nil {
				t.Fatalf("request %d: %v", i, errs[i])
			}
			switch r.status {
			case http.StatusOK:
				mustIDs(t, r)
				if success == "" {
					success = r.body
				} else if r.body != success {
					t.Errorf("request %d answered %s, another %s: want one answer", i, r.body, success)
				}
				ok++
			case http.StatusConflict:
				assertError(t, r, http.StatusConflict, -32004, "idempotency_key_in_use", "")
				conflicts++
			default:
				t.Errorf("request %d: status %d, want 200 or 409; body %s", i, r.status, r.body)
			}
		}
		if ok == 0 {
			t.Errorf("no request succeeded (%d conflicts)", conflicts)
		}
		g.assertAdded(t, before, 1, 2)

		// Once settled, the key replays that one answer.
		r := g.postKey(t, body, key)
		if r.status != http.StatusOK || r.body != success || r.header.Get(guard.HeaderReplayed) != "true" {
			t.Errorf("after the race: %d %s (replayed %q), want the replay of %s", r.status, r.body, r.header.Get(guard.HeaderReplayed), success)
		}
		g.assertAdded(t, before, 1, 2)
	})
}

// postWithKey is fixture.send for goroutines other than the test's: it
// returns its error rather than failing the test.
func postWithKey(url, body, key string) (response, error) {
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		return response{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(guard.HeaderIdempotencyKey, key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return response{}, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return response{}, err
	}
	return response{status: res.StatusCode, header: res.Header, body: string(b)}, nil
}
