package ratelimit_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"switchboard/ratelimit"
	"switchboard/ratelimit/redistest"
)

// backend builds a fresh Counter of one kind; every call of open returns a
// Counter whose windows no other test sees.
type backend struct {
	name string
	open func(t *testing.T) *ratelimit.Counter
}

// backends returns the memory and the Redis backend. The Redis one skips (or
// fails, when Redis is required) inside the subtest when Redis is away.
func backends() []backend {
	return []backend{
		{"memory", func(t *testing.T) *ratelimit.Counter { return ratelimit.NewMemory() }},
		{"redis", func(t *testing.T) *ratelimit.Counter {
			u := redistest.MustURL(t)
			return mustRedis(t, u, redistest.MustPrefix(t, u))
		}},
	}
}

// mustRedis returns a Redis Counter on the URL under prefix, closed when the
// test ends.
func mustRedis(tb testing.TB, rawURL, prefix string) *ratelimit.Counter {
	tb.Helper()
	c, err := ratelimit.NewRedis(rawURL, prefix, nil)
	if err != nil {
		tb.Fatalf("NewRedis(%q): %v", rawURL, err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

// mustTake counts one request and returns the window's state.
func mustTake(tb testing.TB, c *ratelimit.Counter, key string, r ratelimit.Rule) ratelimit.Count {
	tb.Helper()
	got, err := c.Take(context.Background(), key, r)
	if err != nil {
		tb.Fatalf("Take(%q, %s): %v", key, r.Name, err)
	}
	return got
}

// assertCount checks the counted state; reset 0 skips the Reset check.
func assertCount(tb testing.TB, what string, got ratelimit.Count, r ratelimit.Rule, remaining int64, exceeded bool, reset time.Duration) {
	tb.Helper()
	if got.Rule != r || got.Remaining != remaining || got.Exceeded != exceeded || (reset != 0 && got.Reset != reset) {
		tb.Errorf("%s = %+v, want rule %s remaining %d exceeded %v reset %v", what, got, r.Name, remaining, exceeded, reset)
	}
	if got.Reset < time.Second || got.Reset%time.Second != 0 {
		tb.Errorf("%s: Reset = %v, want whole seconds, at least 1s", what, got.Reset)
	}
}

var (
	second = ratelimit.Rule{Name: "second", Limit: 5, Period: time.Second}
	minute = ratelimit.Rule{Name: "minute", Limit: 5, Period: time.Minute}
)

func TestCounter_Take(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			c := b.open(t)
			if c.Backend() != b.name {
				t.Errorf("Backend() = %q, want %q", c.Backend(), b.name)
			}
			if err := c.Ping(t.Context()); err != nil {
				t.Errorf("Ping: %v", err)
			}

			t.Run("window of a second", func(t *testing.T) {
				for i := range 5 {
					assertCount(t, "take", mustTake(t, c, "k", second), second, int64(4-i), false, time.Second)
				}
				assertCount(t, "6th take", mustTake(t, c, "k", second), second, 0, true, time.Second)
				assertCount(t, "7th take", mustTake(t, c, "k", second), second, 0, true, time.Second)
				// Wait for the window to close (correctness, not speed).
				time.Sleep(1500 * time.Millisecond)
				assertCount(t, "take in the next window", mustTake(t, c, "k", second), second, 4, false, time.Second)
			})

			t.Run("window of a minute", func(t *testing.T) {
				r := ratelimit.Rule{Name: "minute", Limit: 2, Period: time.Minute}
				for i, want := range []struct {
					remaining int64
					exceeded  bool
				}{{1, false}, {0, false}, {0, true}} {
					got := mustTake(t, c, "m", r)
					assertCount(t, "take", got, r, want.remaining, want.exceeded, 0)
					if got.Reset < 58*time.Second || got.Reset > time.Minute {
						t.Errorf("take %d: Reset = %v, want about a minute", i+1, got.Reset)
					}
				}
			})

			t.Run("keys and rules do not share windows", func(t *testing.T) {
				for range 6 {
					mustTake(t, c, "full", minute)
				}
				assertCount(t, "same key and rule", mustTake(t, c, "full", minute), minute, 0, true, 0)
				assertCount(t, "other key", mustTake(t, c, "other", minute), minute, 4, false, 0)
				assertCount(t, "key with the first as prefix", mustTake(t, c, "full2", minute), minute, 4, false, 0)
				daily := ratelimit.Rule{Name: "day", Limit: 5, Period: time.Minute}
				assertCount(t, "other rule name", mustTake(t, c, "full", daily), daily, 4, false, 0)
			})

			t.Run("bad rules", func(t *testing.T) {
				for _, r := range []ratelimit.Rule{
					{Name: "no limit", Period: time.Minute},
					{Name: "negative limit", Limit: -1, Period: time.Minute},
					{Name: "no period", Limit: 5},
				} {
					if got, err := c.Take(t.Context(), "bad", r); err == nil || errors.Is(err, ratelimit.ErrUnavailable) {
						t.Errorf("Take with rule %+v = %+v, %v; want a rule error", r, got, err)
					}
				}
			})
		})
	}
}

