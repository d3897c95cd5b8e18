package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"switchboard/models"
	"switchboard/store"
)

// ErrBadCredentials means the email and password do not name an enabled agent.
var ErrBadCredentials = errors.New("bad credentials")

// Caller is who is making a request.
type Caller struct {
	AccountID int64
	AgentID   int64
	Email     string
	Role      models.Role
	// Scopes are what the caller may do: an API key's scopes, or every scope
	// for an agent who logged in with a password.
	Scopes []Scope
	// KeyID is the API key the caller used, empty for a password login.
	KeyID string
	// Session says the key is a session token a password login issued
	// (models.KeySession); its scopes are its agent's role's.
	Session bool
}

type callerKey struct{}

// WithCaller returns ctx carrying the caller.
func WithCaller(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// CallerFrom returns the caller that ctx carries, and false when it carries none.
func CallerFrom(ctx context.Context) (Caller, bool) {
	c, ok := ctx.Value(callerKey{}).(Caller)
	return c, ok
}

// AgentFinder looks an agent up by login email (an error wrapping
// store.ErrNotFound when there is none) and records its logins.
type AgentFinder interface {
	AgentByEmail(ctx context.Context, email string) (models.Agent, error)
	RecordLogin(ctx context.Context, id int64, at time.Time) error
}

// BasicOptions tune NewBasic. The zero value is fine.
type BasicOptions struct {
	Hasher Hasher
	// CacheTTL is how long a verified password is trusted without hashing it
	// again (default 60 s); CacheSize bounds the entries (default 10,000).
	CacheTTL  time.Duration
	CacheSize int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Log receives failed login records; nil logs nothing.
	Log *slog.Logger
}

// Basic checks HTTP Basic credentials (an agent's email and password).
//
// bcrypt costs a quarter of a second, and REVE clients send credentials on
// every request, so a successful check is remembered for CacheTTL. The cache
// is keyed by an HMAC of the credentials under a per-process random key, so it
// never holds a password. Each request still reads the agent, and an entry
// counts only while the agent's password hash and role are the ones it was
// verified with: changing either drops it at once, on every replica.
type Basic struct {
	agents AgentFinder
	hasher Hasher
	ttl    time.Duration
	size   int
	now    func() time.Time
	log    *slog.Logger
	mac    []byte
	// dummy is a hash to check against when the email is unknown, so that an
	// unknown email costs as much as a wrong password.
	dummy string

	mu      sync.Mutex
	entries map[[sha256.Size]byte]verified
	flight  singleflight.Group
}

type verified struct {
	agentID      int64
	passwordHash string
	role         models.Role
	expires      time.Time
}

// NewBasic returns a Basic checker that finds agents with agents.
func NewBasic(agents AgentFinder, opts BasicOptions) (*Basic, error) {
	b := &Basic{agents: agents, hasher: opts.Hasher, ttl: opts.CacheTTL, size: opts.CacheSize, now: opts.Now, log: opts.Log,
		entries: map[[sha256.Size]byte]verified{}}
	if b.ttl <= 0 {
		b.ttl = time.Minute
	}
	if b.size <= 0 {
		b.size = 10_000
	}
	if b.now == nil {
		b.now = time.Now
	}
	b.mac = make([]byte, 32)
	if _, err := rand.Read(b.mac); err != nil {
		return nil, fmt.Errorf("basic auth cache key: %w", err)
	}
	var err error
	if b.dummy, err = b.hasher.Hash("not-a-real-password"); err != nil {
		return nil, err
	}
	return b, nil
}

// Authenticate returns the caller whose email and password these are. It
// returns ErrBadCredentials for an unknown email, a wrong password or a
// disabled agent, and a wrapped store error when the agent cannot be read.
func (b *Basic) Authenticate(ctx context.Context, email, password string) (Caller, error) {
	agent, err := b.agents.AgentByEmail(ctx, email)
	if errors.Is(err, store.ErrNotFound) {
		b.hasher.Verify(b.dummy, password)
		return Caller{}, ErrBadCredentials
	}
	if err != nil {
		return Caller{}, fmt.Errorf("authenticate: %w", err)
	}
	key := b.key(agent.Email, password)
	if !b.cached(key, agent) {
		// When a remembered check expires under load, every request in flight
		// with those credentials would run bcrypt at once and starve the
		// server; one checks and the others wait for its answer.
		ok, _, _ := b.flight.Do(string(key[:])+"\x00"+agent.PasswordHash, func() (any, error) {
			if b.cached(key, agent) {
				return true, nil
			}
			if !b.hasher.Verify(agent.PasswordHash, password) {
				return false, nil
			}
			b.remember(key, agent)
			if agent.Enabled {
				// A login is a checked password, which the cache makes at most
				// one a minute per client; a failed write does not fail it.
				if err := b.agents.RecordLogin(ctx, agent.ID, b.now()); err != nil && b.log != nil {
					b.log.WarnContext(ctx, "record login", "agent_id", agent.ID, "err", err)
				}
			}
			return true, nil
		})
		if !ok.(bool) {
			return Caller{}, ErrBadCredentials
		}
	}
	if !agent.Enabled {
		return Caller{}, ErrBadCredentials
	}
	return Caller{AccountID: agent.AccountID, AgentID: agent.ID, Email: agent.Email, Role: agent.Role, Scopes: AllScopes()}, nil
}

func (b *Basic) key(email, password string) [sha256.Size]byte {
	m := hmac.New(sha256.New, b.mac)
	m.Write([]byte(email))
	m.Write([]byte{0})
	m.Write([]byte(password))
	var k [sha256.Size]byte
	copy(k[:], m.Sum(nil))
	return k
}

// cached reports whether the credentials were verified recently against the
// agent as it is now; a stale or changed entry is dropped.
func (b *Basic) cached(key [sha256.Size]byte, agent models.Agent) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	e, ok := b.entries[key]
	if !ok {
		return false
	}
	if e.agentID != agent.ID || e.passwordHash != agent.PasswordHash || e.role != agent.Role || !b.now().Before(e.expires) {
		delete(b.entries, key)
		return false
	}
	return true
}

func (b *Basic) remember(key [sha256.Size]byte, agent models.Agent) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	if len(b.entries) >= b.size {
		for k, e := range b.entries {
			if !now.Before(e.expires) {
				delete(b.entries, k)
			}
		}
		// Still full of live entries: drop an arbitrary eighth (map order is random).
		for k := range b.entries {
			if len(b.entries) < b.size-b.size/8 {
				break
			}
			delete(b.entries, k)
		}
	}
	b.entries[key] = verified{agentID: agent.ID, passwordHash: agent.PasswordHash, role: agent.Role, expires: now.Add(b.ttl)}
}

// cacheLen returns the number of remembered verifications (for tests).
func (b *Basic) cacheLen() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.entries)
}
