package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"switchboard/cmd/switchboard/binarytest"
	"switchboard/ratelimit/redistest"
	"switchboard/store"
	"switchboard/store/storetest"
)

// HelpCrunch's error bodies for the guards, byte for byte.
const (
	hcTooManyRequests = `{"errors":[{"code":"invalid_request","message":"Invalid request"},{"code":"too_many_requests","message":"Too many requests"}]}` + "\n"
	hcKeyInFlight     = `{"errors":[{"code":"invalid_request","message":"Invalid request"},{"code":"idempotency_key_in_use","message":"A request with this Idempotency-Key is still in progress"}]}` + "\n"
	hcKeyReused       = `{"errors":[{"code":"invalid_request","message":"Invalid request"},{"code":"idempotency_key_reused","message":"This Idempotency-Key was used with a different request"}]}` + "\n"
)

// request is one HTTP request to a running server: a bearer token or Basic
// credentials, extra headers and a raw body.
type request struct {
	method, path string
	token        string
	user, pass   string
	header       map[string]string
	body         []byte
}

// reply is what the server answered.
type reply struct {
	code   int
	header http.Header
	body   string
}

// send does one request. It returns an error instead of failing the test so
// that goroutines may use it.
func (s *server) send(r request) (reply, error) {
	var rd io.Reader
	if r.body != nil {
		rd = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(context.Background(), r.method, "http://"+s.addr+r.path, rd)
	if err != nil {
		return reply{}, err
	}
	if r.token != "" {
		req.Header.Set("Authorization", "Bearer "+r.token)
	}
	if r.user != "" {
		req.SetBasicAuth(r.user, r.pass)
	}
	if r.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range r.header {
		req.Header.Set(k, v)
	}
	res, err := s.client.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return reply{}, err
	}
	return reply{code: res.StatusCode, header: res.Header, body: string(b)}, nil
}

// mustSend is send that fails the test on a transport error.
func (s *server) mustSend(t *testing.T, r request) reply {
	t.Helper()
	rep, err := s.send(r)
	if err != nil {
		t.Fatalf("%s %s: %v", r.method, r.path, err)
	}
	return rep
}

// mustStartWith starts serve like mustStart with the environment variables
// env set (for the rest of the test), so that the server reads its guard
// settings from them as from their flags.
func mustStartWith(t *testing.T, bin, dbURL string, env map[string]string) *server {
	t.Helper()
	for k, v := range env {
		t.Setenv(k, v)
	}
	return mustStart(t, bin, dbURL)
}

// mustPostgresURL returns a fresh PostgreSQL database; the test is skipped
// when PostgreSQL does not answer, and fails when the suite requires it.
func mustPostgresURL(t *testing.T) string {
	t.Helper()
	if !slices.Contains(storetest.Backends(t), store.Postgres) {
		t.Skip("two replicas on one database need PostgreSQL, which does not answer")
	}
	return storetest.MustURL(t, store.Postgres)
}

// runBinary runs an admin command of the real binary on dbURL and returns
// what it printed and its exit status.
func runBinary(t *testing.T, bin, dbURL string, args ...string) (stdout, stderr string, status int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "SWITCHBOARD_DATABASE_URL="+dbURL)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		status = exit.ExitCode()
	default:
		t.Fatalf("%v: %v", args, err)
	}
	return out.String(), errOut.String(), status
}

// mustRunBinary is runBinary for a command that must succeed; it returns
// its standard output.
func mustRunBinary(t *testing.T, bin, dbURL string, args ...string) string {
	t.Helper()
	out, errOut, status := runBinary(t, bin, dbURL, args...)
	if status != 0 {
		t.Fatalf("switchboard %s: exit status %d\n%s", strings.Join(args, " "), status, errOut)
	}
	return out
}

// mustRetryAfter returns the response's Retry-After in seconds, failing
// unless it is a whole number of seconds within a minute's window.
func mustRetryAfter(t *testing.T, r reply) int {
	t.Helper()
	n, err := strconv.Atoi(r.header.Get("Retry-After"))
	if err != nil || n < 1 || n > 60 {
		t.Fatalf("Retry-After = %q, want 1 to 60 seconds", r.header.Get("Retry-After"))
	}
	return n
}