func TestCounter_Peek(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			c := b.open(t)
			peek := func(what string, remaining int64, exceeded bool) {
				t.Helper()
				got, err := c.Peek(t.Context(), "k", minute)
				if err != nil {
					t.Fatalf("Peek: %v", err)
				}
				assertCount(t, what, got, minute, remaining, exceeded, 0)
			}
			peek("peek of a fresh key", 5, false)
			peek("second peek of a fresh key", 5, false)
			assertCount(t, "take after peeks", mustTake(t, c, "k", minute), minute, 4, false, 0)
			mustTake(t, c, "k", minute)
			peek("peek after two takes", 3, false)
			peek("peek again", 3, false)
			mustTake(t, c, "k", minute)
			mustTake(t, c, "k", minute)
			assertCount(t, "last take", mustTake(t, c, "k", minute), minute, 0, false, 0)
			peek("peek of a full window", 0, true)
			assertCount(t, "take over the limit", mustTake(t, c, "k", minute), minute, 0, true, 0)
			peek("peek over the limit", 0, true)
		})
	}
}

func TestCounter_Add(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			c := b.open(t)
			add := func(key string, n, remaining int64, exceeded bool) {
				t.Helper()
				got, err := c.Add(t.Context(), key, minute, n)
				if err != nil {
					t.Fatalf("Add(%d): %v", n, err)
				}
				assertCount(t, "add", got, minute, remaining, exceeded, 0)
			}
			add("k", 3, 2, false)
			add("k", 2, 0, false)
			add("k", 1, 0, true)
			add("big", 6, 0, true)
			add("mixed", 2, 3, false)
			assertCount(t, "take after add", mustTake(t, c, "mixed", minute), minute, 2, false, 0)
			add("mixed", 2, 0, false)
			assertCount(t, "take over the limit", mustTake(t, c, "mixed", minute), minute, 0, true, 0)
		})
	}
}

func TestCounter_SharedAcrossCounters(t *testing.T) {
	u := redistest.MustURL(t)
	prefix := redistest.MustPrefix(t, u)
	replicas := []*ratelimit.Counter{mustRedis(t, u, prefix), mustRedis(t, u, prefix)}
	r := ratelimit.Rule{Name: "minute", Limit: 5, Period: time.Minute}
	passed := 0
	for i := range 10 {
		got := mustTake(t, replicas[i%2], "k", r)
		if !got.Exceeded {
			passed++
			if i >= int(r.Limit) {
				t.Errorf("take %d passed after the limit", i+1)
			}
		}
	}
	if passed != int(r.Limit) {
		t.Errorf("%d of 10 takes passed, want %d", passed, r.Limit)
	}
	for i, c := range replicas {
		got, err := c.Peek(t.Context(), "k", r)
		if err != nil || !got.Exceeded || got.Remaining != 0 {
			t.Errorf("Peek on counter %d = %+v, %v; want exceeded", i, got, err)
		}
	}
	other := mustRedis(t, u, redistest.MustPrefix(t, u))
	assertCount(t, "take under another prefix", mustTake(t, other, "k", r), r, 4, false, 0)
}

