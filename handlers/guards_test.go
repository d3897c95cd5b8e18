package handlers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/bcrypt"

	"switchboard/auth"
	"switchboard/handlers"
	"switchboard/handlers/apitest"
	"switchboard/handlers/dialect"
	"switchboard/handlers/guard"
	"switchboard/models"
	"switchboard/ratelimit"
	"switchboard/store"
	"switchboard/store/storetest"
)

// guardPassword is the password of guardEnv's superadmin.
const guardPassword = "password-1"

// guardOpts tunes mustGuardEnv.
type guardOpts struct {
	// rateLimit is the account's requests a minute (0: the default).
	rateLimit int
	// perIP is the per-address limit (0: off).
	perIP   int
	trusted []*net.IPNet
	// counter counts the limits; nil is an in-process one.
	counter guard.Counter
	// log receives the router's logs; nil discards them.
	log *slog.Logger
	// basic tunes the password checks; its nil Hasher is bcrypt at its
	// lowest cost.
	basic auth.BasicOptions
}

// guardEnv is the real router with both guards over a store holding one
// account, its superadmin, an open chat, and API keys of the superadmin.
type guardEnv struct {
	e *echo.Echo
	// h is e with every exchange checked against openapi.yaml.
	h     http.Handler
	st    *store.Store
	acct  models.Account
	boss  models.Agent
	chat  int64
	token string // for HelpCrunch
	acq   string // for Acquire
	keys  *auth.Keys
}

