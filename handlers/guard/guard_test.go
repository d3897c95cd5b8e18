package guard_test

import (
	"context"
	"errors"
	"fmt"
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

	"switchboard/auth"
	"switchboard/handlers/guard"
	"switchboard/models"
	"switchboard/ratelimit"
	"switchboard/store"
	"switchboard/store/storetest"
)

// fakeAccounts gives the request limits of accounts by id.
type fakeAccounts map[int64]models.Account

func (a fakeAccounts) Account(_ context.Context, id int64) (models.Account, error) {
	acct, ok := a[id]
	if !ok {
		return models.Account{}, fmt.Errorf("account %d: %w", id, store.ErrNotFound)
	}
	return acct, nil
}

// downCounter is a counter whose backend never answers.
type downCounter struct{}

func (downCounter) Take(context.Context, string, ratelimit.Rule) (ratelimit.Count, error) {
	return ratelimit.Count{}, fmt.Errorf("%w: test", ratelimit.ErrUnavailable)
}

func (downCounter) Peek(context.Context, string, ratelimit.Rule) (ratelimit.Count, error) {
	return ratelimit.Count{}, fmt.Errorf("%w: test", ratelimit.ErrUnavailable)
}

func (downCounter) Add(context.Context, string, ratelimit.Rule, int64) (ratelimit.Count, error) {
	return ratelimit.Count{}, fmt.Errorf("%w: test", ratelimit.ErrUnavailable)
}

// calls counts the runs of a handler.
type calls struct {
	mu sync.Mutex
	n  int
}

func (c *calls) inc() {
	c.mu.Lock()
	c.n++
	c.mu.Unlock()
}

func (c *calls) get() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// okHandler answers 200 "ok" and counts its runs.
func okHandler(n *calls) echo.HandlerFunc {
	return func(c echo.Context) error {
		n.inc()
		return c.String(http.StatusOK, "ok")
	}
}

// withCaller is the middleware that authenticates every request as cl.
func withCaller(cl auth.Caller) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			c.SetRequest(c.Request().WithContext(auth.WithCaller(c.Request().Context(), cl)))
			return next(c)
		}
	}
}

// serve runs h on a new context of req and returns the recorder and h's error.
func serve(e *echo.Echo, h echo.HandlerFunc, req *http.Request) (*httptest.ResponseRecorder, error) {
	rec := httptest.NewRecorder()
	err := h(e.NewContext(req, rec))
	return rec, err
}

