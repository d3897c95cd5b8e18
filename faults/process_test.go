//go:build faults

package faults

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"switchboard/cmd/switchboard/binarytest"
	"switchboard/store"
	"switchboard/store/storetest"
)

// mustPostgresURL returns a fresh schema on the suite's PostgreSQL server.
func mustPostgresURL(t *testing.T) string {
	t.Helper()
	if !slices.Contains(storetest.Backends(t), store.Postgres) {
		t.Fatal("the fault suite needs PostgreSQL, which does not answer")
	}
	return storetest.MustURL(t, store.Postgres)
}

// TestFaults_SIGKILLUnderWriteLoad kills the server with SIGKILL while
// writers post HelpCrunch messages with unique texts, restarts it on the same
// database, and finds every acknowledged message there.
func TestFaults_SIGKILLUnderWriteLoad(t *testing.T) {
	bin := mustBuild(t)
	dbURL := mustPostgresURL(t)
	s := mustStart(t, bin, dbURL, noLimits)
	_, _, token := binarytest.MustCredentials(t, s.stdout)
	mustUnlimited(t, bin, dbURL)
	chat := s.mustChat(t, token, "visitor@example.com")

	var (
		mu       sync.Mutex
		acked    = map[int64]string{}
		failed   int
		stopLoad atomic.Bool
		wg       sync.WaitGroup
	)
	for w := range 4 {
		wg.Go(func() {
			for n := 0; !stopLoad.Load(); n++ {
				text := fmt.Sprintf("kill %d-%d", w, n)
				r, err := s.send(request{method: http.MethodPost, path: "/v1/messages", token: token,
					body: mustMarshalNoFail(map[string]any{"chat": chat, "text": text, "type": "message"})})
				if err != nil { // the server is gone
					mu.Lock()
					failed++
					mu.Unlock()
					return
				}
				mu.Lock()
				if r.code == http.StatusOK {
					var m struct {
						ID   int64
						Text string
					}
					if json.Unmarshal([]byte(r.body), &m) == nil && m.ID != 0 && m.Text == text {
						acked[m.ID] = text
					} else {
						failed++
					}
				} else {
					failed++
				}
				mu.Unlock()
			}
		})
	}
	time.Sleep(2 * time.Second)
	s.kill(t)
	killed := time.Now()
	stopLoad.Store(true)
	wg.Wait()
	mu.Lock()
	t.Logf("%d posts acknowledged before SIGKILL, %d not", len(acked), failed)
	if len(acked) < 10 || failed == 0 {
		t.Fatalf("want many acknowledged posts and some cut off by the kill; got %d and %d", len(acked), failed)
	}
	mu.Unlock()

	s2 := mustStart(t, bin, dbURL, noLimits)
	t.Logf("restarted %v after the kill", time.Since(killed).Round(time.Millisecond))
	r := s2.mustSend(t, request{method: http.MethodPost, path: "/v1/messages", token: token,
		body: mustMarshalNoFail(map[string]any{"chat": chat, "text": "after the restart", "type": "message"})})
	if r.code != http.StatusOK {
		t.Errorf("a post after the restart = %d %s", r.code, r.body)
	}
	mustStored(t, dbURL, acked)
	s2.mustNoPanic(t)
}

// TestFaults_SlowClientsAndConnectionFlood holds 300 idle TCP connections
// and a few slowloris clients (headers a byte a second) against the server:
// normal requests keep their latency, and the server closes the slow
// connections by its ReadHeaderTimeout (10 s in serve.go).
func TestFaults_SlowClientsAndConnectionFlood(t *testing.T) {
	const (
		idleConns         = 300
		slowloris         = 5
		readHeaderTimeout = 10 * time.Second // http.Server.ReadHeaderTimeout in cmd/switchboard/serve.go
		requests          = 50
		maxP99            = 2 * time.Second
	)
	bin := mustBuild(t)
	dbURL := mustPostgresURL(t)
	s := mustStart(t, bin, dbURL, noLimits)
	email, password, token := binarytest.MustCredentials(t, s.stdout)
	mustUnlimited(t, bin, dbURL)
	chat := s.mustChat(t, token, "visitor@example.com")

	// closed[i] is when the server closed connection i (zero while open).
	closed := make([]time.Time, idleConns+slowloris)
	var mu sync.Mutex
	var wg sync.WaitGroup
	opened := time.Now()
	conns := make([]net.Conn, 0, idleConns+slowloris)
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	for i := range idleConns + slowloris {
		c, err := net.Dial("tcp", s.addr)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		conns = append(conns, c)
		wg.Go(func() {
			// Reads return when the server closes (or answers and closes).
			io.Copy(io.Discard, c)
			mu.Lock()
			closed[i] = time.Now()
			mu.Unlock()
		})
		if i >= idleConns {
			wg.Go(func() {
				header := "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " // never ends
				for j := 0; ; j++ {
					b := "a"
					if j < len(header) {
						b = header[j : j+1]
					}
					if _, err := c.Write([]byte(b)); err != nil {
						return
					}
					time.Sleep(time.Second)
				}
			})
		}
	}
	t.Logf("%d idle and %d slowloris connections open", idleConns, slowloris)

	// Normal requests, one after another, of both kinds: reads and writes.
	var latencies []time.Duration
	for i := range requests {
		req := request{method: http.MethodGet, path: "/api/offlinemessages?page_no=1", user: email, pass: password}
		if i%2 == 0 {
			req = request{method: http.MethodPost, path: "/v1/messages", token: token,
				body: mustMarshalNoFail(map[string]any{"chat": chat, "text": fmt.Sprint("flood ", i), "type": "message"})}
		}
		r := s.mustSend(t, req)
		if r.code != http.StatusOK {
			t.Errorf("%s %s during the flood = %d %s", req.method, req.path, r.code, r.body)
		}
		latencies = append(latencies, r.elapsed)
		time.Sleep(50 * time.Millisecond)
	}
	slices.Sort(latencies)
	p50, p99 := latencies[len(latencies)/2], latencies[len(latencies)*99/100]
	t.Logf("%d requests during the flood: p50 %v, p99 %v, max %v", requests, p50.Round(time.Microsecond), p99.Round(time.Microsecond), latencies[len(latencies)-1].Round(time.Microsecond))
	if p99 > maxP99 {
		t.Errorf("p99 latency during the flood = %v, want under %v", p99, maxP99)
	}

	// Every slow connection is closed by the server's timeouts.
	limit := readHeaderTimeout + 5*time.Second
	waitFor(t, "the server to close every slow connection", limit+time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return !slices.Contains(closed, time.Time{})
	})
	mu.Lock()
	var first, last time.Duration = time.Hour, 0
	for _, at := range closed {
		first, last = min(first, at.Sub(opened)), max(last, at.Sub(opened))
	}
	mu.Unlock()
	t.Logf("slow connections closed between %v and %v after they opened", first.Round(time.Millisecond), last.Round(time.Millisecond))
	if first < readHeaderTimeout-time.Second {
		t.Errorf("a slow connection closed after %v, before the %v ReadHeaderTimeout", first, readHeaderTimeout)
	}
	for _, c := range conns {
		c.Close()
	}
	wg.Wait()

	// And the server still answers.
	if r := s.mustSend(t, request{method: http.MethodGet, path: "/readyz"}); r.code != http.StatusOK {
		t.Errorf("/readyz after the flood = %d %s", r.code, r.body)
	}
	s.mustNoPanic(t)
}