func mustGuardEnv(tb testing.TB, st *store.Store, o guardOpts) *guardEnv {
	tb.Helper()
	ctx := context.Background()
	env := &guardEnv{st: st}
	var err error
	env.acct, err = st.CreateAccount(ctx, store.NewAccount{Name: "Guarded", RateLimit: o.rateLimit})
	if err != nil {
		tb.Fatal(err)
	}
	hasher := auth.Hasher{Cost: bcrypt.MinCost}
	hash, err := hasher.Hash(guardPassword)
	if err != nil {
		tb.Fatal(err)
	}
	env.boss = storetest.MustAgent(tb, st, env.acct.ID, storetest.Name("boss")+"@example.com", models.RoleSuperadmin, hash)
	contact := storetest.MustContact(tb, st, env.acct.ID, "Ann Lee", "ann@example.com", "")
	chat, err := st.CreateCase(ctx, env.acct.ID, store.NewCase{ContactID: contact.ID})
	if err != nil {
		tb.Fatal(err)
	}
	env.chat = chat.ID
	bo := o.basic
	if bo.Hasher == nil {
		bo.Hasher = hasher
	}
	basic, err := auth.NewBasic(st, bo)
	if err != nil {
		tb.Fatal(err)
	}
	env.keys, err = auth.NewKeys([]byte("guards-test-secret-0123456789abcdef"), st, auth.KeysOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	env.token = env.mustToken(tb)
	env.acq = env.mustToken(tb)
	counter := o.counter
	if counter == nil {
		counter = ratelimit.NewMemory()
	}
	reg := prometheus.NewRegistry()
	m := guard.NewMetrics(reg)
	log := o.log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	env.e = handlers.New(handlers.Config{TrustedProxies: o.trusted}, handlers.Deps{Deps: dialect.Deps{
		Store: st, Passwords: basic, Keys: env.keys, Log: log,
		Limits:      guard.NewLimits(counter, st, guard.LimitsConfig{PerIP: o.perIP}, m, log),
		Idempotency: guard.NewIdempotency(st, guard.IdempotencyConfig{}, m, log),
	}, Metrics: reg})
	env.h = apitest.Wrap(tb, env.e)
	return env
}

// mustToken issues another full-access key of the superadmin.
func (env *guardEnv) mustToken(tb testing.TB) string {
	tb.Helper()
	_, token, err := env.keys.Issue(context.Background(), env.acct.ID, auth.KeySpec{AgentID: &env.boss.ID, Name: "guards"})
	if err != nil {
		tb.Fatal(err)
	}
	return token
}

// guardReq is one request to the router.
type guardReq struct {
	method, path, body string
	// auth is the Authorization header; remote the peer's address
	// (default 192.0.2.1:1234).
	auth, remote string
	// header holds more headers; a name may repeat.
	header [][2]string
}

func (env *guardEnv) serve(r guardReq) *httptest.ResponseRecorder {
	var body io.Reader
	if r.body != "" {
		body = strings.NewReader(r.body)
	}
	req := httptest.NewRequest(r.method, r.path, body)
	req.RemoteAddr = "192.0.2.1:1234"
	if r.remote != "" {
		req.RemoteAddr = r.remote
	}
	if r.body != "" {
		req.Header.Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
	}
	if r.auth != "" {
		req.Header.Set(echo.HeaderAuthorization, r.auth)
	}
	for _, h := range r.header {
		req.Header.Add(h[0], h[1])
	}
	rec := httptest.NewRecorder()
	env.h.ServeHTTP(rec, req)
	return rec
}

// messages counts the account's message rows.
func (env *guardEnv) messages(tb testing.TB) int64 {
	tb.Helper()
	var n int64
	if err := env.st.GORM().Model(&models.Message{}).Where("account_id = ?", env.acct.ID).Count(&n).Error; err != nil {
		tb.Fatal(err)
	}
	return n
}

// idempotencyRows counts the stored idempotency keys.
func (env *guardEnv) idempotencyRows(tb testing.TB) int64 {
	tb.Helper()
	var n int64
	if err := env.st.GORM().Model(&models.IdempotencyKey{}).Count(&n).Error; err != nil {
		tb.Fatal(err)
	}
	return n
}

func basicAuth(email, password string) string {
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.SetBasicAuth(email, password)
	return req.Header.Get(echo.HeaderAuthorization)
}

// rateWindowRE matches one window of a RateLimit header.
var rateWindowRE = regexp.MustCompile(`"(\w+)";r=(\d+);t=(\d+)`)

// rateWindows reads a RateLimit header into remaining requests and resets
// by window name, in the header's order.
func rateWindows(tb testing.TB, v string) (names []string, left, reset map[string]int64) {
	tb.Helper()
	left, reset = map[string]int64{}, map[string]int64{}
	parts := strings.Split(v, ", ")
	for _, p := range parts {
		m := rateWindowRE.FindStringSubmatch(p)
		if m == nil || m[0] != p {
			tb.Fatalf("RateLimit = %q: %q is not a window", v, p)
		}
		r, _ := strconv.ParseInt(m[2], 10, 64)
		t, _ := strconv.ParseInt(m[3], 10, 64)
		names = append(names, m[1])
		left[m[1]], reset[m[1]] = r, t
	}
	return names, left, reset
}

// assertWindows checks the RateLimit-Policy header exactly and the RateLimit
// header's windows: the same names in the same order, the remaining counts
// exactly, and resets within each window's length.
func assertWindows(tb testing.TB, h http.Header, policy string, left map[string]int64) {
	tb.Helper()
	if got := h.Get("RateLimit-Policy"); got != policy {
		tb.Errorf("RateLimit-Policy = %q, want %q", got, policy)
	}
	names, gotLeft, reset := rateWindows(tb, h.Get("RateLimit"))
	if len(names) != len(left) {
		tb.Errorf("RateLimit = %q, want windows %v", h.Get("RateLimit"), left)
	}
	for i, n := range names {
		if !strings.HasPrefix(policy, `"`+n+`"`) && !strings.Contains(policy, `, "`+n+`"`) {
			tb.Errorf("RateLimit window %d %q is not in the policy %q", i, n, policy)
		}
		want, ok := left[n]
		if !ok || gotLeft[n] != want {
			tb.Errorf("RateLimit = %q: %s r=%d, want %d", h.Get("RateLimit"), n, gotLeft[n], want)
		}
		window := int64(60)
		if n == guard.PolicyDay {
			window = 86400
		}
		if reset[n] > window || reset[n] < window-10 {
			tb.Errorf("RateLimit = %q: %s t=%d, want about %d", h.Get("RateLimit"), n, reset[n], window)
		}
	}
}

// retryAfter reads Retry-After and checks it is 1..60 seconds.
func retryAfter(tb testing.TB, h http.Header) int {
	tb.Helper()
	n, err := strconv.Atoi(h.Get("Retry-After"))
	if err != nil || n < 1 || n > 60 {
		tb.Fatalf("Retry-After = %q, want 1..60 seconds", h.Get("Retry-After"))
	}
	return n
}

// hcTooMany is HelpCrunch's 429 body.
const hcTooMany = `{"errors":[{"code":"invalid_request","message":"Invalid request"},{"code":"too_many_requests","message":"Too many requests"}]}`

func TestRouter_RateLimits(t *testing.T) {
	st := storetest.MustOpen(t, store.SQLite)
	env := mustGuardEnv(t, st, guardOpts{rateLimit: 3, perIP: 1000})
	const policy = `"ip";q=1000;w=60, "minute";q=3;w=60, "day";q=100000;w=86400`
	tests := []struct {
		name string
		req  guardReq
		// tooMany matches the 429 body; its first group, when it has one,
		// is the wait in seconds.
		tooMany *regexp.Regexp
	}{
		{"reve", guardReq{method: http.MethodGet, path: "/api/agents", auth: basicAuth(env.boss.Email, guardPassword)},
			regexp.MustCompile(`^\{"error":\[\{"code":429,"message":"Too many requests: the limit is 3 requests per minute\. Please wait (\d+) seconds and try again\."\}\]\}$`)},
		{"helpcrunch", guardReq{method: http.MethodGet, path: "/v1/chats", auth: "Bearer " + env.token},
			regexp.MustCompile(`^` + regexp.QuoteMeta(hcTooMany) + `$`)},
		{"acquire cases", guardReq{method: http.MethodGet, path: "/api/v1/crm/objects/case", auth: "Bearer " + env.acq},
			regexp.MustCompile(`^\{"error":\{"type":"ERROR_TOO_MANY_REQUESTS","message":"Too many requests: the limit is 3 requests per minute\. Try again in (\d+) seconds\."\}\}$`)},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Each dialect from its own address, so that the per-address
			// window is this subtest's alone.
			tt.req.remote = fmt.Sprintf("192.0.2.%d:1234", 10+i)
			for n := range int64(3) {
				rec := env.serve(tt.req)
				if rec.Code != http.StatusOK {
					t.Fatalf("request %d: %d %s", n, rec.Code, rec.Body)
				}
				if v := rec.Header().Get("Retry-After"); v != "" {
					t.Errorf("request %d passed with Retry-After %q", n, v)
				}
				assertWindows(t, rec.Header(), policy, map[string]int64{"ip": 999 - n, "minute": 2 - n, "day": 99999 - n})
			}
			rec := env.serve(tt.req)
			if rec.Code != http.StatusTooManyRequests {
				t.Fatalf("4th request: %d %s, want 429", rec.Code, rec.Body)
			}
			body := strings.TrimSuffix(rec.Body.String(), "\n")
			m := tt.tooMany.FindStringSubmatch(body)
			if m == nil {
				t.Fatalf("429 body = %s, want %s", body, tt.tooMany)
			}
			wait := retryAfter(t, rec.Header())
			if len(m) > 1 && m[1] != strconv.Itoa(wait) {
				t.Errorf("429 body says wait %s seconds, Retry-After says %d", m[1], wait)
			}
			if ct := rec.Header().Get(echo.HeaderContentType); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type = %q", ct)
			}
			// The refused request is not charged to the day window.
			assertWindows(t, rec.Header(), policy, map[string]int64{"ip": 996, "minute": 0, "day": 99997})
		})
	}
	t.Run("unauthorized", func(t *testing.T) {
		// A refused login is counted per address before it is refused.
		for i, req := range []guardReq{
			{method: http.MethodGet, path: "/api/agents", auth: basicAuth(env.boss.Email, "wrong-password")},
			{method: http.MethodGet, path: "/v1/chats", auth: "Bearer not-a-key"},
			{method: http.MethodGet, path: "/api/v1/crm/objects/case", auth: "Bearer not-a-key"},
			{method: http.MethodPost, path: "/v1/messages", body: `{}`, auth: "Bearer not-a-key"},
		} {
			req.remote = "192.0.2.50:1234"
			rec := env.serve(req)
			if rec.Code != http.StatusUnauthorized {
				t.Fatalf("%s %s: %d %s, want 401", req.method, req.path, rec.Code, rec.Body)
			}
			assertWindows(t, rec.Header(), `"ip";q=1000;w=60`, map[string]int64{"ip": 999 - int64(i)})
		}
	})
}