func TestCounter_RedisDown(t *testing.T) {
	t.Run("closed port", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		c := mustRedis(t, "redis://"+addr+"/0", "down")
		ctx := t.Context()
		for _, op := range []struct {
			name string
			do   func() error
		}{
			{"take", func() error { _, err := c.Take(ctx, "k", minute); return err }},
			{"take again", func() error { _, err := c.Take(ctx, "k", minute); return err }},
			{"peek", func() error { _, err := c.Peek(ctx, "k", minute); return err }},
			{"add", func() error { _, err := c.Add(ctx, "k", minute, 2); return err }},
			{"ping", func() error { return c.Ping(ctx) }},
		} {
			if err := op.do(); !errors.Is(err, ratelimit.ErrUnavailable) {
				t.Errorf("%s: err = %v, want ErrUnavailable", op.name, err)
			}
		}
	})

	t.Run("no dialing while down", func(t *testing.T) {
		srv := startHangUp(t)
		c := mustRedis(t, "redis://"+srv.addr()+"/0", "down")
		if _, err := c.Take(t.Context(), "k", minute); !errors.Is(err, ratelimit.ErrUnavailable) {
			t.Fatalf("take: err = %v, want ErrUnavailable", err)
		}
		first := srv.mark(t)
		if first == 0 {
			t.Fatalf("the first take did not connect")
		}
		if _, err := c.Take(t.Context(), "k", minute); !errors.Is(err, ratelimit.ErrUnavailable) {
			t.Fatalf("second take: err = %v, want ErrUnavailable", err)
		}
		if _, err := c.Add(t.Context(), "k", minute, 1); !errors.Is(err, ratelimit.ErrUnavailable) {
			t.Fatalf("add: err = %v, want ErrUnavailable", err)
		}
		if n := srv.mark(t); n != 0 {
			t.Errorf("the counter connected %d times while down, want none", n)
		}
	})

	t.Run("recovers", func(t *testing.T) {
		u := redistest.MustURL(t)
		target, err := url.Parse(u)
		if err != nil {
			t.Fatal(err)
		}
		p := startProxy(t, target.Host)
		via := *target
		via.Host = p.addr
		c := mustRedis(t, via.String(), redistest.MustPrefix(t, u))
		r := ratelimit.Rule{Name: "minute", Limit: 10, Period: time.Minute}
		assertCount(t, "take through the proxy", mustTake(t, c, "k", r), r, 9, false, 0)

		p.stop()
		for _, what := range []string{"take with redis gone", "take again"} {
			if got, err := c.Take(t.Context(), "k", r); !errors.Is(err, ratelimit.ErrUnavailable) {
				t.Fatalf("%s = %+v, %v; want ErrUnavailable", what, got, err)
			}
		}

		p.start(t)
		// Wait out the counter's pause after a failure (correctness, not speed).
		time.Sleep(1500 * time.Millisecond)
		// The window lives on in Redis; the failed takes did not count.
		assertCount(t, "take after redis is back", mustTake(t, c, "k", r), r, 8, false, 0)
		assertCount(t, "next take", mustTake(t, c, "k", r), r, 7, false, 0)
	})
}

func TestCheckRedisURL(t *testing.T) {
	tests := []struct {
		name    string
		url     string
		wantErr bool
	}{
		{"plain", "redis://127.0.0.1:6379/0", false},
		{"no database", "redis://127.0.0.1:6379", false},
		{"password", "redis://user:secret@redis.internal:6379/2", false},
		{"TLS", "rediss://redis.internal:6380/0", false},
		{"timeouts", "redis://127.0.0.1:6379/0?dial_timeout=1s&read_timeout=2s", false},
		{"empty", "", true},
		{"no scheme", "127.0.0.1:6379", true},
		{"other scheme", "http://127.0.0.1:6379/0", true},
		{"bad database", "redis://127.0.0.1:6379/zero", true},
		{"bad timeout", "redis://127.0.0.1:6379/0?dial_timeout=soon", true},
		{"unknown option", "redis://127.0.0.1:6379/0?colour=blue", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := ratelimit.CheckRedisURL(tt.url); (err != nil) != tt.wantErr {
				t.Errorf("CheckRedisURL(%q) = %v, want error %v", tt.url, err, tt.wantErr)
			}
			c, err := ratelimit.NewRedis(tt.url, "p", nil)
			if (err != nil) != tt.wantErr {
				t.Errorf("NewRedis(%q) err = %v, want error %v", tt.url, err, tt.wantErr)
			}
			if err == nil {
				if c == nil || c.Backend() != "redis" {
					t.Errorf("NewRedis(%q) = %v, want a redis counter", tt.url, c)
				} else {
					c.Close()
				}
			} else if c != nil {
				t.Errorf("NewRedis(%q) returned a counter with its error", tt.url)
			}
		})
	}
}