// counterValue reads a counter of the registry by name and labels; 0 when it
// has no such series.
func counterValue(tb testing.TB, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	tb.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		tb.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if labels[lp.GetName()] != lp.GetValue() {
					continue metrics
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

var (
	// stateRE reads a RateLimit header of a minute and a day window.
	stateRE = regexp.MustCompile(`^"minute";r=(\d+);t=(\d+), "day";r=(\d+);t=(\d+)$`)
	// ipStateRE reads a RateLimit header of the per-address window.
	ipStateRE = regexp.MustCompile(`^"ip";r=(\d+);t=(\d+)$`)
)

// atoi64 reads a number a regexp matched.
func atoi64(tb testing.TB, s string) int64 {
	tb.Helper()
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

// assertState checks a RateLimit header of a minute and a day window: the
// remaining requests exactly, the resets within the windows' length.
func assertState(tb testing.TB, h http.Header, minuteLeft, dayLeft int64) {
	tb.Helper()
	got := h.Get("RateLimit")
	m := stateRE.FindStringSubmatch(got)
	if m == nil {
		tb.Fatalf("RateLimit = %q, want the minute and day windows", got)
	}
	if r := atoi64(tb, m[1]); r != minuteLeft {
		tb.Errorf("RateLimit = %q: minute r=%d, want %d", got, r, minuteLeft)
	}
	if t := atoi64(tb, m[2]); t < 50 || t > 60 {
		tb.Errorf("RateLimit = %q: minute t=%d, want 50..60", got, t)
	}
	if r := atoi64(tb, m[3]); r != dayLeft {
		tb.Errorf("RateLimit = %q: day r=%d, want %d", got, r, dayLeft)
	}
	if t := atoi64(tb, m[4]); t < 86390 || t > 86400 {
		tb.Errorf("RateLimit = %q: day t=%d, want 86390..86400", got, t)
	}
}

// assertRetryAfter checks that Retry-After holds whole seconds in [lo, hi].
func assertRetryAfter(tb testing.TB, h http.Header, lo, hi int) {
	tb.Helper()
	v := h.Get("Retry-After")
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		tb.Errorf("Retry-After = %q, want %d..%d seconds", v, lo, hi)
	}
}

func TestLimits_ByCaller(t *testing.T) {
	const acctID = 7
	limitsOf := func(minute, day int) *guard.Limits {
		accts := fakeAccounts{acctID: {ID: acctID, RateLimit: minute, DailyRateLimit: day}}
		return guard.NewLimits(ratelimit.NewMemory(), accts, guard.LimitsConfig{}, nil, nil)
	}
	keyA := auth.Caller{AccountID: acctID, AgentID: 1, KeyID: "key-a"}
	keyB := auth.Caller{AccountID: acctID, AgentID: 1, KeyID: "key-b"}
	basic1 := auth.Caller{AccountID: acctID, AgentID: 1}
	basic2 := auth.Caller{AccountID: acctID, AgentID: 2}

	// step is one request by caller; policy is the limit it is refused by
	// ("" when it passes).
	type step struct {
		caller auth.Caller
		policy string
	}
	tests := []struct {
		name        string
		minute, day int
		steps       []step
	}{
		{"minute limit", 3, 10, []step{{keyA, ""}, {keyA, ""}, {keyA, ""}, {keyA, guard.PolicyMinute}, {keyA, guard.PolicyMinute}}},
		{"day limit before minute", 5, 2, []step{{keyA, ""}, {keyA, ""}, {keyA, guard.PolicyDay}}},
		{"keys of one account count apart", 3, 10, []step{
			{keyA, ""}, {keyA, ""}, {keyA, ""}, {keyA, guard.PolicyMinute},
			{keyB, ""}, {keyB, ""}, {keyB, ""}, {keyB, guard.PolicyMinute},
		}},
		{"password callers count per agent", 3, 10, []step{
			{basic1, ""}, {basic1, ""}, {basic1, ""}, {basic1, guard.PolicyMinute},
			{basic2, ""}, {keyA, ""}, {basic2, ""}, {basic2, ""}, {basic2, guard.PolicyMinute},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := limitsOf(tt.minute, tt.day)
			e := echo.New()
			for i, s := range tt.steps {
				var ran calls
				h := withCaller(s.caller)(l.ByCaller()(okHandler(&ran)))
				rec, err := serve(e, h, httptest.NewRequest(http.MethodGet, "/", nil))
				if s.policy == "" {
					if err != nil || ran.get() != 1 {
						t.Fatalf("request %d by %+v: err = %v, handler ran %d times; want it to pass", i, s.caller, err, ran.get())
					}
					if v := rec.Header().Get("Retry-After"); v != "" {
						t.Errorf("request %d passed with Retry-After %q", i, v)
					}
					continue
				}
				var le *guard.LimitError
				if !errors.As(err, &le) {
					t.Fatalf("request %d by %+v: err = %v, want a *guard.LimitError", i, s.caller, err)
				}
				if ran.get() != 0 {
					t.Errorf("request %d: the handler ran over the limit", i)
				}
				want := map[string]struct {
					limit  int64
					window time.Duration
					hi     int
				}{guard.PolicyMinute: {int64(tt.minute), time.Minute, 60}, guard.PolicyDay: {int64(tt.day), 24 * time.Hour, 86400}}[s.policy]
				if le.Policy != s.policy || le.Limit != want.limit || le.Window != want.window {
					t.Errorf("request %d: LimitError = %+v, want policy %s, limit %d, window %s", i, le, s.policy, want.limit, want.window)
				}
				if le.RetryAfter <= 0 || le.RetryAfter > want.window {
					t.Errorf("request %d: RetryAfter = %s", i, le.RetryAfter)
				}
				assertRetryAfter(t, rec.Header(), 1, want.hi)
				if got, want := rec.Header().Get("Retry-After"), strconv.Itoa(le.RetrySeconds()); got != want {
					t.Errorf("request %d: Retry-After = %q, LimitError says %s", i, got, want)
				}
			}
		})
	}
}

// TestLimits_ByCaller_Headers checks the RateLimit-Policy and RateLimit
// headers of requests under and over the minute limit.
func TestLimits_ByCaller_Headers(t *testing.T) {
	accts := fakeAccounts{1: {ID: 1, RateLimit: 3, DailyRateLimit: 10}}
	l := guard.NewLimits(ratelimit.NewMemory(), accts, guard.LimitsConfig{}, nil, nil)
	e := echo.New()
	var ran calls
	h := withCaller(auth.Caller{AccountID: 1, AgentID: 1, KeyID: "k"})(l.ByCaller()(okHandler(&ran)))
	const policy = `"minute";q=3;w=60, "day";q=10;w=86400`
	for i, left := range []int64{2, 1, 0} {
		rec, err := serve(e, h, httptest.NewRequest(http.MethodGet, "/", nil))
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if got := rec.Header().Get("RateLimit-Policy"); got != policy {
			t.Errorf("request %d: RateLimit-Policy = %q, want %q", i, got, policy)
		}
		assertState(t, rec.Header(), left, 9-int64(i))
	}
	rec, err := serve(e, h, httptest.NewRequest(http.MethodGet, "/", nil))
	if !errors.As(err, new(*guard.LimitError)) {
		t.Fatalf("4th request: err = %v, want a *guard.LimitError", err)
	}
	// Refused by the minute window, the request is not counted in the
	// day's, which the headers still show.
	if got := rec.Header().Get("RateLimit-Policy"); got != policy {
		t.Errorf("refused: RateLimit-Policy = %q, want %q", got, policy)
	}
	assertState(t, rec.Header(), 0, 7)
	rec, _ = serve(e, h, httptest.NewRequest(http.MethodGet, "/", nil))
	assertState(t, rec.Header(), 0, 7)
	if ran.get() != 3 {
		t.Errorf("handler ran %d times, want 3", ran.get())
	}
}

func TestLimits_ByCaller_Errors(t *testing.T) {
	l := guard.NewLimits(ratelimit.NewMemory(), fakeAccounts{}, guard.LimitsConfig{}, nil, nil)
	e := echo.New()
	tests := []struct {
		name string
		mw   []echo.MiddlewareFunc
		want error
	}{
		{"no caller", nil, nil},
		{"unknown account", []echo.MiddlewareFunc{withCaller(auth.Caller{AccountID: 99, KeyID: "k"})}, store.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ran calls
			h := l.ByCaller()(okHandler(&ran))
			for _, mw := range tt.mw {
				h = mw(h)
			}
			_, err := serve(e, h, httptest.NewRequest(http.MethodGet, "/", nil))
			if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) || errors.As(err, new(*guard.LimitError)) {
				t.Errorf("err = %v, want a server error (%v)", err, tt.want)
			}
			if ran.get() != 0 {
				t.Error("the handler ran")
			}
		})
	}
}

