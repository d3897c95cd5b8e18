package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"switchboard/cmd/switchboard/binarytest"
	"switchboard/ratelimit/redistest"
	"switchboard/store"
	"switchboard/store/storetest"
)

// rpcAnswer is a JSON-RPC answer of the CallGear endpoint.
type rpcAnswer struct {
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

// reveLogin is a REVE request with Basic credentials from the client
// address from, which the server believes from X-Forwarded-For when it
// trusts the loopback proxy.
func reveLogin(email, password, from string) request {
	return request{method: http.MethodGet, path: "/api/offlinemessages", user: email, pass: password,
		header: map[string]string{"X-Forwarded-For": from}}
}

// callgearLogin is CallGear's login.user from the client address from.
func callgearLogin(t *testing.T, email, password, from string) request {
	t.Helper()
	body, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": "login.user",
		"params": map[string]any{"login": email, "password": password}})
	if err != nil {
		t.Fatal(err)
	}
	return request{method: http.MethodPost, path: "/data-api/v2.0", body: body, header: map[string]string{"X-Forwarded-For": from}}
}

// mustThrottleWait returns the Retry-After of a throttled login, failing
// unless it is a whole number of seconds within the 5-minute window.
func mustThrottleWait(t *testing.T, r reply) int {
	t.Helper()
	n, err := strconv.Atoi(r.header.Get("Retry-After"))
	if err != nil || n < 1 || n > 300 {
		t.Fatalf("Retry-After = %q, want 1 to 300 seconds", r.header.Get("Retry-After"))
	}
	return n
}

// mustREVEThrottled checks a REVE answer is its 429 for a spent
// per-address window, with Retry-After and the same wait in the message.
func mustREVEThrottled(t *testing.T, r reply) {
	t.Helper()
	if r.code != http.StatusTooManyRequests {
		t.Fatalf("%d %s, want 429", r.code, r.body)
	}
	wait := mustThrottleWait(t, r)
	var body struct {
		Error []struct {
			Code    int
			Message string
		}
	}
	mustJSON(t, "REVE 429", r.body, &body)
	want := fmt.Sprintf("Too many failed logins for this address: the limit is 5 per 5 minutes. Please wait %d seconds and try again.", wait)
	if len(body.Error) != 1 || body.Error[0].Code != http.StatusTooManyRequests || body.Error[0].Message != want {
		t.Errorf("429 body %s, want REVE's error with code 429 and %q", r.body, want)
	}
}

