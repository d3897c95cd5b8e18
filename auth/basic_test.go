package auth

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"switchboard/models"
	"switchboard/store"
	"switchboard/store/storetest"
)

// testAddr is the client address of the tests' logins.
const testAddr = "192.0.2.1"

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

func TestHasher_Hash(t *testing.T) {
	h := Hasher{Cost: bcrypt.MinCost}
	tests := []struct {
		name     string
		password string
		wantErr  bool
	}{
		{"ok", "correct horse", false},
		{"too short", "short", true},
		{"too long", string(make([]byte, 73)), true},
		{"longest", string(make([]byte, 72)), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hash, err := h.Hash(tt.password)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if err == nil && (!h.Verify(hash, tt.password) || h.Verify(hash, tt.password+"x")) {
				t.Errorf("Verify does not tell the password from another")
			}
		})
	}
}

// TestHasher_Compared checks that Verify reports every bcrypt compare it
// runs, and none for a password it refuses unread.
func TestHasher_Compared(t *testing.T) {
	var got []bool
	h := Hasher{Cost: bcrypt.MinCost, Compared: func(matched bool) { got = append(got, matched) }}
	hash, err := h.Hash("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		password string
		want     []bool
	}{
		{"match", "correct horse", []bool{true}},
		{"mismatch", "wrong horse", []bool{false}},
		{"too long: no compare", string(make([]byte, 73)), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got = nil
			h.Verify(hash, tt.password)
			if !slices.Equal(got, tt.want) {
				t.Errorf("Compared calls %v, want %v", got, tt.want)
			}
		})
	}
}

func TestBasic_Authenticate(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		h := Hasher{Cost: bcrypt.MinCost}
		hash, _ := h.Hash("password-1")
		acct := storetest.MustAccount(t, s, "A")
		admin := storetest.MustAgent(t, s, acct.ID, "boss@example.com", models.RoleSuperadmin, hash)
		off := storetest.MustAgent(t, s, acct.ID, "off@example.com", models.RoleAgent, hash)
		disabled := false
		if _, err := s.UpdateAgent(ctx, acct.ID, off.ID, store.AgentUpdate{Enabled: &disabled}); err != nil {
			t.Fatal(err)
		}
		clk := &clock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
		b, err := NewBasic(s, BasicOptions{Hasher: h, CacheTTL: time.Minute, Now: clk.Now})
		if err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name, email, password string
			wantErr               error
		}{
			{"right", "boss@example.com", "password-1", nil},
			{"email in another case", "BOSS@example.com", "password-1", nil},
			{"wrong password", "boss@example.com", "password-2", ErrBadCredentials},
			{"unknown email", "who@example.com", "password-1", ErrBadCredentials},
			{"disabled agent", "off@example.com", "password-1", ErrBadCredentials},
			{"empty", "", "", ErrBadCredentials},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				c, err := b.Authenticate(ctx, tt.email, tt.password, testAddr)
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				if err == nil && (c.AgentID != admin.ID || c.AccountID != acct.ID || c.Role != models.RoleSuperadmin) {
					t.Errorf("caller = %+v", c)
				}
				if err == nil && c.Require(ScopeAdmin) != nil {
					t.Errorf("superadmin's scopes = %v, want admin among them", c.Scopes)
				}
			})
		}
		t.Run("an agent's role has no admin scope", func(t *testing.T) {
			storetest.MustAgent(t, s, acct.ID, "agent@example.com", models.RoleAgent, hash)
			c, err := b.Authenticate(ctx, "agent@example.com", "password-1", testAddr)
			if err != nil || c.Require(ScopeRead) != nil || c.Require(ScopeAdmin) == nil {
				t.Errorf("caller = %+v, %v; want read and not admin", c, err)
			}
		})
	})
}