func TestLimits_ByIP(t *testing.T) {
	e := echo.New()
	request := func(addr string) *http.Request {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.RemoteAddr = addr
		return req
	}
	t.Run("limited per address", func(t *testing.T) {
		l := guard.NewLimits(ratelimit.NewMemory(), fakeAccounts{}, guard.LimitsConfig{PerIP: 3}, nil, nil)
		var ran calls
		h := l.ByIP()(okHandler(&ran))
		for i, left := range []int64{2, 1, 0} {
			rec, err := serve(e, h, request("192.0.2.1:1000"))
			if err != nil {
				t.Fatalf("request %d: %v", i, err)
			}
			if got, want := rec.Header().Get("RateLimit-Policy"), `"ip";q=3;w=60`; got != want {
				t.Errorf("request %d: RateLimit-Policy = %q, want %q", i, got, want)
			}
			m := ipStateRE.FindStringSubmatch(rec.Header().Get("RateLimit"))
			if m == nil || atoi64(t, m[1]) != left {
				t.Errorf("request %d: RateLimit = %q, want r=%d", i, rec.Header().Get("RateLimit"), left)
			}
		}
		rec, err := serve(e, h, request("192.0.2.1:2000"))
		var le *guard.LimitError
		if !errors.As(err, &le) || le.Policy != guard.PolicyIP || le.Limit != 3 || le.Window != time.Minute {
			t.Fatalf("4th request: err = %v, want the ip limit of 3 a minute", err)
		}
		assertRetryAfter(t, rec.Header(), 1, 60)
		if _, err := serve(e, h, request("192.0.2.2:1000")); err != nil {
			t.Errorf("another address: %v", err)
		}
		if ran.get() != 4 {
			t.Errorf("handler ran %d times, want 4", ran.get())
		}
	})
	t.Run("off", func(t *testing.T) {
		l := guard.NewLimits(ratelimit.NewMemory(), fakeAccounts{}, guard.LimitsConfig{PerIP: 0}, nil, nil)
		var ran calls
		h := l.ByIP()(okHandler(&ran))
		for i := range 5 {
			rec, err := serve(e, h, request("192.0.2.1:1000"))
			if err != nil {
				t.Fatalf("request %d: %v", i, err)
			}
			if v := rec.Header().Get("RateLimit-Policy"); v != "" {
				t.Errorf("RateLimit-Policy = %q with the per-address limit off", v)
			}
		}
		if ran.get() != 5 {
			t.Errorf("handler ran %d times, want 5", ran.get())
		}
	})
}

