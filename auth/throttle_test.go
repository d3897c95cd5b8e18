package auth

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"switchboard/models"
	"switchboard/ratelimit"
	"switchboard/store"
	"switchboard/store/storetest"
)

// fakeCounter is a FailureCounter with fixed windows on a fake clock, as
// ratelimit.Counter keeps them: a window opens at its key's first count
// and lasts the rule's period.
type fakeCounter struct {
	now func() time.Time
	// err, when set, is every call's error.
	err error

	mu      sync.Mutex
	windows map[string]fakeWindow
	calls   int
}

type fakeWindow struct {
	start time.Time
	n     int64
}

func newFakeCounter(now func() time.Time) *fakeCounter {
	return &fakeCounter{now: now, windows: map[string]fakeWindow{}}
}

// window returns key's open window under r (a new, empty one when the last
// has closed) and the time it closes.
func (f *fakeCounter) window(key string, r ratelimit.Rule) (fakeWindow, time.Duration) {
	now := f.now()
	w, ok := f.windows[key+":"+r.Name]
	if !ok || !now.Before(w.start.Add(r.Period)) {
		w = fakeWindow{start: now}
	}
	return w, w.start.Add(r.Period).Sub(now)
}

func (f *fakeCounter) Peek(_ context.Context, key string, r ratelimit.Rule) (ratelimit.Count, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.err != nil {
		return ratelimit.Count{}, f.err
	}
	w, reset := f.window(key, r)
	left := max(r.Limit-w.n, 0)
	return ratelimit.Count{Rule: r, Remaining: left, Reset: reset, Exceeded: left == 0}, nil
}

func (f *fakeCounter) Add(_ context.Context, key string, r ratelimit.Rule, n int64) (ratelimit.Count, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.err != nil {
		return ratelimit.Count{}, f.err
	}
	w, reset := f.window(key, r)
	w.n += n
	f.windows[key+":"+r.Name] = w
	left := max(r.Limit-w.n, 0)
	return ratelimit.Count{Rule: r, Remaining: left, Reset: reset, Exceeded: w.n > r.Limit}, nil
}

// attempt is a failed login, or the check of one: after advancing the
// clock by after, login from addr.
type attempt struct {
	login, addr string
	after       time.Duration
}

// failures returns n failed logins, the i-th of login(i) from addr(i).
func failures(n int, login, addr func(i int) string) []attempt {
	out := make([]attempt, n)
	for i := range out {
		out[i] = attempt{login: login(i), addr: addr(i)}
	}
	return out
}

// same returns s for every i; seq the format filled with i.
func same(s string) func(int) string { return func(int) string { return s } }
func seq(format string) func(int) string {
	return func(i int) string { return fmt.Sprintf(format, i) }
}