// TestRouter_RateLimits_Separate checks that two keys of one account, and a
// key and its agent's password, are limited apart.
func TestRouter_RateLimits_Separate(t *testing.T) {
	st := storetest.MustOpen(t, store.SQLite)
	env := mustGuardEnv(t, st, guardOpts{rateLimit: 2})
	get := func(auth, path string) int {
		return env.serve(guardReq{method: http.MethodGet, path: path, auth: auth}).Code
	}
	for _, step := range []struct {
		auth, path string
		want       int
	}{
		{"Bearer " + env.token, "/v1/chats", 200},
		{"Bearer " + env.token, "/api/v1/crm/objects/case", 200}, // one key, any dialect
		{"Bearer " + env.token, "/v1/chats", 429},
		{"Bearer " + env.acq, "/v1/chats", 200},
		{basicAuth(env.boss.Email, guardPassword), "/api/agents", 200},
		{basicAuth(env.boss.Email, guardPassword), "/api/agents", 200},
		{basicAuth(env.boss.Email, guardPassword), "/api/agents", 429},
		{"Bearer " + env.acq, "/api/v1/crm/objects/case", 200},
		{"Bearer " + env.acq, "/api/v1/crm/objects/case", 429},
	} {
		if got := get(step.auth, step.path); got != step.want {
			t.Fatalf("GET %s as %.20s...: %d, want %d", step.path, step.auth, got, step.want)
		}
	}
}