// TestLimits_FailOpen checks that requests pass when the counter cannot be
// reached, and that each unchecked window is counted in the metrics.
func TestLimits_FailOpen(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := guard.NewMetrics(reg)
	accts := fakeAccounts{1: {ID: 1, RateLimit: 1, DailyRateLimit: 1}}
	l := guard.NewLimits(downCounter{}, accts, guard.LimitsConfig{PerIP: 1}, m, nil)
	cl := auth.Caller{AccountID: 1, AgentID: 1, KeyID: "k"}
	e := echo.New()
	var ran calls
	h := withCaller(cl)(l.ByIP()(l.ByCaller()(okHandler(&ran))))
	for i := range 3 {
		rec, err := serve(e, h, httptest.NewRequest(http.MethodGet, "/", nil))
		if err != nil || rec.Code != http.StatusOK {
			t.Fatalf("request %d: %d, %v; want it to pass", i, rec.Code, err)
		}
		// The policies hold; the windows' state is unknown.
		if v := rec.Header().Get("RateLimit"); v != "" {
			t.Errorf("request %d: RateLimit = %q without a counter", i, v)
		}
		if got, want := rec.Header().Get("RateLimit-Policy"), `"ip";q=1;w=60, "minute";q=1;w=60, "day";q=1;w=86400`; got != want {
			t.Errorf("request %d: RateLimit-Policy = %q, want %q", i, got, want)
		}
	}
	if ran.get() != 3 {
		t.Errorf("handler ran %d times, want 3", ran.get())
	}
	c := e.NewContext(httptest.NewRequest(http.MethodPost, "/", nil), httptest.NewRecorder())
	if err := l.Check(c, cl); err != nil {
		t.Errorf("Check = %v, want nil", err)
	}
	if _, ok := l.Charge(c, cl); ok {
		t.Error("Charge ok without a counter")
	}
	// Three requests through ByIP and ByCaller, then Check and Charge, each
	// once per window.
	for policy, want := range map[string]float64{guard.PolicyIP: 3, guard.PolicyMinute: 5, guard.PolicyDay: 5} {
		got := counterValue(t, reg, "switchboard_ratelimit_unavailable_total", map[string]string{"policy": policy})
		if got != want {
			t.Errorf("switchboard_ratelimit_unavailable_total{policy=%q} = %v, want %v", policy, got, want)
		}
	}
	if got := counterValue(t, reg, "switchboard_ratelimit_limited_total", map[string]string{"policy": guard.PolicyMinute}); got != 0 {
		t.Errorf("switchboard_ratelimit_limited_total = %v, want 0", got)
	}
}