func TestThrottle_Check(t *testing.T) {
	tests := []struct {
		name     string
		cfg      ThrottleConfig
		counter  error
		failures []attempt
		check    attempt
		// wantBy is the window that refuses the check ("" for none) and
		// wantRetry its RetryAfter.
		wantBy    string
		wantRetry time.Duration
	}{
		{name: "fresh", cfg: DefaultThrottleConfig(), check: attempt{login: "boss@example.com", addr: "192.0.2.1"}},
		{name: "four failures from an address", cfg: DefaultThrottleConfig(),
			failures: failures(4, seq("user%d@example.com"), same("192.0.2.1")),
			check:    attempt{login: "boss@example.com", addr: "192.0.2.1"}},
		{name: "five failures from an address, any logins", cfg: DefaultThrottleConfig(),
			failures: failures(5, seq("user%d@example.com"), same("192.0.2.1")),
			check:    attempt{login: "boss@example.com", addr: "192.0.2.1", after: time.Minute},
			wantBy:   ThrottleAddress, wantRetry: 4 * time.Minute},
		{name: "another address", cfg: DefaultThrottleConfig(),
			failures: failures(5, same("boss@example.com"), same("192.0.2.1")),
			check:    attempt{login: "ann@example.com", addr: "192.0.2.2"}},
		{name: "the address window closes", cfg: DefaultThrottleConfig(),
			failures: failures(5, same("boss@example.com"), same("192.0.2.1")),
			check:    attempt{login: "ann@example.com", addr: "192.0.2.1", after: 5 * time.Minute}},
		{name: "ten failures of a login from ten addresses", cfg: DefaultThrottleConfig(),
			failures: failures(10, same("boss@example.com"), seq("192.0.2.%d")),
			check:    attempt{login: " BOSS@Example.com", addr: "198.51.100.7", after: 5 * time.Minute},
			wantBy:   ThrottleLogin, wantRetry: 10 * time.Minute},
		{name: "nine failures of a login", cfg: DefaultThrottleConfig(),
			failures: failures(9, same("boss@example.com"), seq("192.0.2.%d")),
			check:    attempt{login: "boss@example.com", addr: "198.51.100.7"}},
		{name: "another login", cfg: DefaultThrottleConfig(),
			failures: failures(10, same("boss@example.com"), seq("192.0.2.%d")),
			check:    attempt{login: "ann@example.com", addr: "198.51.100.7"}},
		{name: "the login window closes", cfg: DefaultThrottleConfig(),
			failures: failures(10, same("boss@example.com"), seq("192.0.2.%d")),
			check:    attempt{login: "boss@example.com", addr: "198.51.100.7", after: 15 * time.Minute}},
		{name: "both spent: the later window", cfg: DefaultThrottleConfig(),
			failures: failures(10, same("boss@example.com"), same("192.0.2.1")),
			check:    attempt{login: "boss@example.com", addr: "192.0.2.1"},
			wantBy:   ThrottleLogin, wantRetry: 15 * time.Minute},
		{name: "an IPv6 host's /64 is one address", cfg: DefaultThrottleConfig(),
			failures: failures(5, seq("user%d@example.com"), seq("2001:db8:0:1::%x")),
			check:    attempt{login: "boss@example.com", addr: "2001:db8:0:1:ffff::1"},
			wantBy:   ThrottleAddress, wantRetry: 5 * time.Minute},
		{name: "another /64", cfg: DefaultThrottleConfig(),
			failures: failures(5, seq("user%d@example.com"), seq("2001:db8:0:1::%x")),
			check:    attempt{login: "boss@example.com", addr: "2001:db8:0:2::1"}},
		{name: "an IPv4-mapped address is the IPv4 one", cfg: DefaultThrottleConfig(),
			failures: failures(5, seq("user%d@example.com"), same("::ffff:192.0.2.1")),
			check:    attempt{login: "boss@example.com", addr: "192.0.2.1"},
			wantBy:   ThrottleAddress, wantRetry: 5 * time.Minute},
		{name: "configured limits and windows", cfg: ThrottleConfig{PerAddress: 2, AddressWindow: time.Hour, PerLogin: 3, LoginWindow: 90 * time.Second},
			failures: failures(2, same("boss@example.com"), same("192.0.2.1")),
			check:    attempt{login: "ann@example.com", addr: "192.0.2.1", after: time.Minute},
			wantBy:   ThrottleAddress, wantRetry: 59 * time.Minute},
		{name: "per-address limit off", cfg: ThrottleConfig{PerLogin: 10},
			failures: failures(9, seq("user%d@example.com"), same("192.0.2.1")),
			check:    attempt{login: "boss@example.com", addr: "192.0.2.1"}},
		{name: "per-login limit off", cfg: ThrottleConfig{PerAddress: 5},
			failures: failures(20, same("boss@example.com"), seq("192.0.2.%d")),
			check:    attempt{login: "boss@example.com", addr: "198.51.100.7"}},
		{name: "counter unavailable: logins pass", cfg: DefaultThrottleConfig(), counter: ratelimit.ErrUnavailable,
			failures: failures(10, same("boss@example.com"), same("192.0.2.1")),
			check:    attempt{login: "boss@example.com", addr: "192.0.2.1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := &clock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
			counter := newFakeCounter(clk.Now)
			counter.err = tt.counter
			th := NewThrottle(counter, tt.cfg, nil)
			ctx := context.Background()
			for _, a := range tt.failures {
				clk.Advance(a.after)
				th.Fail(ctx, a.login, a.addr)
			}
			clk.Advance(tt.check.after)
			err := th.Check(ctx, tt.check.login, tt.check.addr)
			var te *ThrottledError
			if tt.wantBy == "" {
				if err != nil {
					t.Fatalf("Check = %v, want nil", err)
				}
				return
			}
			if !errors.As(err, &te) {
				t.Fatalf("Check = %v, want a *ThrottledError", err)
			}
			if te.By != tt.wantBy || te.RetryAfter != tt.wantRetry {
				t.Errorf("Check = %+v, want by %s, retry after %s", te, tt.wantBy, tt.wantRetry)
			}
		})
	}
}

