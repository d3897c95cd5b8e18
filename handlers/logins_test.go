package handlers_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"switchboard/auth"
	"switchboard/models"
	"switchboard/ratelimit"
	"switchboard/store"
	"switchboard/store/storetest"
)

// countingHasher is bcrypt at its lowest cost that counts its Verify calls:
// the password checks the requests cost.
type countingHasher struct {
	auth.Hasher
	verifies atomic.Int64
}

func (h *countingHasher) Verify(hash, password string) bool {
	h.verifies.Add(1)
	return h.Hasher.Verify(hash, password)
}

// blockingHasher's Verify reports itself on entered and then waits until
// the test releases it before it answers: a password check that lasts as
// long as the test wants.
type blockingHasher struct {
	auth.Hasher
	entered  chan running
	verifies atomic.Int64
}

// running is a password check in progress: closing release lets it answer.
type running struct {
	password string
	release  chan struct{}
}

func (h *blockingHasher) Verify(hash, password string) bool {
	h.verifies.Add(1)
	r := running{password: password, release: make(chan struct{})}
	h.entered <- r
	<-r.release
	return h.Hasher.Verify(hash, password)
}

// fakeClock is a clock that moves only when the test says.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// outcome is what a password login was answered, in any dialect.
type outcome int

const (
	loggedIn outcome = iota
	badCredentials
	throttled
	busy
)

func (o outcome) String() string {
	return [...]string{"logged in", "bad credentials", "throttled", "busy"}[o]
}

// loginDialect is one dialect's password login: REVE's Basic credentials on
// GET /api/agents and CallGear's login.user, and how to read its answers.
type loginDialect struct {
	name string
	req  func(email, password, remote string) guardReq
	// read returns the answer's outcome and, for a refusal by the throttle
	// or the bound, its message; it fails on an answer of another shape.
	read func(tb testing.TB, rec *httptest.ResponseRecorder) (outcome, string)
}

func loginDialects() []loginDialect {
	return []loginDialect{
		{name: "reve", req: func(email, password, remote string) guardReq {
			return guardReq{method: http.MethodGet, path: "/api/agents", auth: basicAuth(email, password), remote: remote}
		}, read: readREVELogin},
		{name: "callgear", req: func(email, password, remote string) guardReq {
			body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": "login.user",
				"params": map[string]any{"login": email, "password": password}})
			return guardReq{method: http.MethodPost, path: "/data-api/v2.0", body: string(body), remote: remote}
		}, read: readCallGearLogin},
	}
}

func readREVELogin(tb testing.TB, rec *httptest.ResponseRecorder) (outcome, string) {
	tb.Helper()
	var body struct {
		Error []struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	switch rec.Code {
	case http.StatusOK:
		return loggedIn, ""
	case http.StatusUnauthorized:
		if rec.Body.String() != "Bad credentials" {
			tb.Fatalf("401 body %q, want REVE's Bad credentials", rec.Body)
		}
		return badCredentials, ""
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || len(body.Error) != 1 || body.Error[0].Code != rec.Code {
			tb.Fatalf("%d body %s, want REVE's {\"error\":[{\"code\":%d,...}]}", rec.Code, rec.Body, rec.Code)
		}
		if rec.Code == http.StatusServiceUnavailable {
			return busy, body.Error[0].Message
		}
		return throttled, body.Error[0].Message
	}
	tb.Fatalf("REVE login answered %d %s", rec.Code, rec.Body)
	return 0, ""
}

func readCallGearLogin(tb testing.TB, rec *httptest.ResponseRecorder) (outcome, string) {
	tb.Helper()
	var res struct {
		Result *struct {
			Data struct {
				AccessToken string `json:"access_token"`
			} `json:"data"`
		} `json:"result"`
		Error *struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
			Data    struct {
				Mnemonic string `json:"mnemonic"`
			} `json:"data"`
		} `json:"error"`
	}
	if rec.Code != http.StatusOK {
		tb.Fatalf("login.user answered HTTP %d %s, want 200", rec.Code, rec.Body)
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &res); err != nil {
		tb.Fatalf("login.user answer %s: %v", rec.Body, err)
	}
	switch {
	case res.Result != nil && res.Result.Data.AccessToken != "":
		return loggedIn, ""
	case res.Error != nil && res.Error.Code == -32001 && res.Error.Data.Mnemonic == "auth_error":
		return badCredentials, ""
	case res.Error != nil && res.Error.Code == -32029 && res.Error.Data.Mnemonic == "limit_exceeded":
		if strings.Contains(res.Error.Message, "password checks") {
			return busy, res.Error.Message
		}
		return throttled, res.Error.Message
	}
	tb.Fatalf("login.user answered %s", rec.Body)
	return 0, ""
}