func TestRouter_IPLimit_IgnoresForwardedFor(t *testing.T) {
	_, proxies, err := net.ParseCIDR("192.0.2.0/24")
	if err != nil {
		t.Fatal(err)
	}
	// step is one HelpCrunch request from the peer address with the
	// forwarding headers; limited says whether it gets the 429.
	type step struct {
		remote, xff string
		limited     bool
	}
	spoofing := func(remote string) []step {
		return []step{
			{remote, "203.0.113.1", false}, {remote, "203.0.113.2", false},
			{remote, "203.0.113.3", false}, {remote, "203.0.113.4", true},
		}
	}
	tests := []struct {
		name    string
		trusted []*net.IPNet
		steps   []step
	}{
		// Echo's own defaults would trust private and loopback peers.
		{"no trusted proxies", nil, spoofing("192.0.2.1:1234")},
		{"no trusted proxies, private peer", nil, spoofing("10.0.0.5:1234")},
		{"no trusted proxies, loopback peer", nil, spoofing("127.0.0.1:1234")},
		{"no trusted proxies, no header", nil, []step{
			{"192.0.2.1:1", "", false}, {"192.0.2.1:2", "", false}, {"192.0.2.1:3", "", false}, {"192.0.2.1:4", "", true},
			{"192.0.2.2:1", "", false},
		}},
		{"peer not a trusted proxy", []*net.IPNet{proxies}, spoofing("198.51.100.1:1234")},
		{"private peer not a trusted proxy", []*net.IPNet{proxies}, spoofing("10.0.0.5:1234")},
		{"loopback peer not a trusted proxy", []*net.IPNet{proxies}, spoofing("127.0.0.1:1234")},
		{"behind a trusted proxy", []*net.IPNet{proxies}, []step{
			{"192.0.2.1:1234", "203.0.113.1", false}, {"192.0.2.1:1234", "203.0.113.2", false},
			{"192.0.2.1:1234", "203.0.113.3", false}, {"192.0.2.1:1234", "203.0.113.4", false},
			{"192.0.2.1:1234", "203.0.113.5", false},
			{"192.0.2.9:1234", "203.0.113.1", false}, {"192.0.2.1:1234", "203.0.113.1", false},
			{"192.0.2.1:1234", "203.0.113.1", true},
			// What the client itself wrote in front of the proxy's entry
			// does not count.
			{"192.0.2.1:1234", "198.51.100.7, 203.0.113.2", false},
			{"192.0.2.1:1234", "198.51.100.8, 203.0.113.2", false},
			{"192.0.2.1:1234", "198.51.100.9, 203.0.113.2", true},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := mustGuardEnv(t, storetest.MustOpen(t, store.SQLite), guardOpts{perIP: 3, trusted: tt.trusted})
			for i, s := range tt.steps {
				req := guardReq{method: http.MethodGet, path: "/v1/chats", auth: "Bearer " + env.token, remote: s.remote}
				if s.xff != "" {
					req.header = [][2]string{{echo.HeaderXForwardedFor, s.xff}, {echo.HeaderXRealIP, strings.Split(s.xff, ",")[0]}}
				}
				rec := env.serve(req)
				switch {
				case !s.limited && rec.Code != http.StatusOK:
					t.Fatalf("request %d from %s (%q): %d %s, want 200", i, s.remote, s.xff, rec.Code, rec.Body)
				case s.limited && rec.Code != http.StatusTooManyRequests:
					t.Fatalf("request %d from %s (%q): %d %s, want 429", i, s.remote, s.xff, rec.Code, rec.Body)
				case s.limited:
					if got := strings.TrimSuffix(rec.Body.String(), "\n"); got != hcTooMany {
						t.Errorf("429 body = %s, want %s", got, hcTooMany)
					}
					retryAfter(t, rec.Header())
					if got, want := rec.Header().Get("RateLimit-Policy"), `"ip";q=3;w=60`; got != want {
						t.Errorf("RateLimit-Policy = %q, want %q", got, want)
					}
				}
			}
		})
	}
}