// TestE2E_LoginThrottle sends wrong passwords to the real binary with its
// default failed-login limits: the sixth from one address is refused with
// 429 and Retry-After in REVE and with -32029 and Retry-After in CallGear's
// login.user, while another superadmin from another address still logs in
// through both. The server gives the Go scheduler a P per password check
// beyond its own.
func TestE2E_LoginThrottle(t *testing.T) {
	bin := mustBuild(t)
	dbURL := storetest.MustURL(t, store.SQLite)
	s := mustStartWith(t, bin, dbURL, map[string]string{"SWITCHBOARD_TRUSTED_PROXIES": "127.0.0.1", "SWITCHBOARD_PASSWORD_CHECKS": "3"})
	email, _, _ := binarytest.MustCredentials(t, s.stdout)
	var checks struct {
		AtOnce     int `json:"at_once"`
		GOMAXPROCS int `json:"gomaxprocs"`
	}
	for _, line := range strings.Split(s.logs.String(), "\n") {
		if strings.Contains(line, `"msg":"password checks"`) {
			mustJSON(t, "password checks log", line, &checks)
		}
	}
	if want := runtime.GOMAXPROCS(0) + 3; checks.AtOnce != 3 || checks.GOMAXPROCS != want {
		t.Errorf("password checks logged %+v, want 3 at once and GOMAXPROCS %d", checks, want)
	}
	mustRunBinary(t, bin, dbURL, "agent", "create", "--account", "1", "--email", "second@example.com",
		"--password", "second-password", "--role", "superadmin")

	t.Run("reve", func(t *testing.T) {
		for i := range 5 {
			if r := s.mustSend(t, reveLogin(email, fmt.Sprintf("wrong-password-%d", i), "203.0.113.10")); r.code != http.StatusUnauthorized {
				t.Fatalf("wrong password %d = %d %s, want 401", i+1, r.code, r.body)
			}
		}
		mustREVEThrottled(t, s.mustSend(t, reveLogin(email, "wrong-password-6", "203.0.113.10")))
	})
	t.Run("callgear", func(t *testing.T) {
		// An unknown login costs and counts as a wrong password does.
		var a rpcAnswer
		for i := range 5 {
			r := s.mustSend(t, callgearLogin(t, "nobody@example.com", fmt.Sprintf("wrong-password-%d", i), "203.0.113.11"))
			mustJSON(t, "login.user", r.body, &a)
			if r.code != http.StatusOK || a.Error == nil || a.Error.Data.Mnemonic != "auth_error" {
				t.Fatalf("wrong password %d = %d %s, want auth_error", i+1, r.code, r.body)
			}
		}
		r := s.mustSend(t, callgearLogin(t, "nobody@example.com", "wrong-password-6", "203.0.113.11"))
		mustJSON(t, "login.user", r.body, &a)
		const want = "Limit of failed logins per address has been exceeded. Value of current limit per 5 minutes is 5"
		if r.code != http.StatusOK || a.Error == nil || a.Error.Code != -32029 || a.Error.Data.Mnemonic != "limit_exceeded" || a.Error.Message != want {
			t.Fatalf("sixth wrong password = %d %s, want HTTP 200 with -32029 limit_exceeded %q", r.code, r.body, want)
		}
		mustThrottleWait(t, r)
	})
	t.Run("another login from another address", func(t *testing.T) {
		if r := s.mustSend(t, reveLogin("second@example.com", "second-password", "203.0.113.12")); r.code != http.StatusOK {
			t.Errorf("REVE = %d %s, want 200", r.code, r.body)
		}
		r := s.mustSend(t, callgearLogin(t, "second@example.com", "second-password", "203.0.113.12"))
		var a rpcAnswer
		mustJSON(t, "login.user", r.body, &a)
		if r.code != http.StatusOK || a.Result == nil || a.Result.Data.AccessToken == "" {
			t.Errorf("login.user = %d %s, want a session token", r.code, r.body)
		}
	})
}

// TestE2E_LoginThrottleAcrossReplicas runs two replicas on one PostgreSQL
// database and one Redis and sends one address's wrong passwords to each in
// turn: they count together, so the sixth is refused on either.
func TestE2E_LoginThrottleAcrossReplicas(t *testing.T) {
	bin := mustBuild(t)
	u := redistest.MustURL(t)
	env := map[string]string{"SWITCHBOARD_REDIS_URL": u, "SWITCHBOARD_REDIS_PREFIX": redistest.MustPrefix(t, u),
		"SWITCHBOARD_TRUSTED_PROXIES": "127.0.0.1"}
	dbURL := mustPostgresURL(t)
	a := mustStartWith(t, bin, dbURL, env)
	email, _, _ := binarytest.MustCredentials(t, a.stdout)
	b := mustStartWith(t, bin, dbURL, env)
	replicas := []*server{a, b}
	for i := range 5 {
		if r := replicas[i%2].mustSend(t, reveLogin(email, fmt.Sprintf("wrong-password-%d", i), "203.0.113.20")); r.code != http.StatusUnauthorized {
			t.Fatalf("wrong password %d = %d %s, want 401", i+1, r.code, r.body)
		}
	}
	for i, s := range replicas {
		t.Run(fmt.Sprintf("replica %d", i+1), func(t *testing.T) {
			mustREVEThrottled(t, s.mustSend(t, reveLogin(email, "wrong-password-6", "203.0.113.20")))
		})
	}
}