// TestRouter_LoginThrottle sends wrong passwords through the real router in
// REVE and CallGear and counts the password checks: the sixth failure from
// an address and the eleventh of a login are refused with the dialect's
// 429 (CallGear's -32029) and Retry-After before any bcrypt runs, while
// another login from another address, and a login's cached credentials,
// still work.
func TestRouter_LoginThrottle(t *testing.T) {
	reveMessage := regexp.MustCompile(`^Too many failed logins for this (address|login): the limit is (\d+) per (5|15) minutes\. Please wait (\d+) seconds and try again\.$`)
	callgearMessage := regexp.MustCompile(`^Limit of failed logins per (address|login) has been exceeded\. Value of current limit per (5|15) minutes is (\d+)$`)
	for _, d := range loginDialects() {
		t.Run(d.name, func(t *testing.T) {
			st := storetest.MustOpen(t, store.SQLite)
			h := &countingHasher{Hasher: auth.Hasher{Cost: bcrypt.MinCost}}
			env := mustGuardEnv(t, st, guardOpts{basic: auth.BasicOptions{Hasher: h,
				Throttle: auth.NewThrottle(ratelimit.NewMemory(), auth.DefaultThrottleConfig(), nil)}})
			hash, err := h.Hash(guardPassword)
			if err != nil {
				t.Fatal(err)
			}
			ann := storetest.MustAgent(t, st, env.acct.ID, storetest.Name("ann")+"@example.com", models.RoleSuperadmin, hash)
			boss := env.boss.Email
			steps := []struct {
				name            string
				email, password string
				// remote is the peer address of the i-th request.
				remote func(i int) string
				times  int
				want   outcome
				// by is the window a throttled answer names.
				by string
				// verifies is the password checks the requests cost together.
				verifies int64
			}{
				{"five wrong passwords from an address", boss, "wrong-password", at("192.0.2.1"), 5, badCredentials, "", 5},
				{"the sixth", boss, "wrong-password-6", at("192.0.2.1"), 1, throttled, "address", 0},
				{"the right password from that address", boss, guardPassword, at("192.0.2.1"), 1, throttled, "address", 0},
				{"another login from another address", ann.Email, guardPassword, at("192.0.2.2"), 1, loggedIn, "", 1},
				{"ten wrong passwords for it from ten addresses", ann.Email, "wrong-password", seqAt("198.51.100.%d"), 10, badCredentials, "", 10},
				{"its eleventh from anywhere", ann.Email, "wrong-password-11", at("203.0.113.1"), 1, throttled, "login", 0},
				{"its cached credentials still work", ann.Email, guardPassword, at("192.0.2.2"), 1, loggedIn, "", 0},
				{"an unknown login counts too", "nobody@example.com", "wrong-password", at("203.0.113.2"), 5, badCredentials, "", 5},
				{"and is throttled alike", "nobody@example.com", "wrong-password", at("203.0.113.2"), 1, throttled, "address", 0},
			}
			for _, s := range steps {
				t.Run(s.name, func(t *testing.T) {
					before := h.verifies.Load()
					for i := range s.times {
						rec := env.serve(d.req(s.email, s.password, s.remote(i)+":1234"))
						got, msg := d.read(t, rec)
						if got != s.want {
							t.Fatalf("request %d: %s, want %s (%d %s)", i+1, got, s.want, rec.Code, rec.Body)
						}
						if got != throttled {
							if v := rec.Header().Get("Retry-After"); v != "" {
								t.Errorf("request %d: %s with Retry-After %q", i+1, got, v)
							}
							continue
						}
						wait, err := strconv.Atoi(rec.Header().Get("Retry-After"))
						window := map[string]int{"address": 300, "login": 900}[s.by]
						if err != nil || wait < 1 || wait > window {
							t.Errorf("Retry-After = %q, want 1..%d seconds", rec.Header().Get("Retry-After"), window)
						}
						var by, limit string
						switch d.name {
						case "reve":
							m := reveMessage.FindStringSubmatch(msg)
							if m == nil {
								t.Fatalf("429 message %q, want %s", msg, reveMessage)
							}
							by, limit = m[1], m[2]
							if m[4] != strconv.Itoa(wait) {
								t.Errorf("message says wait %s seconds, Retry-After %d", m[4], wait)
							}
						case "callgear":
							m := callgearMessage.FindStringSubmatch(msg)
							if m == nil {
								t.Fatalf("-32029 message %q, want %s", msg, callgearMessage)
							}
							by, limit = m[1], m[3]
						}
						if wantLimit := map[string]string{"address": "5", "login": "10"}[s.by]; by != s.by || limit != wantLimit {
							t.Errorf("throttled by %s with limit %s, want %s with %s: %q", by, limit, s.by, wantLimit, msg)
						}
					}
					if got := h.verifies.Load() - before; got != s.verifies {
						t.Errorf("%d password checks, want %d", got, s.verifies)
					}
				})
			}
		})
	}
}