// idemDialect is how one dialect's POST route answers the Idempotency-Key
// errors.
type idemDialect struct {
	name, path string
	token      func(*guardEnv) string
	// body returns a valid request body writing text to the chat; invalid
	// is one that fails the handler's validation.
	body    func(env *guardEnv, text string) string
	invalid func(env *guardEnv) string
	// errBody returns the dialect's error body for status with HelpCrunch's
	// code or Acquire's type and the message.
	errBody func(status int, code, msg string) string
	// codes are the codes (HelpCrunch) or types (Acquire) of a mismatch,
	// a key in use and a bad key.
	mismatch, inUse, badKey string
}

var idemDialects = []idemDialect{
	{
		name: "helpcrunch", path: "/v1/messages",
		token: func(env *guardEnv) string { return env.token },
		body: func(env *guardEnv, text string) string {
			return fmt.Sprintf(`{"chat":%d,"text":%q,"type":"message"}`, env.chat, text)
		},
		invalid: func(env *guardEnv) string { return fmt.Sprintf(`{"chat":%d,"type":"message"}`, env.chat) },
		errBody: func(_ int, code, msg string) string {
			return fmt.Sprintf(`{"errors":[{"code":"invalid_request","message":"Invalid request"},{"code":%s,"message":%s}]}`,
				jsonText(code), jsonText(msg))
		},
		mismatch: "idempotency_key_reused", inUse: "idempotency_key_in_use", badKey: "idempotency_key",
	},
	{
		name: "acquire", path: "/api/v1/crm/messenger/chat/add-message",
		token: func(env *guardEnv) string { return env.acq },
		body: func(env *guardEnv, text string) string {
			return fmt.Sprintf(`{"channel":"chat","message":{"type":"message","message":%q},"caseId":%d}`, text, env.chat)
		},
		invalid: func(env *guardEnv) string {
			return fmt.Sprintf(`{"channel":"chat","message":{"type":"message"},"caseId":%d}`, env.chat)
		},
		errBody: func(_ int, typ, msg string) string {
			return fmt.Sprintf(`{"error":{"type":%s,"message":%s}}`, jsonText(typ), jsonText(msg))
		},
		mismatch: "ERROR_CONFLICT", inUse: "ERROR_CONFLICT", badKey: "ERROR_INVALID_INPUT",
	},
}