func TestLimits_Metrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	accts := fakeAccounts{1: {ID: 1, RateLimit: 1, DailyRateLimit: 100}}
	l := guard.NewLimits(ratelimit.NewMemory(), accts, guard.LimitsConfig{}, guard.NewMetrics(reg), nil)
	e := echo.New()
	var ran calls
	h := withCaller(auth.Caller{AccountID: 1, AgentID: 1, KeyID: "k"})(l.ByCaller()(okHandler(&ran)))
	for range 3 {
		_, _ = serve(e, h, httptest.NewRequest(http.MethodGet, "/", nil))
	}
	if got := counterValue(t, reg, "switchboard_ratelimit_limited_total", map[string]string{"policy": guard.PolicyMinute}); got != 2 {
		t.Errorf("switchboard_ratelimit_limited_total{policy=minute} = %v, want 2", got)
	}
}

// TestGuards_Nil checks that nil guards let every request through.
func TestGuards_Nil(t *testing.T) {
	var l *guard.Limits
	var idem *guard.Idempotency
	e := echo.New()
	var ran calls
	chain := l.ByIP()(l.ByCaller()(idem.Middleware()(okHandler(&ran))))
	for i := range 3 {
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader("{}"))
		// Not even a malformed key is looked at.
		req.Header.Set(guard.HeaderIdempotencyKey, "")
		rec, err := serve(e, chain, req)
		if err != nil || rec.Code != http.StatusOK {
			t.Fatalf("request %d: %d, %v", i, rec.Code, err)
		}
		if rec.Header().Get("RateLimit") != "" || rec.Header().Get(guard.HeaderReplayed) != "" {
			t.Errorf("request %d: headers %v", i, rec.Header())
		}
	}
	c := e.NewContext(httptest.NewRequest(http.MethodPost, "/", nil), httptest.NewRecorder())
	if err := idem.Do(c, 1, okHandler(&ran)); err != nil {
		t.Errorf("Do = %v", err)
	}
	if err := l.Check(c, auth.Caller{AccountID: 1}); err != nil {
		t.Errorf("Check = %v", err)
	}
	if _, ok := l.Charge(c, auth.Caller{AccountID: 1}); ok {
		t.Error("Charge ok on nil limits")
	}
	if ran.get() != 4 {
		t.Errorf("handler ran %d times, want 4", ran.get())
	}
}

// idemEnv is an Idempotency guard over a real store, for one account.
type idemEnv struct {
	st   *store.Store
	reg  *prometheus.Registry
	idem *guard.Idempotency
	acct int64
	e    *echo.Echo
}

func mustIdemEnv(tb testing.TB) *idemEnv {
	tb.Helper()
	st := storetest.MustOpen(tb, store.SQLite)
	reg := prometheus.NewRegistry()
	return &idemEnv{
		st: st, reg: reg, e: echo.New(),
		idem: guard.NewIdempotency(st, guard.IdempotencyConfig{}, guard.NewMetrics(reg), nil),
		acct: storetest.MustAccount(tb, st, "Idem").ID,
	}
}

// post sends a request of method with the body and, when keys is not nil,
// one Idempotency-Key header per value, through the guard to h as the
// account's caller.
func (env *idemEnv) post(h echo.HandlerFunc, method, path, body string, keys ...string) (*httptest.ResponseRecorder, error) {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	for _, k := range keys {
		req.Header.Add(guard.HeaderIdempotencyKey, k)
	}
	chain := withCaller(auth.Caller{AccountID: env.acct, AgentID: 1, KeyID: "k"})(env.idem.Middleware()(h))
	return serve(env.e, chain, req)
}

func (env *idemEnv) outcome(tb testing.TB, name string) float64 {
	tb.Helper()
	return counterValue(tb, env.reg, "switchboard_idempotency_requests_total", map[string]string{"outcome": name})
}

// created answers 201 with a body that is not even text, its own
// Content-Type, a Location and a header replays leave out; it counts its runs.
func created(n *calls) echo.HandlerFunc {
	return func(c echo.Context) error {
		n.inc()
		c.Response().Header().Set(echo.HeaderLocation, "/things/1")
		c.Response().Header().Set("X-Run", strconv.Itoa(n.get()))
		return c.Blob(http.StatusCreated, "application/vnd.test+json; charset=utf-8", []byte("{\"id\":1}\n\x00\xff"))
	}
}