// hangUp is a TCP server that accepts connections and closes them at once,
// as a Redis that fails every connection would look; it records whom it
// accepted, in order.
type hangUp struct {
	ln   net.Listener
	mu   sync.Mutex
	seen []string // remote addresses, in accept order
	next int      // seen[:next] were counted by mark
}

// startHangUp starts a hangUp server on a free local port, stopped when the
// test ends.
func startHangUp(tb testing.TB) *hangUp {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	s := &hangUp{ln: ln}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.seen = append(s.seen, conn.RemoteAddr().String())
			s.mu.Unlock()
			conn.Close()
		}
	}()
	tb.Cleanup(func() { ln.Close(); <-done })
	return s
}

func (s *hangUp) addr() string { return s.ln.Addr().String() }

// mark returns how many connections others made since the last mark. It
// connects itself and waits until the server has accepted that connection:
// the listen queue is first in, first out, so every connection made before
// it has been accepted (and counted) by then.
func (s *hangUp) mark(tb testing.TB) int {
	tb.Helper()
	conn, err := net.Dial("tcp", s.addr())
	if err != nil {
		tb.Fatalf("dial the marker: %v", err)
	}
	defer conn.Close()
	me := conn.LocalAddr().String()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		for i := s.next; i < len(s.seen); i++ {
			if s.seen[i] == me {
				n := i - s.next
				s.next = i + 1
				s.mu.Unlock()
				return n
			}
		}
		s.mu.Unlock()
		time.Sleep(5 * time.Millisecond)
	}
	tb.Fatalf("the marker connection was not accepted")
	return 0
}

// proxy forwards TCP connections to target; stop drops them all and stops
// listening, start listens on the same address again.
type proxy struct {
	addr   string
	target string
	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]struct{}
	wg     sync.WaitGroup
}

// startProxy starts a proxy to target on a free local port, stopped when the
// test ends.
func startProxy(tb testing.TB, target string) *proxy {
	tb.Helper()
	p := &proxy{addr: "127.0.0.1:0", target: target, conns: map[net.Conn]struct{}{}}
	p.start(tb)
	p.addr = p.ln.Addr().String()
	tb.Cleanup(p.stop)
	return p
}

// start listens on the proxy's address and forwards what it accepts.
func (p *proxy) start(tb testing.TB) {
	tb.Helper()
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		tb.Fatalf("proxy listen on %s: %v", p.addr, err)
	}
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", p.target)
			if err != nil {
				in.Close()
				continue
			}
			if !p.track(in, out) {
				return
			}
			p.wg.Add(2)
			go p.pipe(in, out)
			go p.pipe(out, in)
		}
	}()
}

// track records a forwarded pair, or closes it when the proxy has stopped.
func (p *proxy) track(conns ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln == nil {
		for _, c := range conns {
			c.Close()
		}
		return false
	}
	for _, c := range conns {
		p.conns[c] = struct{}{}
	}
	return true
}

// pipe copies from src to dst, then closes both.
func (p *proxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	_, _ = io.Copy(dst, src)
	dst.Close()
	src.Close()
}

// stop closes the listener and every forwarded connection and waits for the
// proxy's goroutines.
func (p *proxy) stop() {
	p.mu.Lock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
	}
	p.mu.Unlock()
	p.wg.Wait()
}