// jsonText is s as a JSON string.
func jsonText(s string) string {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// post sends the dialect's POST with the Idempotency-Key headers.
func (d idemDialect) post(env *guardEnv, body string, keys ...string) *httptest.ResponseRecorder {
	req := guardReq{method: http.MethodPost, path: d.path, body: body, auth: "Bearer " + d.token(env)}
	for _, k := range keys {
		req.header = append(req.header, [2]string{guard.HeaderIdempotencyKey, k})
	}
	return env.serve(req)
}

// assertGuardError checks an error response's status and exact body.
func assertGuardError(tb testing.TB, rec *httptest.ResponseRecorder, status int, body string) {
	tb.Helper()
	if rec.Code != status {
		tb.Fatalf("status = %d %s, want %d %s", rec.Code, rec.Body, status, body)
	}
	if got := strings.TrimSuffix(rec.Body.String(), "\n"); got != body {
		tb.Errorf("body = %s, want %s", got, body)
	}
	if ct := rec.Header().Get(echo.HeaderContentType); !strings.HasPrefix(ct, "application/json") {
		tb.Errorf("Content-Type = %q", ct)
	}
	if rec.Header().Get(guard.HeaderReplayed) != "" {
		tb.Errorf("an error is marked replayed")
	}
}

func TestRouter_Idempotency(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		env := mustGuardEnv(t, st, guardOpts{})
		for _, d := range idemDialects {
			t.Run(d.name, func(t *testing.T) {
				t.Run("replay", func(t *testing.T) {
					before := env.messages(t)
					body := d.body(env, "replayed once")
					first := d.post(env, body, "replay-"+d.name)
					if first.Code != http.StatusOK || first.Header().Get(guard.HeaderReplayed) != "" {
						t.Fatalf("first: %d %s, replayed %q", first.Code, first.Body, first.Header().Get(guard.HeaderReplayed))
					}
					for i := range 2 {
						again := d.post(env, body, "replay-"+d.name)
						if again.Code != first.Code || again.Body.String() != first.Body.String() {
							t.Errorf("replay %d = %d %s, want %d %s", i, again.Code, again.Body, first.Code, first.Body)
						}
						if got, want := again.Header().Get(echo.HeaderContentType), first.Header().Get(echo.HeaderContentType); got != want {
							t.Errorf("replay %d: Content-Type = %q, want %q", i, got, want)
						}
						if got := again.Header().Get(guard.HeaderReplayed); got != "true" {
							t.Errorf("replay %d: %s = %q, want true", i, guard.HeaderReplayed, got)
						}
						if again.Header().Get(echo.HeaderXRequestID) == first.Header().Get(echo.HeaderXRequestID) {
							t.Errorf("replay %d repeats the first request's id", i)
						}
					}
					if got := env.messages(t); got != before+1 {
						t.Errorf("%d messages written, want 1", got-before)
					}
					t.Run("other body", func(t *testing.T) {
						before := env.messages(t)
						rec := d.post(env, d.body(env, "something else"), "replay-"+d.name)
						assertGuardError(t, rec, http.StatusUnprocessableEntity,
							d.errBody(422, d.mismatch, "This Idempotency-Key was used with a different request"))
						if got := env.messages(t); got != before {
							t.Errorf("%d messages written, want none", got-before)
						}
					})
				})
				t.Run("bad keys", func(t *testing.T) {
					for _, k := range []struct {
						name, reason string
						keys         []string
					}{
						{"empty", "it is empty", []string{""}},
						{"256 characters", "it is longer than 255 characters", []string{strings.Repeat("k", 256)}},
						{"tab", "it contains control characters", []string{"a\tb"}},
						{"two headers", "send it once", []string{"a", "b"}},
					} {
						t.Run(k.name, func(t *testing.T) {
							before, keys := env.messages(t), env.idempotencyRows(t)
							rec := d.post(env, d.body(env, "bad key"), k.keys...)
							assertGuardError(t, rec, http.StatusBadRequest, d.errBody(400, d.badKey, "Idempotency-Key is invalid: "+k.reason))
							if got := env.messages(t); got != before {
								t.Errorf("%d messages written, want none", got-before)
							}
							if got := env.idempotencyRows(t); got != keys {
								t.Errorf("%d idempotency keys stored, want none", got-keys)
							}
						})
					}
				})
				t.Run("in flight", func(t *testing.T) {
					key, body := "held-"+d.name, d.body(env, "held")
					claim, err := st.ClaimIdempotencyKey(t.Context(), env.acct.ID, key, guard.RequestHash(http.MethodPost, d.path, []byte(body)), time.Minute)
					if err != nil || claim.ID == 0 {
						t.Fatalf("claim: %+v, %v", claim, err)
					}
					before := env.messages(t)
					rec := d.post(env, body, key)
					assertGuardError(t, rec, http.StatusConflict, d.errBody(409, d.inUse, "A request with this Idempotency-Key is still in progress"))
					if got := env.messages(t); got != before {
						t.Errorf("%d messages written, want none", got-before)
					}
					// Once the first request gives the key up, it runs.
					if err := st.ReleaseIdempotencyKey(t.Context(), claim.ID, time.Hour); err != nil {
						t.Fatal(err)
					}
					if rec := d.post(env, body, key); rec.Code != http.StatusOK || rec.Header().Get(guard.HeaderReplayed) != "" {
						t.Errorf("after the release: %d %s, replayed %q", rec.Code, rec.Body, rec.Header().Get(guard.HeaderReplayed))
					}
				})
				t.Run("invalid request releases the key", func(t *testing.T) {
					key := "fix-" + d.name
					before := env.messages(t)
					if rec := d.post(env, d.invalid(env), key); rec.Code != http.StatusBadRequest {
						t.Fatalf("invalid body: %d %s, want 400", rec.Code, rec.Body)
					}
					body := d.body(env, "fixed")
					fixed := d.post(env, body, key)
					if fixed.Code != http.StatusOK || fixed.Header().Get(guard.HeaderReplayed) != "" {
						t.Fatalf("corrected body: %d %s, replayed %q; want it to run", fixed.Code, fixed.Body, fixed.Header().Get(guard.HeaderReplayed))
					}
					again := d.post(env, body, key)
					if again.Body.String() != fixed.Body.String() || again.Header().Get(guard.HeaderReplayed) != "true" {
						t.Errorf("after the correction: %d %s, replayed %q; want the replay", again.Code, again.Body, again.Header().Get(guard.HeaderReplayed))
					}
					if got := env.messages(t); got != before+1 {
						t.Errorf("%d messages written, want 1", got-before)
					}
				})
				t.Run("no key", func(t *testing.T) {
					before := env.messages(t)
					body := d.body(env, "twice")
					for i := range 2 {
						if rec := d.post(env, body); rec.Code != http.StatusOK || rec.Header().Get(guard.HeaderReplayed) != "" {
							t.Fatalf("request %d: %d %s", i, rec.Code, rec.Body)
						}
					}
					if got := env.messages(t); got != before+2 {
						t.Errorf("%d messages written, want 2", got-before)
					}
				})
			})
		}
		t.Run("keys are per account", func(t *testing.T) {
			// The same key and body on another account's chat: its own
			// request, not a replay nor a mismatch.
			other := mustGuardEnv(t, st, guardOpts{})
			d := idemDialects[0]
			before := other.messages(t)
			rec := d.post(other, d.body(other, "replayed once"), "replay-"+d.name)
			if rec.Code != http.StatusOK || rec.Header().Get(guard.HeaderReplayed) != "" {
				t.Errorf("other account: %d %s, replayed %q", rec.Code, rec.Body, rec.Header().Get(guard.HeaderReplayed))
			}
			if got := other.messages(t); got != before+1 {
				t.Errorf("%d messages written, want 1", got-before)
			}
		})
	})
}