func TestIdempotency_Replay(t *testing.T) {
	env := mustIdemEnv(t)
	var ran calls
	first, err := env.post(created(&ran), http.MethodPost, "/things", `{"a":1}`, "key-1")
	if err != nil {
		t.Fatal(err)
	}
	if first.Header().Get(guard.HeaderReplayed) != "" {
		t.Error("the first response is marked replayed")
	}
	for i := range 2 {
		again, err := env.post(created(&ran), http.MethodPost, "/things", `{"a":1}`, "key-1")
		if err != nil {
			t.Fatalf("replay %d: %v", i, err)
		}
		if again.Code != first.Code || again.Body.String() != first.Body.String() {
			t.Errorf("replay %d = %d %q, want %d %q", i, again.Code, again.Body.String(), first.Code, first.Body.String())
		}
		for _, h := range []string{echo.HeaderContentType, echo.HeaderLocation} {
			if again.Header().Get(h) != first.Header().Get(h) {
				t.Errorf("replay %d: %s = %q, want %q", i, h, again.Header().Get(h), first.Header().Get(h))
			}
		}
		if got := again.Header().Get(guard.HeaderReplayed); got != "true" {
			t.Errorf("replay %d: %s = %q, want true", i, guard.HeaderReplayed, got)
		}
	}
	if ran.get() != 1 {
		t.Errorf("handler ran %d times, want 1", ran.get())
	}
	// Another key, or the same key on another account, runs the handler.
	if _, err := env.post(created(&ran), http.MethodPost, "/things", `{"a":1}`, "key-2"); err != nil {
		t.Fatal(err)
	}
	other := storetest.MustAccount(t, env.st, "Other").ID
	req := httptest.NewRequest(http.MethodPost, "/things", strings.NewReader(`{"a":1}`))
	req.Header.Set(guard.HeaderIdempotencyKey, "key-1")
	rec, err := serve(env.e, withCaller(auth.Caller{AccountID: other, KeyID: "o"})(env.idem.Middleware()(created(&ran))), req)
	if err != nil || rec.Header().Get(guard.HeaderReplayed) != "" {
		t.Errorf("other account: %v, replayed %q", err, rec.Header().Get(guard.HeaderReplayed))
	}
	if ran.get() != 3 {
		t.Errorf("handler ran %d times, want 3", ran.get())
	}
	if got := env.outcome(t, "replayed"); got != 2 {
		t.Errorf("replayed outcomes = %v, want 2", got)
	}
	if got := env.outcome(t, "stored"); got != 3 {
		t.Errorf("stored outcomes = %v, want 3", got)
	}
}