// TestBasic_Cache checks that a verified password is remembered, that the
// cache holds no plaintext, and that a password change, a role change or the
// TTL drops the entry.
func TestBasic_Cache(t *testing.T) {
	s := storetest.MustOpen(t, store.SQLite)
	ctx := context.Background()
	h := Hasher{Cost: bcrypt.MinCost}
	hash, _ := h.Hash("password-1")
	acct := storetest.MustAccount(t, s, "A")
	ag := storetest.MustAgent(t, s, acct.ID, "boss@example.com", models.RoleSuperadmin, hash)
	clk := &clock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	b, err := NewBasic(s, BasicOptions{Hasher: h, CacheTTL: time.Minute, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	mustAuth := func(password string, want error) {
		t.Helper()
		if _, err := b.Authenticate(ctx, "boss@example.com", password, testAddr); !errors.Is(err, want) {
			t.Fatalf("Authenticate(%q) err = %v, want %v", password, err, want)
		}
	}

	mustAuth("password-1", nil)
	if b.cacheLen() != 1 {
		t.Fatalf("cache has %d entries after a login, want 1", b.cacheLen())
	}
	for k, e := range b.entries {
		if string(k[:]) == "password-1" || e.passwordHash != hash {
			t.Errorf("cache entry %x holds %+v", k, e)
		}
	}
	mustAuth("password-1", nil)

	t.Run("password change", func(t *testing.T) {
		newHash, _ := h.Hash("password-2")
		if _, err := s.UpdateAgent(ctx, acct.ID, ag.ID, store.AgentUpdate{PasswordHash: &newHash}); err != nil {
			t.Fatal(err)
		}
		mustAuth("password-1", ErrBadCredentials)
		if b.cacheLen() != 0 {
			t.Errorf("old password still cached")
		}
		mustAuth("password-2", nil)
	})
	t.Run("role change", func(t *testing.T) {
		role := models.RoleAgent
		if _, err := s.UpdateAgent(ctx, acct.ID, ag.ID, store.AgentUpdate{Role: &role}); err != nil {
			t.Fatal(err)
		}
		c, err := b.Authenticate(ctx, "boss@example.com", "password-2", testAddr)
		if err != nil || c.Role != models.RoleAgent {
			t.Fatalf("after role change caller = %+v, %v; want role agent", c, err)
		}
	})
	t.Run("ttl", func(t *testing.T) {
		mustAuth("password-2", nil)
		clk.Advance(2 * time.Minute)
		key := b.key("boss@example.com", "password-2")
		if fresh, known := b.lookup(key, mustAgent(t, s, ag.ID)); fresh || !known {
			t.Errorf("after its TTL entry fresh %v, known %v; want only known (exempt from the throttle)", fresh, known)
		}
	})
	t.Run("bounded", func(t *testing.T) {
		small, err := NewBasic(s, BasicOptions{Hasher: h, CacheSize: 8, Now: clk.Now})
		if err != nil {
			t.Fatal(err)
		}
		agent := mustAgent(t, s, ag.ID)
		for i := range 100 {
			small.remember(small.key("boss@example.com", string(rune('a'+i%26))+string(rune(i))), agent)
		}
		if n := small.cacheLen(); n > 8 {
			t.Errorf("cache grew to %d entries, limit 8", n)
		}
	})
}

func mustAgent(t *testing.T, s *store.Store, id int64) models.Agent {
	t.Helper()
	a, err := s.AgentByEmail(context.Background(), "boss@example.com")
	if err != nil || a.ID != id {
		t.Fatalf("agent: %+v %v", a, err)
	}
	return a
}

// countingLogins counts the login records that reach the store.
type countingLogins struct {
	*store.Store
	n atomic.Int64
}

func (c *countingLogins) RecordLogin(ctx context.Context, id int64, at time.Time) error {
	c.n.Add(1)
	return c.Store.RecordLogin(ctx, id, at)
}

// TestBasic_RecordLogin checks that a checked password records the agent's
// login, and that requests answered from the cache write nothing.
func TestBasic_RecordLogin(t *testing.T) {
	s := storetest.MustOpen(t, store.SQLite)
	ctx := context.Background()
	h := Hasher{Cost: bcrypt.MinCost}
	hash, _ := h.Hash("password-1")
	acct := storetest.MustAccount(t, s, "A")
	admin := storetest.MustAgent(t, s, acct.ID, "boss@example.com", models.RoleSuperadmin, hash)
	clk := &clock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	cs := &countingLogins{Store: s}
	b, err := NewBasic(cs, BasicOptions{Hasher: h, CacheTTL: time.Minute, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name      string
		advance   time.Duration
		password  string
		wantWrite int
		wantLogin time.Time
	}{
		{"first login", 0, "password-1", 1, clk.now},
		{"cached", 10 * time.Second, "password-1", 1, clk.now},
		{"wrong password", time.Second, "nope-nope", 1, clk.now},
		{"checked again after the cache", time.Minute, "password-1", 2, clk.now.Add(71 * time.Second)},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			clk.Advance(st.advance)
			b.Authenticate(ctx, "boss@example.com", st.password, testAddr)
			if n := cs.n.Load(); n != int64(st.wantWrite) {
				t.Errorf("%d login writes, want %d", n, st.wantWrite)
			}
			a, err := s.Agent(ctx, acct.ID, admin.ID)
			if err != nil || a.LastLoginAt == nil || !a.LastLoginAt.Equal(st.wantLogin) {
				t.Errorf("last login = %v, %v; want %v", a.LastLoginAt, err, st.wantLogin)
			}
		})
	}
}

// TestBasic_ConcurrentCheck checks that many requests with the same
// credentials and nothing cached run one password check between them (one
// login record), not one bcrypt each: a remembered check expiring under load
// must not stall the server.
func TestBasic_ConcurrentCheck(t *testing.T) {
	s := storetest.MustOpen(t, store.SQLite)
	h := Hasher{Cost: bcrypt.MinCost + 4}
	hash, _ := h.Hash("password-1")
	acct := storetest.MustAccount(t, s, "A")
	storetest.MustAgent(t, s, acct.ID, "boss@example.com", models.RoleSuperadmin, hash)
	cs := &countingLogins{Store: s}
	b, err := NewBasic(cs, BasicOptions{Hasher: h})
	if err != nil {
		t.Fatal(err)
	}
	const n = 50
	var wg sync.WaitGroup
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, errs[i] = b.Authenticate(context.Background(), "boss@example.com", "password-1", testAddr)
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	if got := cs.n.Load(); got != 1 {
		t.Errorf("%d password checks recorded a login, want 1", got)
	}
	// A wrong password shared by concurrent requests is refused for all.
	var refused atomic.Int64
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := b.Authenticate(context.Background(), "boss@example.com", "wrong-password", testAddr); errors.Is(err, ErrBadCredentials) {
				refused.Add(1)
			}
		}()
	}
	wg.Wait()
	if refused.Load() != 10 {
		t.Errorf("%d of 10 wrong passwords refused", refused.Load())
	}
}