func TestRouter_Idempotency_Concurrent(t *testing.T) {
	const clients = 50
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		env := mustGuardEnv(t, st, guardOpts{})
		d := idemDialects[0]
		body := d.body(env, "exactly once")
		inUse := d.errBody(409, d.inUse, "A request with this Idempotency-Key is still in progress")
		recs := make([]*httptest.ResponseRecorder, clients)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range recs {
			wg.Go(func() {
				<-start
				recs[i] = d.post(env, body, "concurrent")
			})
		}
		close(start)
		wg.Wait()
		var success string
		fresh, replayed, conflicts := 0, 0, 0
		for i, rec := range recs {
			switch {
			case rec.Code == http.StatusOK:
				if success == "" {
					success = rec.Body.String()
				} else if rec.Body.String() != success {
					t.Errorf("response %d = %s, another success was %s", i, rec.Body, success)
				}
				if rec.Header().Get(guard.HeaderReplayed) == "true" {
					replayed++
				} else {
					fresh++
				}
			case rec.Code == http.StatusConflict:
				conflicts++
				if got := strings.TrimSuffix(rec.Body.String(), "\n"); got != inUse {
					t.Errorf("response %d = 409 %s, want %s", i, got, inUse)
				}
			default:
				t.Errorf("response %d = %d %s, want 200 or 409", i, rec.Code, rec.Body)
			}
		}
		t.Logf("%d ran, %d replayed, %d in use", fresh, replayed, conflicts)
		if fresh != 1 {
			t.Errorf("%d requests ran, want exactly 1", fresh)
		}
		if got := env.messages(t); got != 1 {
			t.Errorf("%d messages written, want 1", got)
		}
		if got := env.idempotencyRows(t); got != 1 {
			t.Errorf("%d idempotency keys stored, want 1", got)
		}
		// Afterwards every retry is the replay.
		rec := d.post(env, body, "concurrent")
		if rec.Code != http.StatusOK || rec.Body.String() != success || rec.Header().Get(guard.HeaderReplayed) != "true" {
			t.Errorf("retry: %d %s, replayed %q; want the replay of %s", rec.Code, rec.Body, rec.Header().Get(guard.HeaderReplayed), success)
		}
	})
}

// guardDownCounter is a rate limit counter whose backend never answers.
type guardDownCounter struct{}