func TestThrottledError_Error(t *testing.T) {
	tests := []struct {
		err  ThrottledError
		want string
	}{
		{ThrottledError{By: ThrottleAddress, Limit: 5, Window: 5 * time.Minute, RetryAfter: 299 * time.Second},
			"too many failed logins for this address: 5 per 5 minutes; retry in 299 seconds"},
		{ThrottledError{By: ThrottleLogin, Limit: 10, Window: time.Hour, RetryAfter: 1500 * time.Millisecond},
			"too many failed logins for this login: 10 per 1 hour; retry in 2 seconds"},
		{ThrottledError{By: ThrottleLogin, Limit: 1, Window: 90 * time.Second},
			"too many failed logins for this login: 1 per 90 seconds; retry in 1 second"},
		{ThrottledError{By: ThrottleAddress, Limit: 3, Window: time.Minute, RetryAfter: time.Second},
			"too many failed logins for this address: 3 per 1 minute; retry in 1 second"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
}

// countingHasher is bcrypt at its lowest cost that counts its Verify calls:
// the password checks a request cost.
type countingHasher struct {
	Hasher
	verifies atomic.Int64
}

func (h *countingHasher) Verify(hash, password string) bool {
	h.verifies.Add(1)
	return h.Hasher.Verify(hash, password)
}

// TestBasic_Throttle logs in through Basic with a throttle on a fake clock
// and counts the password checks each login costs: a throttled login is
// refused before any, unknown logins cost and count as much as known ones,
// and credentials verified before pass while their login is throttled.
func TestBasic_Throttle(t *testing.T) {
	s := storetest.MustOpen(t, store.SQLite)
	h := &countingHasher{Hasher: Hasher{Cost: bcrypt.MinCost}}
	hash, _ := h.Hash("password-1")
	acct := storetest.MustAccount(t, s, "A")
	storetest.MustAgent(t, s, acct.ID, "boss@example.com", models.RoleSuperadmin, hash)
	clk := &clock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	th := NewThrottle(newFakeCounter(clk.Now), DefaultThrottleConfig(), nil)
	b, err := NewBasic(s, BasicOptions{Hasher: h, CacheTTL: time.Minute, Now: clk.Now, Throttle: th})
	if err != nil {
		t.Fatal(err)
	}
	h.verifies.Store(0) // NewBasic hashed its dummy
	const boss, right = "boss@example.com", "password-1"
	steps := []struct {
		name            string
		after           time.Duration
		email, password string
		addr            string
		times           int
		// want is the last login's error (nil, ErrBadCredentials); wantBy
		// the throttle window that refuses it instead.
		want   error
		wantBy string
		// verifies is how many password checks the logins cost together.
		verifies int64
	}{
		{name: "five wrong passwords from an address", email: boss, password: "wrong-1", addr: "192.0.2.1", times: 5,
			want: ErrBadCredentials, verifies: 5},
		{name: "the sixth is refused unchecked", email: boss, password: "wrong-2", addr: "192.0.2.1", times: 1,
			wantBy: ThrottleAddress},
		{name: "so is the right password from that address", email: boss, password: right, addr: "192.0.2.1", times: 1,
			wantBy: ThrottleAddress},
		{name: "the right password from another address", email: boss, password: right, addr: "192.0.2.2", times: 1,
			verifies: 1},
		{name: "unknown logins cost a check each", email: "who@example.com", password: "wrong-1", addr: "198.51.100.1", times: 5,
			want: ErrBadCredentials, verifies: 5},
		{name: "and count against their address", email: "nobody@example.com", password: "wrong-1", addr: "198.51.100.1", times: 1,
			wantBy: ThrottleAddress},
		{name: "and against their login", email: "WHO@example.com", password: "wrong-2", addr: "198.51.100.2", times: 5,
			want: ErrBadCredentials, verifies: 5},
		{name: "an unknown login's tenth failure spends it", email: "who@example.com", password: "wrong-3", addr: "198.51.100.3", times: 1,
			wantBy: ThrottleLogin},
		{name: "five more wrong passwords for boss", email: boss, password: "wrong-3", addr: "203.0.113.1", times: 5,
			want: ErrBadCredentials, verifies: 5},
		{name: "boss's login is throttled from anywhere", email: boss, password: "wrong-4", addr: "203.0.113.2", times: 1,
			wantBy: ThrottleLogin},
		{name: "its cached right password still passes", email: boss, password: right, addr: "192.0.2.2", times: 1},
		{name: "and from a new address", email: boss, password: right, addr: "203.0.113.3", times: 1},
		{name: "past the cache, checked again but not throttled", after: 2 * time.Minute, email: boss, password: right,
			addr: "192.0.2.2", times: 1, verifies: 1},
		{name: "the windows free", after: 15 * time.Minute, email: boss, password: "wrong-5", addr: "192.0.2.1", times: 1,
			want: ErrBadCredentials, verifies: 1},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			clk.Advance(st.after)
			before := h.verifies.Load()
			var err error
			for range st.times {
				_, err = b.Authenticate(context.Background(), st.email, st.password, st.addr)
			}
			if st.wantBy != "" {
				var te *ThrottledError
				if !errors.As(err, &te) || te.By != st.wantBy {
					t.Errorf("err = %v, want throttled by %s", err, st.wantBy)
				}
			} else if !errors.Is(err, st.want) {
				t.Errorf("err = %v, want %v", err, st.want)
			}
			if got := h.verifies.Load() - before; got != st.verifies {
				t.Errorf("%d password checks, want %d", got, st.verifies)
			}
		})
	}
}

