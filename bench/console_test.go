//go:build bench

package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"switchboard/cmd/switchboard/binarytest"
	"switchboard/store"
	"switchboard/store/storetest"
)

var (
	consoleSessionsFlag = flag.Int("console-sessions", 200, "console sessions, each with an open stream, for TestBenchConsoleStreams")
	consolePostsFlag    = flag.Int("console-posts", 100, "messages TestBenchConsoleStreams posts, one at a time")
)

// TestBenchConsoleStreams measures the console's live streams on the real
// binary over PostgreSQL: it signs in -console-sessions sessions (200) of
// the first start's superadmin, opens a /console/events stream for each,
// then posts -console-posts messages through HelpCrunch one at a time,
// waiting after each until every stream has had its "refresh". It reports
// the time from each POST's sending to the refresh on every stream (p50,
// p99, max), the POST's own round trip, and the server's RSS with the
// streams open and its peak. It asserts no timing: a stream that gets no
// refresh within 30 s fails it as lost, not as slow.
//
//	go test -tags bench -run TestBenchConsoleStreams -count=1 -v ./bench
func TestBenchConsoleStreams(t *testing.T) {
	if u, err := storetest.Postgres(); err != nil {
		t.Fatalf("the benchmark runs on PostgreSQL, which does not answer at %s (set %s): %v", u, storetest.EnvURL, err)
	}
	bin := *binFlag
	if bin == "" {
		var err error
		if bin, err = binarytest.Build(t.TempDir()); err != nil {
			t.Fatal(err)
		}
	}
	n, posts := *consoleSessionsFlag, *consolePostsFlag
	dbURL := storetest.MustURL(t, store.Postgres)
	srv := mustStart(t, bin, dbURL, "--ip-rate-limit", "0", "--max-streams", fmt.Sprint(n+10))
	email, password, token := binarytest.MustCredentials(t, &srv.stdout)
	rssIdle, _ := srv.memory(t)
	st := storetest.MustOpenURL(t, dbURL)
	admin, err := st.AgentByEmail(t.Context(), email)
	if err != nil {
		t.Fatal(err)
	}
	ct := storetest.MustContact(t, st, admin.AccountID, "Vera Visitor", "vera@example.com", "")
	cs := storetest.MustOfflineCase(t, st, admin.AccountID, ct.ID, "Parcel", "Has my parcel shipped?", time.Now().Add(-time.Hour))
	base := "http://" + srv.addr
	client := &http.Client{
		Transport:     &http.Transport{MaxIdleConnsPerHost: n + 10},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}

	// Sign in n sessions, 8 at a time (each is a bcrypt check).
	began := time.Now()
	cookies := make([]*http.Cookie, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	errs := make(chan error, n)
	for i := range cookies {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c, err := consoleSignIn(client, base, email, password)
			cookies[i] = c
			if err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	signIn := time.Since(began)

	// Open the streams and wait for each one's "ready".
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	arrivals := make([]chan time.Time, n)
	ready := make(chan error, n)
	for i, c := range cookies {
		arrivals[i] = make(chan time.Time, posts+16)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/console/events", nil)
		req.Header.Set("Accept", "text/event-stream")
		req.AddCookie(c)
		go func(out chan<- time.Time) {
			resp, err := client.Do(req)
			if err != nil {
				ready <- err
				return
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				ready <- fmt.Errorf("GET /console/events = %d", resp.StatusCode)
				return
			}
			sc := bufio.NewScanner(resp.Body)
			for sc.Scan() {
				switch sc.Text() {
				case "event: ready":
					ready <- nil
				case "event: refresh":
					out <- time.Now()
				}
			}
		}(arrivals[i])
	}
	for range n {
		if err := <-ready; err != nil {
			t.Fatal(err)
		}
	}
	rssOpen, _ := srv.memory(t)

	// Post one message at a time; after each, every stream's next refresh
	// since the POST was sent.
	var lat, rtt []time.Duration
	body := func(i int) []byte {
		b, _ := json.Marshal(map[string]any{"chat": cs.ID, "text": fmt.Sprint("Where is my parcel? ", i), "type": "message"})
		return b
	}
	for i := range posts {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/messages", bytes.NewReader(body(i)))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		sent := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		rtt = append(rtt, time.Since(sent))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("POST /v1/messages = %d %s", resp.StatusCode, b)
		}
		for j, ch := range arrivals {
		wait:
			for {
				select {
				case at := <-ch:
					if at.Before(sent) {
						continue // a refresh of an earlier commit, coalesced late
					}
					lat = append(lat, at.Sub(sent))
					break wait
				case <-time.After(30 * time.Second):
					t.Fatalf("stream %d got no refresh for message %d", j, i)
				}
			}
		}
	}
	rssEnd, peak := srv.memory(t)
	cancel()
	mb := func(b int64) string { return fmt.Sprintf("%.0f MB", float64(b)/(1<<20)) }
	t.Logf("console streams: %d sessions signed in in %s; %d messages × %d streams = %d refreshes", n, signIn.Round(time.Millisecond), posts, n, len(lat))
	t.Logf("POST-to-refresh p50 %s p99 %s max %s; the POST's own round trip p50 %s p99 %s",
		pct(lat, 50).Round(10*time.Microsecond), pct(lat, 99).Round(10*time.Microsecond), pct(lat, 100).Round(10*time.Microsecond),
		pct(rtt, 50).Round(10*time.Microsecond), pct(rtt, 99).Round(10*time.Microsecond))
	t.Logf("server RSS: %s before the sign-ins, %s with %d streams open, %s after the posts, peak %s", mb(rssIdle), mb(rssOpen), n, mb(rssEnd), mb(peak))
}

// consoleCSRF finds the sign-in form's CSRF token.
var consoleCSRF = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// consoleSignIn signs in at base's console with email and password and
// returns the session cookie, or what went wrong.
func consoleSignIn(client *http.Client, base, email, password string) (*http.Cookie, error) {
	cookie := func(resp *http.Response, name string) *http.Cookie {
		for _, c := range resp.Cookies() {
			if c.Name == name && c.Value != "" {
				return &http.Cookie{Name: c.Name, Value: c.Value}
			}
		}
		return nil
	}
	resp, err := client.Get(base + "/console/login")
	if err != nil {
		return nil, err
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m, login := consoleCSRF.FindSubmatch(page), cookie(resp, "sb_console_login")
	if m == nil || login == nil {
		return nil, fmt.Errorf("GET /console/login = %d with no CSRF token or cookie", resp.StatusCode)
	}
	form := url.Values{"email": {email}, "password": {password}, "csrf": {string(m[1])}}
	req, _ := http.NewRequest(http.MethodPost, base+"/console/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(login)
	if resp, err = client.Do(req); err != nil {
		return nil, err
	}
	resp.Body.Close()
	if s := cookie(resp, "sb_console"); resp.StatusCode == http.StatusSeeOther && s != nil {
		return s, nil
	}
	return nil, fmt.Errorf("POST /console/login = %d", resp.StatusCode)
}