func TestIdempotency_Mismatch(t *testing.T) {
	env := mustIdemEnv(t)
	var ran calls
	if _, err := env.post(created(&ran), http.MethodPost, "/things", `{"a":1}`, "key-1"); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, path, body string }{
		{"other body", "/things", `{"a":2}`},
		{"other path", "/others", `{"a":1}`},
		{"other query", "/things?x=1", `{"a":1}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := env.post(created(&ran), http.MethodPost, tt.path, tt.body, "key-1")
			if !errors.Is(err, store.ErrIdempotencyMismatch) {
				t.Errorf("err = %v, want %v", err, store.ErrIdempotencyMismatch)
			}
		})
	}
	if ran.get() != 1 {
		t.Errorf("handler ran %d times, want 1", ran.get())
	}
	if got := env.outcome(t, "mismatch"); got != float64(len(tests)) {
		t.Errorf("mismatch outcomes = %v, want %d", got, len(tests))
	}
}

func TestIdempotency_InFlight(t *testing.T) {
	env := mustIdemEnv(t)
	var ran calls
	entered, release := make(chan struct{}), make(chan struct{})
	blocking := func(c echo.Context) error {
		ran.inc()
		close(entered)
		<-release
		return c.String(http.StatusOK, "done")
	}
	type result struct {
		rec *httptest.ResponseRecorder
		err error
	}
	done := make(chan result, 1)
	go func() {
		rec, err := env.post(blocking, http.MethodPost, "/things", "body", "key-1")
		done <- result{rec, err}
	}()
	<-entered
	_, err := env.post(okHandler(&ran), http.MethodPost, "/things", "body", "key-1")
	close(release)
	if !errors.Is(err, store.ErrIdempotencyInFlight) {
		t.Errorf("duplicate while the first runs: err = %v, want %v", err, store.ErrIdempotencyInFlight)
	}
	first := <-done
	if first.err != nil || first.rec.Body.String() != "done" {
		t.Fatalf("first request: %v, %q", first.err, first.rec.Body.String())
	}
	again, err := env.post(okHandler(&ran), http.MethodPost, "/things", "body", "key-1")
	if err != nil || again.Body.String() != "done" || again.Header().Get(guard.HeaderReplayed) != "true" {
		t.Errorf("after the first: %v, %q, replayed %q; want its replay", err, again.Body.String(), again.Header().Get(guard.HeaderReplayed))
	}
	if ran.get() != 1 {
		t.Errorf("handlers ran %d times, want 1", ran.get())
	}
	if got := env.outcome(t, "in_flight"); got != 1 {
		t.Errorf("in_flight outcomes = %v, want 1", got)
	}
}

// TestIdempotency_Release checks that a first request that fails gives its
// key up: the retry runs the handler again and its answer is kept.
func TestIdempotency_Release(t *testing.T) {
	errBoom := errors.New("boom")
	tests := []struct {
		name    string
		handler echo.HandlerFunc
		wantErr error
	}{
		{"error", func(echo.Context) error { return errBoom }, errBoom},
		{"server error status", func(c echo.Context) error { return c.String(http.StatusInternalServerError, "oops") }, nil},
		{"unavailable status", func(c echo.Context) error { return c.String(http.StatusServiceUnavailable, "later") }, nil},
		{"panic", func(echo.Context) error { panic("boom") }, nil},
		{"no response", func(echo.Context) error { return nil }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := mustIdemEnv(t)
			var ran calls
			failing := func(c echo.Context) error {
				ran.inc()
				return tt.handler(c)
			}
			var err error
			panicked := func() (p any) {
				defer func() { p = recover() }()
				_, err = env.post(failing, http.MethodPost, "/things", "body", "key-1")
				return nil
			}()
			if tt.name == "panic" && panicked == nil {
				t.Fatal("the panic did not reach the caller")
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("first: err = %v, want %v", err, tt.wantErr)
			}
			rec, err := env.post(created(&ran), http.MethodPost, "/things", "body", "key-1")
			if err != nil || rec.Code != http.StatusCreated || rec.Header().Get(guard.HeaderReplayed) != "" {
				t.Fatalf("retry: %v, %d, replayed %q; want the handler to run", err, rec.Code, rec.Header().Get(guard.HeaderReplayed))
			}
			rec, err = env.post(created(&ran), http.MethodPost, "/things", "body", "key-1")
			if err != nil || rec.Code != http.StatusCreated || rec.Header().Get(guard.HeaderReplayed) != "true" {
				t.Fatalf("after the retry: %v, %d, replayed %q; want the retry's replay", err, rec.Code, rec.Header().Get(guard.HeaderReplayed))
			}
			if ran.get() != 2 {
				t.Errorf("handlers ran %d times, want 2", ran.get())
			}
			if got := env.outcome(t, "released"); got != 1 {
				t.Errorf("released outcomes = %v, want 1", got)
			}
		})
	}
}

// TestIdempotency_Unguarded checks that requests without a key, and
// requests other than POST, run every time.
func TestIdempotency_Unguarded(t *testing.T) {
	tests := []struct {
		name, method string
		keys         []string
	}{
		{"POST without a key", http.MethodPost, nil},
		{"GET with a key", http.MethodGet, []string{"key-1"}},
		{"PUT with a key", http.MethodPut, []string{"key-1"}},
		{"GET with a bad key", http.MethodGet, []string{""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := mustIdemEnv(t)
			var ran calls
			for i := range 3 {
				rec, err := env.post(created(&ran), tt.method, "/things", "body", tt.keys...)
				if err != nil || rec.Header().Get(guard.HeaderReplayed) != "" {
					t.Fatalf("request %d: %v, replayed %q", i, err, rec.Header().Get(guard.HeaderReplayed))
				}
			}
			if ran.get() != 3 {
				t.Errorf("handler ran %d times, want 3", ran.get())
			}
		})
	}
}

func TestIdempotency_KeyHeader(t *testing.T) {
	tests := []struct {
		name string
		keys []string
		ok   bool
	}{
		{"empty", []string{""}, false},
		{"blank", []string{"   "}, false},
		{"empty quoted", []string{`""`}, false},
		{"256 characters", []string{strings.Repeat("k", 256)}, false},
		{"256 characters quoted", []string{`"` + strings.Repeat("k", 256) + `"`}, false},
		{"256 two-byte characters", []string{strings.Repeat("é", 256)}, false},
		{"tab", []string{"a\tb"}, false},
		{"control character", []string{"a\x01b"}, false},
		{"DEL", []string{"a\x7fb"}, false},
		{"newline", []string{"a\nb"}, false},
		{"not UTF-8", []string{"a\xffb"}, false},
		{"two headers", []string{"a", "b"}, false},
		{"two equal headers", []string{"a", "a"}, false},
		{"255 characters", []string{strings.Repeat("k", 255)}, true},
		{"255 characters quoted", []string{`"` + strings.Repeat("k", 255) + `"`}, true},
		{"255 two-byte characters", []string{strings.Repeat("é", 255)}, true},
		{"one character", []string{"k"}, true},
		{"spaces and punctuation", []string{"order 42: retry #1 / ünïcode"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := mustIdemEnv(t)
			var ran calls
			rec, err := env.post(created(&ran), http.MethodPost, "/things", "body", tt.keys...)
			var ke *guard.KeyError
			if !tt.ok {
				if !errors.As(err, &ke) || ke.Reason == "" {
					t.Fatalf("err = %v, want a *guard.KeyError", err)
				}
				if ran.get() != 0 {
					t.Error("the handler ran with a bad key")
				}
				var n int64
				if err := env.st.GORM().Model(&models.IdempotencyKey{}).Count(&n).Error; err != nil || n != 0 {
					t.Errorf("%d keys stored (%v), want none", n, err)
				}
				return
			}
			if err != nil || rec.Code != http.StatusCreated {
				t.Fatalf("first: %v, %d", err, rec.Code)
			}
			again, err := env.post(created(&ran), http.MethodPost, "/things", "body", tt.keys...)
			if err != nil || again.Header().Get(guard.HeaderReplayed) != "true" {
				t.Errorf("again: %v, replayed %q", err, again.Header().Get(guard.HeaderReplayed))
			}
			if ran.get() != 1 {
				t.Errorf("handler ran %d times, want 1", ran.get())
			}
		})
	}
}

// TestIdempotency_QuotedKey checks that a key sent as a structured-field
// string names the same key as the bare one.
func TestIdempotency_QuotedKey(t *testing.T) {
	env := mustIdemEnv(t)
	var ran calls
	if _, err := env.post(created(&ran), http.MethodPost, "/things", "body", "abc"); err != nil {
		t.Fatal(err)
	}
	rec, err := env.post(created(&ran), http.MethodPost, "/things", "body", `"abc"`)
	if err != nil || rec.Header().Get(guard.HeaderReplayed) != "true" {
		t.Errorf(`"abc" after abc: %v, replayed %q; want the replay`, err, rec.Header().Get(guard.HeaderReplayed))
	}
	if _, err := env.post(created(&ran), http.MethodPost, "/things", "other", `"abc"`); !errors.Is(err, store.ErrIdempotencyMismatch) {
		t.Errorf(`"abc" with another body: err = %v, want %v`, err, store.ErrIdempotencyMismatch)
	}
	if ran.get() != 1 {
		t.Errorf("handler ran %d times, want 1", ran.get())
	}
}