// blockingHasher's Verify reports itself on entered and then waits until
// the test releases it before it answers: a password check that takes as
// long as the test wants.
type blockingHasher struct {
	Hasher
	entered chan running
}

// running is a password check in progress: closing release lets it answer.
type running struct {
	password string
	release  chan struct{}
}

func (h *blockingHasher) Verify(hash, password string) bool {
	r := running{password: password, release: make(chan struct{})}
	h.entered <- r
	<-r.release
	return h.Hasher.Verify(hash, password)
}

// TestBasic_Bound fills Basic's password checks with checks that block and
// drives the wait of the next ones with a fake timer: a check waits for a
// slot, gets ErrBusy when its wait ends first, an error of its context when
// that ends first, and runs when a slot frees. Unknown logins wait alike;
// credentials verified before do not wait.
func TestBasic_Bound(t *testing.T) {
	s := storetest.MustOpen(t, store.SQLite)
	h := &blockingHasher{Hasher: Hasher{Cost: bcrypt.MinCost}, entered: make(chan running)}
	hash, _ := h.Hash("password-1")
	acct := storetest.MustAccount(t, s, "A")
	storetest.MustAgent(t, s, acct.ID, "boss@example.com", models.RoleSuperadmin, hash)
	clk := &clock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	b, err := NewBasic(s, BasicOptions{Hasher: h, MaxChecks: 2, MaxWait: time.Second, CacheTTL: time.Minute, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	// Each wait for a slot hands the test its timer, which fires only when
	// the test says so.
	waits := make(chan chan time.Time)
	var waited []time.Duration
	b.gate.timer = func(d time.Duration) (<-chan time.Time, func() bool) {
		waited = append(waited, d)
		fire := make(chan time.Time, 1)
		waits <- fire
		return fire, func() bool { return true }
	}
	login := func(ctx context.Context, email, password string) <-chan error {
		done := make(chan error, 1)
		go func() {
			_, err := b.Authenticate(ctx, email, password, testAddr)
			done <- err
		}()
		return done
	}

	// The right password, verified once and then past its cache.
	right := login(context.Background(), "boss@example.com", "password-1")
	close((<-h.entered).release)
	if err := <-right; err != nil {
		t.Fatalf("right password: %v", err)
	}
	clk.Advance(2 * time.Minute)

	// Two checks take both slots and stay in bcrypt.
	first := login(context.Background(), "boss@example.com", "wrong-1")
	second := login(context.Background(), "who@example.com", "wrong-2")
	held := map[string]running{}
	for range 2 {
		r := <-h.entered
		held[r.password] = r
	}
	if _, ok := held["wrong-1"]; !ok {
		t.Fatalf("checks running: %v", held)
	}
	if _, ok := held["wrong-2"]; !ok {
		t.Fatalf("checks running: %v", held)
	}

	t.Run("the wait ends: busy", func(t *testing.T) {
		third := login(context.Background(), "boss@example.com", "wrong-3")
		fire := <-waits
		fire <- time.Time{}
		if err := <-third; !errors.Is(err, ErrBusy) {
			t.Errorf("err = %v, want ErrBusy", err)
		}
	})
	t.Run("an unknown login waits too", func(t *testing.T) {
		third := login(context.Background(), "nobody@example.com", "wrong-3")
		fire := <-waits
		fire <- time.Time{}
		if err := <-third; !errors.Is(err, ErrBusy) {
			t.Errorf("err = %v, want ErrBusy", err)
		}
	})
	t.Run("the request ends first", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		third := login(ctx, "boss@example.com", "wrong-3")
		<-waits
		cancel()
		if err := <-third; !errors.Is(err, context.Canceled) || errors.Is(err, ErrBusy) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	})
	t.Run("credentials verified before do not wait", func(t *testing.T) {
		again := login(context.Background(), "boss@example.com", "password-1")
		select {
		case r := <-h.entered:
			if r.password != "password-1" {
				t.Fatalf("check %q ran, want password-1", r.password)
			}
			close(r.release)
		case fire := <-waits:
			fire <- time.Time{}
			t.Fatalf("the known password waited for a slot: %v", <-again)
		}
		if err := <-again; err != nil {
			t.Errorf("err = %v, want none", err)
		}
	})
	t.Run("a slot frees during the wait", func(t *testing.T) {
		third := login(context.Background(), "boss@example.com", "wrong-3")
		<-waits
		close(held["wrong-1"].release)
		r := <-h.entered
		if r.password != "wrong-3" {
			t.Fatalf("check %q ran, want wrong-3", r.password)
		}
		close(r.release)
		close(held["wrong-2"].release)
		for i, done := range []<-chan error{first, second, third} {
			if err := <-done; !errors.Is(err, ErrBadCredentials) {
				t.Errorf("login %d: err = %v, want ErrBadCredentials", i+1, err)
			}
		}
	})
	for _, d := range waited {
		if d != time.Second {
			t.Errorf("waited up to %s, want MaxWait (1s)", d)
		}
	}
}