// minuteRemaining reads the minute window's remaining requests from the
// RateLimit header, or -1 when it has none.
func minuteRemaining(h http.Header) int {
	m := regexp.MustCompile(`"minute";r=(\d+);t=\d+`).FindStringSubmatch(h.Get("RateLimit"))
	if m == nil {
		return -1
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// TestE2E_RateLimitSharedAcrossReplicas runs two replicas on one PostgreSQL
// database and sends one key's requests to each in turn: on one Redis they
// enforce the account's limit together, without Redis each counts alone.
func TestE2E_RateLimitSharedAcrossReplicas(t *testing.T) {
	bin := mustBuild(t)
	tests := []struct {
		name  string
		redis bool
		// wantPassed is how many of the 12 requests pass: the account's
		// limit is 5 a minute, on the replicas together or on each.
		wantPassed int
		// remaining is the minute window's remaining requests the i-th
		// (0-based) passing request reports.
		remaining func(i int) int
	}{
		{"one Redis counts for both", true, 5, func(i int) int { return 5 - (i + 1) }},
		{"without Redis each counts alone", false, 10, func(i int) int { return 5 - (i/2 + 1) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"SWITCHBOARD_REDIS_URL": "", "SWITCHBOARD_REDIS_PREFIX": ""}
			if tt.redis {
				u := redistest.MustURL(t)
				env = map[string]string{"SWITCHBOARD_REDIS_URL": u, "SWITCHBOARD_REDIS_PREFIX": redistest.MustPrefix(t, u)}
			}
			dbURL := mustPostgresURL(t)
			a := mustStartWith(t, bin, dbURL, env)
			_, _, token := binarytest.MustCredentials(t, a.stdout)
			mustRunBinary(t, bin, dbURL, "account", "update", "--id", "1", "--rate-limit", "5")
			b := mustStartWith(t, bin, dbURL, env)
			replicas := []*server{a, b}

			// 12 rather than 10: the last two show that without Redis the
			// limit still holds, on each replica alone.
			var codes []int
			for i := range 12 {
				r := replicas[i%2].mustSend(t, request{method: http.MethodGet, path: "/v1/chats", token: token})
				codes = append(codes, r.code)
				switch {
				case r.code == http.StatusOK:
					if got, want := minuteRemaining(r.header), tt.remaining(i); got != want {
						t.Errorf("request %d: RateLimit %q, want %d remaining in the minute", i+1, r.header.Get("RateLimit"), want)
					}
				case r.code == http.StatusTooManyRequests:
					if r.body != hcTooManyRequests {
						t.Errorf("request %d: 429 body %s, want HelpCrunch's %s", i+1, r.body, hcTooManyRequests)
					}
					mustRetryAfter(t, r)
					if got := minuteRemaining(r.header); got != 0 {
						t.Errorf("request %d: 429 with RateLimit %q, want 0 remaining", i+1, r.header.Get("RateLimit"))
					}
				default:
					t.Errorf("request %d: %d %s", i+1, r.code, r.body)
				}
			}
			var want []int
			for i := range 12 {
				want = append(want, map[bool]int{true: http.StatusOK, false: http.StatusTooManyRequests}[i < tt.wantPassed])
			}
			if !slices.Equal(codes, want) {
				t.Errorf("statuses over the two replicas = %v, want %v", codes, want)
			}
		})
	}
}

// TestE2E_IdempotencyAcrossReplicas sends 50 copies of one HelpCrunch POST
// with one Idempotency-Key, at once, to two replicas on one PostgreSQL
// database: the message is written once, every answer is that success or a
// 409, and a later retry on either replica is a replay.
func TestE2E_IdempotencyAcrossReplicas(t *testing.T) {
	bin := mustBuild(t)
	dbURL := mustPostgresURL(t)
	a := mustStart(t, bin, dbURL)
	email, _, token := binarytest.MustCredentials(t, a.stdout)
	b := mustStart(t, bin, dbURL)
	replicas := []*server{a, b}

	st := storetest.MustOpenURL(t, dbURL)
	admin, err := st.AgentByEmail(t.Context(), email)
	if err != nil {
		t.Fatal(err)
	}
	ct := storetest.MustContact(t, st, admin.AccountID, "Visitor", "v@example.com", "+14155550111")
	chat := storetest.MustOfflineCase(t, st, admin.AccountID, ct.ID, "Hi", "Is anyone there?", time.Now().Add(-time.Hour))

	body, err := json.Marshal(map[string]any{"chat": chat.ID, "text": "Exactly once", "agent": admin.ID, "type": "message"})
	if err != nil {
		t.Fatal(err)
	}
	post := request{method: http.MethodPost, path: "/v1/messages", token: token, body: body,
		header: map[string]string{"Idempotency-Key": "e2e-" + rand.Text()}}

	const n = 50
	replies := make([]reply, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			replies[i], errs[i] = replicas[i%2].send(post)
		})
	}
	close(start)
	wg.Wait()

	var success string
	var fresh, replayed, inFlight int
	for i, r := range replies {
		if errs[i] != nil {
			t.Fatalf("request %d: %v", i, errs[i])
		}
		switch r.code {
		case http.StatusOK:
			if success == "" {
				success = r.body
			} else if r.body != success {
				t.Errorf("request %d answered %s, another %s: want one success byte for byte", i, r.body, success)
			}
			if r.header.Get("Idempotent-Replayed") == "true" {
				replayed++
			} else {
				fresh++
			}
		case http.StatusConflict:
			inFlight++
			if r.body != hcKeyInFlight {
				t.Errorf("request %d: 409 %s, want HelpCrunch's %s", i, r.body, hcKeyInFlight)
			}
		default:
			t.Errorf("request %d: %d %s, want 200 or 409", i, r.code, r.body)
		}
	}
	t.Logf("%d ran, %d replayed, %d in flight", fresh, replayed, inFlight)
	if fresh != 1 {
		t.Errorf("%d requests ran the handler (200 without Idempotent-Replayed), want exactly 1", fresh)
	}
	if !strings.Contains(success, `"text":"Exactly once"`) {
		t.Fatalf("the success is %s, want the new message", success)
	}

	// The chat holds the visitor's message and one copy of the reply.
	r := a.mustSend(t, request{method: http.MethodGet, path: fmt.Sprintf("/v1/chats/%d/messages", chat.ID), token: token})
	var list struct {
		Data  []struct{ Text string }
		Total int
	}
	mustJSON(t, "GET /v1/chats/{id}/messages", r.body, &list)
	copies := 0
	for _, m := range list.Data {
		if m.Text == "Exactly once" {
			copies++
		}
	}
	if r.code != http.StatusOK || list.Total != 2 || copies != 1 {
		t.Errorf("messages after 50 posts = %d %s; want 2 in all, the reply once", r.code, r.body)
	}

	// Later retries replay on either replica; another body with the key is refused.
	for i, s := range replicas {
		r := s.mustSend(t, post)
		if r.code != http.StatusOK || r.body != success || r.header.Get("Idempotent-Replayed") != "true" {
			t.Errorf("retry on replica %d = %d %q %s; want the success replayed", i, r.code, r.header.Get("Idempotent-Replayed"), r.body)
		}
	}
	other := post
	other.body = bytes.Replace(body, []byte("Exactly once"), []byte("Something else"), 1)
	if r := b.mustSend(t, other); r.code != http.StatusUnprocessableEntity || r.body != hcKeyReused {
		t.Errorf("the key with another body = %d %s, want 422 %s", r.code, r.body, hcKeyReused)
	}
}

