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

// AgentFinder looks an agent up by login email (an error wrapping
// store.ErrNotFound when there is none) and records its logins.
type AgentFinder interface {
	AgentByEmail(ctx context.Context, email string) (models.Agent, error)
	RecordLogin(ctx context.Context, id int64, at time.Time) error
}

// AgentVersions is implemented by an AgentFinder (the store) that can tell
// when agents may have changed: AgentsVersion's number moves after every
// committed change of an agent's email, password, role or enabled flag, on
// any replica; ok is false while it cannot see other replicas' changes.
type AgentVersions interface {
	AgentsVersion() (version uint64, ok bool)
}

// PasswordHasher hashes and checks passwords; Hasher (bcrypt) is the real
// one.
type PasswordHasher interface {
	Hash(password string) (string, error)
	Verify(hash, password string) bool
}

// BasicOptions tune NewBasic. The zero value is fine.
type BasicOptions struct {
	// Hasher checks passwords; nil is Hasher{} (bcrypt at DefaultCost).
	Hasher PasswordHasher
	// CacheTTL is how long a verified password is trusted without hashing it
	// again (default 60 s); CacheSize bounds the entries (default 10,000).
	CacheTTL  time.Duration
	CacheSize int
	// KnownTTL is how long a password verified once stays exempt from the
	// throttle after its CacheTTL ends (default 24 h): checked again, it is
	// not a guess.
	KnownTTL time.Duration
	// AgentTTL bounds how long credentials verified within CacheTTL may
	// skip reading the agent after it was last read. Zero (the default):
	// while the finder is an AgentVersions that sees every replica's
	// changes, until an agent changes (within CacheTTL), else never; a
	// change counts on every replica as soon as its notification arrives.
	// Positive: for at most that long, and not past a change the finder
	// reports. Negative: never; the agent is read on every request.
	AgentTTL time.Duration
	// MaxChecks bounds the password checks that run at once (default
	// DefaultMaxChecks(), one per CPU); a check waits up to MaxWait (default
	// DefaultMaxWait) for a free one and then fails with ErrBusy.
	MaxChecks int
	MaxWait   time.Duration
	// Throttle refuses logins whose client address or login name failed too
	// often; nil throttles nothing.
	Throttle *Throttle
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
// never holds a password. Each request still reads the agent, unless no
// change of agents was reported since it was last read (see AgentTTL), and an
// entry counts only while the agent's password hash and role are the ones it
// was verified with: changing either drops it at once, on every replica.
//
// A check of credentials this replica has not verified within KnownTTL is a
// possible guess. It is refused before any hashing when the Throttle says
// its client address or login name failed too often, and it waits for one of
// MaxChecks slots, so that a flood of wrong passwords costs at most that many
// cores, and those at the lowest CPU priority. Credentials verified before
// are no guess: when their CacheTTL ends they are checked again neither
// throttled nor waiting, so that wrong passwords sent for a login do not lock
// out its real client. An unknown email is checked against a dummy hash,
// throttled, bounded and counted like a wrong password.
type Basic struct {
	agents   AgentFinder
	versions AgentVersions // nil when agents is not one
	hasher   PasswordHasher
	ttl      time.Duration
	knownTTL time.Duration
	agentTTL time.Duration
	size     int
	now      func() time.Time
	log      *slog.Logger
	mac      []byte
	gate     *gate
	throttle *Throttle
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
	// The rest of the caller as the agent was last read, at read, when the
	// finder's version was version.
	accountID int64
	email     string
	enabled   bool
	read      time.Time
	version   uint64
	// versioned: version was live when read.
	versioned bool
	// expires ends the entry's use as a cache; known its exemption from the
	// throttle (and the entry).
	expires, known time.Time
}

// NewBasic returns a Basic checker that finds agents with agents. It
// returns an error when it cannot make its cache key or dummy hash.
func NewBasic(agents AgentFinder, opts BasicOptions) (*Basic, error) {
	b := &Basic{agents: agents, hasher: opts.Hasher, ttl: opts.CacheTTL, knownTTL: opts.KnownTTL, agentTTL: opts.AgentTTL, size: opts.CacheSize,
		now: opts.Now, log: opts.Log, throttle: opts.Throttle, entries: map[[sha256.Size]byte]verified{}}
	b.versions, _ = agents.(AgentVersions)
	if b.hasher == nil {
		b.hasher = Hasher{}
	}
	if b.ttl <= 0 {
		b.ttl = time.Minute
	}
	if b.knownTTL <= 0 {
		b.knownTTL = 24 * time.Hour
	}
	if b.size <= 0 {
		b.size = 10_000
	}
	if b.now == nil {
		b.now = time.Now
	}
	checks, wait := opts.MaxChecks, opts.MaxWait
	if checks <= 0 {
		checks = DefaultMaxChecks()
	}
	if wait <= 0 {
		wait = DefaultMaxWait
	}
	b.gate = newGate(checks, wait)
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

// Authenticate returns the caller whose email and password these are, sent
// from the client address addr (the one the router trusts, as echo's
// RealIP). It returns ErrBadCredentials for an unknown email, a wrong
// password or a disabled agent; a *ThrottledError, before any hashing, when
// addr or the email failed too often lately; ErrBusy when no password check
// freed up in time; an error wrapping the context's when it ended while
// waiting for one; and a wrapped store error when the agent cannot be read.
func (b *Basic) Authenticate(ctx context.Context, email, password, addr string) (Caller, error) {
	// Agents are found by their email as stored, which is this form, so
	// that the key is the same before the agent is read and after.
	key := b.key(models.NormalizeEmail(email), password)
	if c, ok := b.recent(key); ok {
		return c, nil
	}
	// Taken before the agent is read: a change committed after this is
	// read or not, but either way it moves the version past this one.
	version, versioned := b.version()
	if !b.remembered(key) {
		// Never verified here, so possibly a guess: when its address or
		// login failed too often it is refused before the agent is even
		// read, and a throttled flood costs no database reads either.
		if err := b.throttle.Check(ctx, email, addr); err != nil {
			return Caller{}, err
		}
	}
	agent, err := b.agents.AgentByEmail(ctx, email)
	if errors.Is(err, store.ErrNotFound) {
		// Throttled, waited for and counted as a wrong password is, and
		// shared by concurrent requests alike.
		_, err, _ := b.flight.Do("unknown\x00"+string(key[:]), func() (any, error) {
			_, err := b.check(ctx, b.dummy, password, email, addr, false)
			return nil, err
		})
		if err != nil {
			return Caller{}, err
		}
		return Caller{}, ErrBadCredentials
	}
	if err != nil {
		return Caller{}, fmt.Errorf("authenticate: %w", err)
	}
	if fresh, known := b.lookup(key, agent); !fresh {
		// When a remembered check expires under load, every request in flight
		// with those credentials would run bcrypt at once and starve the
		// server; one checks and the others wait for its answer.
		ok, err, _ := b.flight.Do(string(key[:])+"\x00"+agent.PasswordHash, func() (any, error) {
			if fresh, _ := b.lookup(key, agent); fresh {
				return true, nil
			}
			ok, err := b.check(ctx, agent.PasswordHash, password, email, addr, known)
			if err != nil || !ok {
				return false, err
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
		if err != nil {
			return Caller{}, err
		}
		if !ok.(bool) {
			return Caller{}, ErrBadCredentials
		}
	}
	if !agent.Enabled {
		return Caller{}, ErrBadCredentials
	}
	b.read(key, agent, version, versioned)
	return callerOf(agent.AccountID, agent.ID, agent.Email, agent.Role), nil
}

func callerOf(accountID, agentID int64, email string, role models.Role) Caller {
	return Caller{AccountID: accountID, AgentID: agentID, Email: email, Role: role, Scopes: withinRole(AllScopes(), role)}
}

// version returns the finder's agents version and whether it is live (see
// AgentVersions); ok is false without one.
func (b *Basic) version() (uint64, bool) {
	if b.versions == nil {
		return 0, false
	}
	return b.versions.AgentsVersion()
}

// reuses reports whether an agent read may be reused at all (AgentTTL).
func (b *Basic) reuses() bool {
	return b.agentTTL > 0 || b.agentTTL == 0 && b.versions != nil
}

// recent returns the caller of credentials verified within CacheTTL whose
// agent, enabled, was read recently enough: within AgentTTL when it is
// positive, and with no change of agents reported since (see AgentTTL); ok
// is false otherwise.
func (b *Basic) recent(key [sha256.Size]byte) (Caller, bool) {
	if !b.reuses() {
		return Caller{}, false
	}
	b.mu.Lock()
	e, ok := b.entries[key]
	b.mu.Unlock()
	now := b.now()
	if !ok || !e.enabled || !now.Before(e.expires) || b.agentTTL > 0 && !now.Before(e.read.Add(b.agentTTL)) {
		return Caller{}, false
	}
	if v, live := b.version(); e.versioned && (!live || v != e.version) {
		return Caller{}, false
	} else if !e.versioned && b.agentTTL == 0 {
		return Caller{}, false
	}
	return callerOf(e.accountID, e.agentID, e.email, e.role), true
}

// read notes that the credentials' entry was just checked against the
// agent as read now, with the finder's version before the read, if the
// entry is still the agent's.
func (b *Basic) read(key [sha256.Size]byte, agent models.Agent, version uint64, versioned bool) {
	if !b.reuses() {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	e, ok := b.entries[key]
	if !ok || e.agentID != agent.ID || e.passwordHash != agent.PasswordHash || e.role != agent.Role {
		return
	}
	e.accountID, e.email, e.enabled, e.read = agent.AccountID, agent.Email, agent.Enabled, b.now()
	e.version, e.versioned = version, versioned
	b.entries[key] = e
}

// check reports whether password matches hash, the check of a login sent
// from addr. Credentials that are known (verified before, and so no guess)
// are checked at once: they come at most once a CacheTTL per client, and a
// flood filling the slots must not refuse the client it floods. Any other
// check waits for one of the gate's slots and asks the throttle again there,
// and its mismatch is counted against login and addr. It returns the
// throttle's *ThrottledError and the gate's errors.
func (b *Basic) check(ctx context.Context, hash, password, login, addr string, known bool) (bool, error) {
	verify := func() bool { return b.hasher.Verify(hash, password) }
	if known {
		return atLowPriority(verify), nil
	}
	release, err := b.gate.enter(ctx)
	if err != nil {
		return false, err
	}
	defer release()
	// Asked again now that this check may run: the checks that held the
	// slots meanwhile may have spent the window (each counts its failure
	// before it gives its slot back), so that concurrent guesses overrun a
	// limit by fewer than MaxChecks, not by every request in flight.
	if err := b.throttle.Check(ctx, login, addr); err != nil {
		return false, err
	}
	if atLowPriority(verify) {
		return true, nil
	}
	b.throttle.Fail(ctx, login, addr)
	return false, nil
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

// remembered reports whether the cache has an entry for the credentials,
// whatever it is worth (lookup judges it against the agent).
func (b *Basic) remembered(key [sha256.Size]byte) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	_, ok := b.entries[key]
	return ok
}

// lookup reports whether the credentials were verified against the agent
// as it is now within the cache's TTL (fresh) or the longer KnownTTL
// (known); an entry for another password hash or role, or past KnownTTL, is
// dropped.
func (b *Basic) lookup(key [sha256.Size]byte, agent models.Agent) (fresh, known bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	e, ok := b.entries[key]
	if !ok {
		return false, false
	}
	now := b.now()
	if e.agentID != agent.ID || e.passwordHash != agent.PasswordHash || e.role != agent.Role || !now.Before(e.known) {
		delete(b.entries, key)
		return false, false
	}
	return now.Before(e.expires), true
}

func (b *Basic) remember(key [sha256.Size]byte, agent models.Agent) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	if len(b.entries) >= b.size {
		for k, e := range b.entries {
			if !now.Before(e.known) {
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
	b.entries[key] = verified{agentID: agent.ID, passwordHash: agent.PasswordHash, role: agent.Role,
		expires: now.Add(b.ttl), known: now.Add(max(b.knownTTL, b.ttl))}
}

// cacheLen returns the number of remembered verifications (for tests).
func (b *Basic) cacheLen() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.entries)
}