// at returns the same address for every request; seqAt the format filled
// with the request's number from 1.
func at(addr string) func(int) string { return func(int) string { return addr } }
func seqAt(format string) func(int) string {
	return func(i int) string { return fmt.Sprintf(format, i+1) }
}

// TestRouter_PasswordChecksBusy holds the one password check a router may
// run with a check that blocks: the next login, with nowhere to wait, is
// answered with the dialect's busy error (REVE 503, CallGear -32029) and
// Retry-After: 1 without running bcrypt, credentials verified before are
// checked again without waiting, and the held check ends normally.
func TestRouter_PasswordChecksBusy(t *testing.T) {
	for _, d := range loginDialects() {
		t.Run(d.name, func(t *testing.T) {
			h := &blockingHasher{Hasher: auth.Hasher{Cost: bcrypt.MinCost}, entered: make(chan running)}
			clk := &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
			// A wait of a nanosecond: the check that blocks holds the only
			// slot until the test releases it, so the next one is refused
			// whatever the scheduler does.
			env := mustGuardEnv(t, storetest.MustOpen(t, store.SQLite), guardOpts{basic: auth.BasicOptions{Hasher: h,
				MaxChecks: 1, MaxWait: time.Nanosecond, CacheTTL: time.Minute, Now: clk.Now}})
			serve := func(password, remote string) <-chan *httptest.ResponseRecorder {
				done := make(chan *httptest.ResponseRecorder, 1)
				go func() { done <- env.serve(d.req(env.boss.Email, password, remote)) }()
				return done
			}
			// The dashboard's credentials, verified once, then past the cache.
			dashboard := serve(guardPassword, "198.51.100.1:1234")
			close((<-h.entered).release)
			if got, _ := d.read(t, <-dashboard); got != loggedIn {
				t.Fatalf("first login: %s", got)
			}
			clk.Advance(2 * time.Minute)

			held := serve("wrong-password-1", "192.0.2.1:1234")
			slot := <-h.entered
			h.verifies.Store(1)

			rec := env.serve(d.req(env.boss.Email, "wrong-password-2", "192.0.2.2:1234"))
			got, msg := d.read(t, rec)
			wantMsg := map[string]string{
				"reve":     "Too many logins are being checked at once. Please wait 1 second and try again.",
				"callgear": "Limit of password checks at once has been exceeded. Retry in 1 second",
			}[d.name]
			if got != busy || msg != wantMsg {
				t.Errorf("second login: %s %q, want busy %q", got, msg, wantMsg)
			}
			if v := rec.Header().Get("Retry-After"); v != "1" {
				t.Errorf("Retry-After = %q, want 1", v)
			}
			if n := h.verifies.Load(); n != 1 {
				t.Errorf("%d password checks ran, want only the held one", n)
			}

			// Not a guess: checked again beside the held check, not refused.
			dashboard = serve(guardPassword, "198.51.100.1:1234")
			close((<-h.entered).release)
			if got, _ := d.read(t, <-dashboard); got != loggedIn {
				t.Errorf("the dashboard's known credentials: %s, want logged in", got)
			}

			close(slot.release)
			if got, _ := d.read(t, <-held); got != badCredentials {
				t.Errorf("held login: %s, want bad credentials", got)
			}
		})
	}
}