// TestE2E_RedisDownFailsOpen runs serve with a Redis nobody listens on:
// requests are served, the metrics count the checks that could not run, and
// the server warns.
func TestE2E_RedisDownFailsOpen(t *testing.T) {
	bin := mustBuild(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()

	dbURL := storetest.MustURL(t, store.SQLite)
	s := mustStartWith(t, bin, dbURL, map[string]string{
		"SWITCHBOARD_REDIS_URL": "redis://" + dead + "/0", "SWITCHBOARD_REDIS_PREFIX": "switchboard-test-down",
	})
	_, _, token := binarytest.MustCredentials(t, s.stdout)
	for i := range 3 {
		if r := s.mustSend(t, request{method: http.MethodGet, path: "/v1/chats", token: token}); r.code != http.StatusOK {
			t.Errorf("request %d with Redis down = %d %s, want 200", i+1, r.code, r.body)
		}
	}

	r := s.mustSend(t, request{method: http.MethodGet, path: "/metrics"})
	if r.code != http.StatusOK {
		t.Fatalf("/metrics = %d %s", r.code, r.body)
	}
	for _, policy := range []string{"ip", "minute"} {
		m := regexp.MustCompile(`(?m)^switchboard_ratelimit_unavailable_total\{policy="` + policy + `"\} (\S+)$`).FindStringSubmatch(r.body)
		if m == nil {
			t.Errorf("/metrics has no switchboard_ratelimit_unavailable_total for policy %s:\n%s", policy, r.body)
			continue
		}
		if v, err := strconv.ParseFloat(m[1], 64); err != nil || v <= 0 {
			t.Errorf("switchboard_ratelimit_unavailable_total{policy=%q} = %s, want more than 0", policy, m[1])
		}
	}
	if logs := s.logs.String(); !strings.Contains(logs, `"level":"WARN","msg":"rate limit redis`) {
		t.Errorf("no warning about Redis in the server's logs:\n%s", logs)
	}
}

// TestE2E_AccountRateLimitFlags sets an account's request limits with the
// binary's account commands and reads them back in the RateLimit-Policy of
// its key's requests.
func TestE2E_AccountRateLimitFlags(t *testing.T) {
	bin := mustBuild(t)
	dbURL := storetest.MustURL(t, store.SQLite)
	s := mustStart(t, bin, dbURL)

	var acct struct {
		ID             int64
		RateLimit      int `json:"rate_limit"`
		DailyRateLimit int `json:"daily_rate_limit"`
	}
	out := mustRunBinary(t, bin, dbURL, "account", "create", "--name", "Limited", "--rate-limit", "7", "--daily-rate-limit", "70", "--json")
	mustJSON(t, "account create --json", out, &acct)
	if acct.ID == 0 || acct.RateLimit != 7 || acct.DailyRateLimit != 70 {
		t.Fatalf("account create --json printed %s, want rate_limit 7 and daily_rate_limit 70", out)
	}
	id := fmt.Sprint(acct.ID)

	bad := []struct {
		name       string
		args       []string
		wantStatus int
		wantErr    string
	}{
		{"negative rate limit", []string{"--rate-limit", "-1"}, 1, "switchboard: --rate-limit: must be 0 (the default) or more"},
		{"negative daily limit", []string{"--daily-rate-limit", "-5"}, 1, "switchboard: --daily-rate-limit: must be 0 (the default) or more"},
		{"not a number", []string{"--rate-limit", "many"}, 2, `invalid value "many" for flag --rate-limit`},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, status := runBinary(t, bin, dbURL, append([]string{"account", "update", "--id", id}, tt.args...)...)
			if status != tt.wantStatus || !strings.Contains(errOut, tt.wantErr) || out != "" {
				t.Errorf("exit status %d, stdout %q, stderr %q; want status %d and %q", status, out, errOut, tt.wantStatus, tt.wantErr)
			}
		})
	}
	st := storetest.MustOpenURL(t, dbURL)
	if a, err := st.Account(t.Context(), acct.ID); err != nil || a.RateLimit != 7 || a.DailyRateLimit != 70 {
		t.Errorf("after the refused updates the account is %d/%d, %v; want 7/70", a.RateLimit, a.DailyRateLimit, err)
	}

	// A key needs a superadmin of the account to own it.
	mustRunBinary(t, bin, dbURL, "agent", "create", "--account", id, "--email", "owner@example.com",
		"--password", "owner-password", "--role", "superadmin")
	var key struct{ Token string }
	mustJSON(t, "key create --json", mustRunBinary(t, bin, dbURL, "key", "create", "--account", id, "--json"), &key)
	list := request{method: http.MethodGet, path: "/v1/chats", token: key.Token}
	r := s.mustSend(t, list)
	if policy := r.header.Get("RateLimit-Policy"); r.code != http.StatusOK ||
		!strings.Contains(policy, `"minute";q=7;w=60`) || !strings.Contains(policy, `"day";q=70;w=86400`) {
		t.Fatalf("first request = %d, RateLimit-Policy %q; want q=7 a minute and q=70 a day", r.code, policy)
	}

	out = mustRunBinary(t, bin, dbURL, "account", "update", "--id", id, "--rate-limit", "100", "--daily-rate-limit", "1000", "--json")
	updated := time.Now()
	mustJSON(t, "account update --json", out, &acct)
	if acct.RateLimit != 100 || acct.DailyRateLimit != 1000 {
		t.Fatalf("account update --json printed %s, want rate_limit 100 and daily_rate_limit 1000", out)
	}
	// Every replica reads the change within 5 s; until then the old limit
	// (7 a minute) may refuse the polls, whose headers still name it.
	for {
		r = s.mustSend(t, list)
		policy := r.header.Get("RateLimit-Policy")
		if r.code == http.StatusOK && strings.Contains(policy, `"minute";q=100;w=60`) && strings.Contains(policy, `"day";q=1000;w=86400`) {
			break
		}
		if time.Since(updated) > 5*time.Second {
			t.Fatalf("5 s after the update: %d, RateLimit-Policy %q; want q=100 a minute and q=1000 a day", r.code, policy)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestE2E_REVEPerAgentLimit sends a REVE superadmin's requests past the
// account's limit: REVE's 429 names the wait, and another superadmin of the
// account still has requests of its own.
func TestE2E_REVEPerAgentLimit(t *testing.T) {
	bin := mustBuild(t)
	dbURL := storetest.MustURL(t, store.SQLite)
	s := mustStart(t, bin, dbURL)
	email, password, _ := binarytest.MustCredentials(t, s.stdout)
	mustRunBinary(t, bin, dbURL, "account", "update", "--id", "1", "--rate-limit", "3")
	mustRunBinary(t, bin, dbURL, "agent", "create", "--account", "1", "--email", "second@example.com",
		"--password", "second-password", "--role", "superadmin")

	list := request{method: http.MethodGet, path: "/api/offlinemessages", user: email, pass: password}
	for i := range 3 {
		if r := s.mustSend(t, list); r.code != http.StatusOK || r.body != "[]\n" {
			t.Fatalf("request %d = %d %s, want 200 []", i+1, r.code, r.body)
		}
	}
	r := s.mustSend(t, list)
	if r.code != http.StatusTooManyRequests {
		t.Fatalf("request 4 = %d %s, want 429", r.code, r.body)
	}
	wait := mustRetryAfter(t, r)
	var body struct {
		Error []struct {
			Code    int
			Message string
		}
	}
	mustJSON(t, "REVE 429", r.body, &body)
	want := fmt.Sprintf("Too many requests: the limit is 3 requests per minute. Please wait %d seconds and try again.", wait)
	if len(body.Error) != 1 || body.Error[0].Code != http.StatusTooManyRequests || body.Error[0].Message != want {
		t.Errorf("429 body %s, want REVE's error with code 429 and %q", r.body, want)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("429 Content-Type %q, want JSON", ct)
	}

	second := request{method: http.MethodGet, path: "/api/offlinemessages", user: "second@example.com", pass: "second-password"}
	if r := s.mustSend(t, second); r.code != http.StatusOK || minuteRemaining(r.header) != 2 {
		t.Errorf("another superadmin = %d, RateLimit %q; want 200 with 2 of its own 3 left", r.code, r.header.Get("RateLimit"))
	}
}