func (guardDownCounter) Take(context.Context, string, ratelimit.Rule) (ratelimit.Count, error) {
	return ratelimit.Count{}, ratelimit.ErrUnavailable
}

func (guardDownCounter) Peek(context.Context, string, ratelimit.Rule) (ratelimit.Count, error) {
	return ratelimit.Count{}, ratelimit.ErrUnavailable
}

func (guardDownCounter) Add(context.Context, string, ratelimit.Rule, int64) (ratelimit.Count, error) {
	return ratelimit.Count{}, ratelimit.ErrUnavailable
}

func TestRouter_Metrics(t *testing.T) {
	metrics := func(t *testing.T, env *guardEnv) string {
		t.Helper()
		rec := env.serve(guardReq{method: http.MethodGet, path: "/metrics"})
		if rec.Code != http.StatusOK {
			t.Fatalf("/metrics: %d %s", rec.Code, rec.Body)
		}
		return rec.Body.String()
	}
	t.Run("limits and idempotency", func(t *testing.T) {
		env := mustGuardEnv(t, storetest.MustOpen(t, store.SQLite), guardOpts{rateLimit: 1, perIP: 1000})
		for range 3 {
			env.serve(guardReq{method: http.MethodGet, path: "/v1/chats", auth: "Bearer " + env.token})
		}
		d := idemDialects[1]
		body := d.body(env, "metered")
		if rec := d.post(env, body, "metered"); rec.Code != http.StatusOK {
			t.Fatalf("POST: %d %s", rec.Code, rec.Body)
		}
		// The minute window of the Acquire key is spent by now.
		if rec := d.post(env, body, "metered"); rec.Code != http.StatusTooManyRequests {
			t.Fatalf("second POST: %d %s, want 429", rec.Code, rec.Body)
		}
		out := metrics(t, env)
		for _, want := range []string{
			`switchboard_ratelimit_limited_total{policy="minute"} 3`,
			`switchboard_idempotency_requests_total{outcome="stored"} 1`,
		} {
			if !strings.Contains(out, want+"\n") {
				t.Errorf("/metrics lacks %s:\n%s", want, out)
			}
		}
	})
	t.Run("replays", func(t *testing.T) {
		env := mustGuardEnv(t, storetest.MustOpen(t, store.SQLite), guardOpts{})
		d := idemDialects[0]
		body := d.body(env, "metered")
		for range 3 {
			d.post(env, body, "metered")
		}
		d.post(env, d.body(env, "other"), "metered")
		out := metrics(t, env)
		for _, want := range []string{
			`switchboard_idempotency_requests_total{outcome="stored"} 1`,
			`switchboard_idempotency_requests_total{outcome="replayed"} 2`,
			`switchboard_idempotency_requests_total{outcome="mismatch"} 1`,
		} {
			if !strings.Contains(out, want+"\n") {
				t.Errorf("/metrics lacks %s:\n%s", want, out)
			}
		}
	})
	t.Run("counter unavailable", func(t *testing.T) {
		env := mustGuardEnv(t, storetest.MustOpen(t, store.SQLite), guardOpts{rateLimit: 1, perIP: 1, counter: guardDownCounter{}})
		for i := range 3 {
			rec := env.serve(guardReq{method: http.MethodGet, path: "/v1/chats", auth: "Bearer " + env.token})
			if rec.Code != http.StatusOK {
				t.Fatalf("request %d: %d %s, want it to pass", i, rec.Code, rec.Body)
			}
			if got, want := rec.Header().Get("RateLimit-Policy"), `"ip";q=1;w=60, "minute";q=1;w=60, "day";q=100000;w=86400`; got != want {
				t.Errorf("request %d: RateLimit-Policy = %q, want %q", i, got, want)
			}
			if got := rec.Header().Get("RateLimit"); got != "" {
				t.Errorf("request %d: RateLimit = %q without a counter", i, got)
			}
		}
		out := metrics(t, env)
		for _, want := range []string{
			`switchboard_ratelimit_unavailable_total{policy="ip"} 3`,
			`switchboard_ratelimit_unavailable_total{policy="minute"} 3`,
			`switchboard_ratelimit_unavailable_total{policy="day"} 3`,
		} {
			if !strings.Contains(out, want+"\n") {
				t.Errorf("/metrics lacks %s:\n%s", want, out)
			}
		}
	})
}
