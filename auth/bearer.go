package auth

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"switchboard/models"
	"switchboard/store"
)

// ErrInvalidToken means a bearer token is not one this server issued, or its
// key no longer works: malformed, tampered with, signed with another secret
// or method, naming an unknown or revoked key, or a disabled agent.
var ErrInvalidToken = errors.New("invalid token")

// ErrExpiredToken means the token's key has expired. It matches
// ErrInvalidToken too, so callers that do not care treat both alike;
// CallGear answers an expired token with its own error.
var ErrExpiredToken error = &expiredError{}

type expiredError struct{}

func (*expiredError) Error() string { return "token expired" }

// Is makes ErrExpiredToken match ErrInvalidToken.
func (*expiredError) Is(target error) bool { return target == ErrInvalidToken }

// tokenIssuer is the "iss" of every token; tokens of other issuers are refused.
const tokenIssuer = "switchboard"

// ErrSessionToken means a session token (models.KeySession) was offered
// where only API keys are taken. It matches ErrInvalidToken, so every REST
// dialect answers it with its 401.
var ErrSessionToken error = &sessionError{}

type sessionError struct{}

func (*sessionError) Error() string {
	return "a session token is valid only on the CallGear Data API; use an API key"
}

// Is makes ErrSessionToken match ErrInvalidToken.
func (*sessionError) Is(target error) bool { return target == ErrInvalidToken }

// clockSkew is how far ahead of this server's clock a token's "iat" or "nbf"
// may be: another replica's clock may run a little fast, but a token from
// further in the future was not issued by a server of ours.
const clockSkew = time.Minute

// MinSecretLen is the shortest signing secret NewKeys takes: HS256 wants at
// least as many key bytes as its hash has.
const MinSecretLen = 32

// Cache limits. A revoked key keeps working until its cached row expires, so
// the TTL is capped at the five seconds the design allows.
const (
	defaultKeyCacheTTL = 2 * time.Second
	maxKeyCacheTTL     = 5 * time.Second
	defaultTouchEvery  = time.Minute
)

// KeyStore keeps API keys; *store.Store is the real one.
type KeyStore interface {
	// CreateAPIKey stores a key; see store.Store.CreateAPIKey.
	CreateAPIKey(ctx context.Context, accountID int64, in store.NewAPIKey) (models.APIKey, error)
	// APIKey returns the key with its agent, or an error wrapping store.ErrNotFound.
	APIKey(ctx context.Context, id string) (store.KeyOwner, error)
	// TouchAPIKey records a use of the key.
	TouchAPIKey(ctx context.Context, id string, at time.Time) error
}

// KeysOptions tune NewKeys. The zero value is fine.
type KeysOptions struct {
	// CacheTTL is how long a key's row is trusted without reading it again
	// (default 2 s, at most 5 s: a revocation takes effect within it).
	CacheTTL time.Duration
	// CacheSize bounds the cached rows (default 10,000).
	CacheSize int
	// TouchEvery is how often a key's last use is written (default 1 minute).
	TouchEvery time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Log receives failed last-use writes; nil logs nothing.
	Log *slog.Logger
}

// Keys issues and checks bearer API keys: HS256 JWTs whose "jti" names a
// row of api_keys. The signature proves the server issued the token; the row
// says whether it still works (revocation, expiry, the agent's enabled flag).
//
// Rows are cached for a couple of seconds so that a busy key costs no
// database read per request, and a key's last use is written at most once per
// TouchEvery. Keys is safe for concurrent use.
type Keys struct {
	secret     []byte
	ks         KeyStore
	parser     *jwt.Parser
	ttl        time.Duration
	size       int
	touchEvery time.Duration
	now        func() time.Time
	log        *slog.Logger

	mu      sync.Mutex
	entries map[string]cachedKey
	// touched is when this process last wrote (or saw written) each key's last use.
	touched map[string]time.Time
}

type cachedKey struct {
	owner   store.KeyOwner
	scopes  []Scope
	expires time.Time
}

// keyClaims are the claims of a key's token: the registered ones plus the
// account, so that a row moved to another account no longer matches.
type keyClaims struct {
	Account int64 `json:"acct"`
	jwt.RegisteredClaims
}

// NewKeys returns Keys that sign with secret and keep keys in ks. It returns
// an error for a secret shorter than MinSecretLen or a CacheTTL over 5 s.
func NewKeys(secret []byte, ks KeyStore, opts KeysOptions) (*Keys, error) {
	if len(secret) < MinSecretLen {
		return nil, fmt.Errorf("signing secret is %d bytes, want at least %d", len(secret), MinSecretLen)
	}
	if opts.CacheTTL > maxKeyCacheTTL {
		return nil, fmt.Errorf("key cache TTL %s is over %s: revocations must take effect within it", opts.CacheTTL, maxKeyCacheTTL)
	}
	k := &Keys{
		secret: slices.Clone(secret), ks: ks, ttl: opts.CacheTTL, size: opts.CacheSize,
		touchEvery: opts.TouchEvery, now: opts.Now, log: opts.Log,
		entries: map[string]cachedKey{}, touched: map[string]time.Time{},
	}
	if k.ttl <= 0 {
		k.ttl = defaultKeyCacheTTL
	}
	if k.size <= 0 {
		k.size = 10_000
	}
	if k.touchEvery <= 0 {
		k.touchEvery = defaultTouchEvery
	}
	if k.now == nil {
		k.now = time.Now
	}
	if k.log == nil {
		k.log = slog.New(slog.DiscardHandler)
	}
	// The explicit method list refuses "none" and any other algorithm a
	// forged header names; strict decoding refuses non-canonical base64, so a
	// token has one spelling. The leeway lets "iat" and "nbf" be clockSkew
	// ahead; "exp" gets none (Authenticate checks it itself).
	k.parser = jwt.NewParser(jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(tokenIssuer), jwt.WithTimeFunc(k.now), jwt.WithStrictDecoding(),
		jwt.WithIssuedAt(), jwt.WithLeeway(clockSkew))
	return k, nil
}

// NewKeyID returns a fresh random key id (130 bits, base32).
func NewKeyID() string { return rand.Text() }

// KeySpec is what Issue makes a key for.
type KeySpec struct {
	// AgentID is the agent the key acts as; nil means the account's first
	// enabled superadmin.
	AgentID *int64
	Name    string
	// Kind is what the key stands for; empty means models.KeyAPI. A session
	// (models.KeySession) works only where AuthenticateAny is called, and
	// never with more scopes than its agent's role has (RoleScopes).
	Kind models.KeyKind
	// Scopes are what the key may do; nil or empty means every scope.
	Scopes []Scope
	// ExpiresAt is when the key stops working; nil means never. It is kept
	// to the second, as the token's "exp" is.
	ExpiresAt *time.Time
}

// Issue creates a key of the account and returns its row and its token. The
// token is not stored: this is the only time it is seen. It returns
// store.FieldErrors for an unknown scope or an expiry not in the future, and
// the store's errors (ErrNotFound for an unknown account or agent).
func (k *Keys) Issue(ctx context.Context, accountID int64, spec KeySpec) (models.APIKey, string, error) {
	in := store.NewAPIKey{ID: NewKeyID(), AgentID: spec.AgentID, Name: spec.Name, Kind: spec.Kind}
	var fe store.FieldErrors
	if len(spec.Scopes) > 0 {
		scopes, err := ParseScopes(FormatScopes(spec.Scopes))
		if err != nil {
			fe.Add("scopes", "%v", err)
		}
		in.Scopes = FormatScopes(scopes)
	}
	if spec.Kind == models.KeySession && len(spec.Scopes) == 0 {
		// Empty scopes mean every scope, which a session never has.
		fe.Add("scopes", "a session takes its agent's role's scopes (RoleScopes); none given")
	}
	if spec.ExpiresAt != nil {
		at := spec.ExpiresAt.UTC().Truncate(time.Second)
		if !at.After(k.now()) {
			fe.Add("expires_at", "%s is not in the future", at.Format(time.RFC3339))
		}
		in.ExpiresAt = &at
	}
	if err := fe.Err(); err != nil {
		return models.APIKey{}, "", err
	}
	key, err := k.ks.CreateAPIKey(ctx, accountID, in)
	if err != nil {
		return models.APIKey{}, "", fmt.Errorf("issue key: %w", err)
	}
	token, err := k.Sign(key)
	if err != nil {
		return models.APIKey{}, "", err
	}
	return key, token, nil
}

// Sign returns the token of an existing key. Signing the same row twice gives
// the same token. It returns an error only when the token cannot be encoded.
func (k *Keys) Sign(key models.APIKey) (string, error) {
	claims := keyClaims{
		Account: key.AccountID,
		RegisteredClaims: jwt.RegisteredClaims{
			ID:       key.ID,
			Subject:  strconv.FormatInt(key.AgentID, 10),
			Issuer:   tokenIssuer,
			IssuedAt: jwt.NewNumericDate(key.CreatedAt),
		},
	}
	if key.ExpiresAt != nil {
		claims.ExpiresAt = jwt.NewNumericDate(*key.ExpiresAt)
	}
	token, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(k.secret)
	if err != nil {
		return "", fmt.Errorf("sign key %s: %w", key.ID, err)
	}
	return token, nil
}

// Authenticate returns the caller an API key stands for. It returns
// ErrExpiredToken for an expired key, ErrSessionToken (matching
// ErrInvalidToken) for a session token, ErrInvalidToken (wrapped, with the
// reason) for any other token that does not work, and a wrapped store error
// (such as store.ErrUnavailable) when the key cannot be read.
func (k *Keys) Authenticate(ctx context.Context, token string) (Caller, error) {
	c, err := k.AuthenticateAny(ctx, token)
	if err == nil && c.Session {
		return Caller{}, ErrSessionToken
	}
	return c, err
}

// AuthenticateAny is Authenticate that takes session tokens too: only the
// endpoint that issues sessions (CallGear's) calls it. A session's caller
// has the scopes of its agent's role as it is now, never more than the key
// was issued with. Its errors are Authenticate's, but for ErrSessionToken.
func (k *Keys) AuthenticateAny(ctx context.Context, token string) (Caller, error) {
	var claims keyClaims
	if _, err := k.parser.ParseWithClaims(token, &claims, k.keyFunc); err != nil {
		if errors.Is(err, jwt.ErrTokenExpired) {
			return Caller{}, ErrExpiredToken
		}
		return Caller{}, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	now := k.now()
	if claims.ExpiresAt != nil && !now.Before(claims.ExpiresAt.Time) {
		// The parser's leeway is for clocks that run fast, not for tokens
		// that have run out.
		return Caller{}, ErrExpiredToken
	}
	agentID, err := strconv.ParseInt(claims.Subject, 10, 64)
	if err != nil || claims.ID == "" {
		return Caller{}, fmt.Errorf("%w: no key id or agent", ErrInvalidToken)
	}
	entry, err := k.load(ctx, claims.ID, now)
	if errors.Is(err, store.ErrNotFound) {
		return Caller{}, fmt.Errorf("%w: unknown key", ErrInvalidToken)
	}
	if err != nil {
		return Caller{}, fmt.Errorf("authenticate key: %w", err)
	}
	key, agent := entry.owner.Key, entry.owner.Agent
	switch {
	case key.AccountID != claims.Account || key.AgentID != agentID || agent.ID != key.AgentID || agent.AccountID != key.AccountID:
		return Caller{}, fmt.Errorf("%w: claims do not match the key", ErrInvalidToken)
	case key.RevokedAt != nil:
		return Caller{}, fmt.Errorf("%w: key revoked", ErrInvalidToken)
	case key.ExpiresAt != nil && !now.Before(*key.ExpiresAt):
		return Caller{}, ErrExpiredToken
	case !agent.Enabled:
		return Caller{}, fmt.Errorf("%w: agent disabled", ErrInvalidToken)
	case entry.scopes == nil:
		return Caller{}, fmt.Errorf("%w: key has unknown scopes %q", ErrInvalidToken, key.Scopes)
	case !key.Kind.Valid():
		return Caller{}, fmt.Errorf("%w: key has unknown kind %q", ErrInvalidToken, key.Kind)
	}
	k.touch(ctx, key.ID, now)
	c := Caller{
		AccountID: key.AccountID, AgentID: agent.ID, Email: agent.Email, Role: agent.Role,
		Scopes: slices.Clone(entry.scopes), KeyID: key.ID, Session: key.Kind == models.KeySession,
	}
	if c.Session {
		// A session acts as its agent: a role changed since the login
		// takes its scopes away at once.
		c.Scopes = intersect(c.Scopes, RoleScopes(agent.Role))
	}
	c.Scopes = withinRole(c.Scopes, agent.Role)
	return c, nil
}

// Forget drops the key's cached row, so that this process reads it again on
// its next use: a key revoked here stops working here at once.
func (k *Keys) Forget(id string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.entries, id)
}

// keyFunc gives the parser the secret; the parser has already refused any
// method but HS256.
func (k *Keys) keyFunc(*jwt.Token) (any, error) { return k.secret, nil }

// load returns the key's cached row, reading it when the cache has none or
// an old one.
func (k *Keys) load(ctx context.Context, id string, now time.Time) (cachedKey, error) {
	k.mu.Lock()
	e, ok := k.entries[id]
	k.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e, nil
	}
	owner, err := k.ks.APIKey(ctx, id)
	if err != nil {
		return cachedKey{}, err
	}
	e = cachedKey{owner: owner, expires: now.Add(k.ttl)}
	// A row with an unknown scope gets nil scopes, which Authenticate refuses.
	e.scopes, _ = ParseScopes(owner.Key.Scopes)
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.entries) >= k.size {
		evict(k.entries, k.size, func(e cachedKey) bool { return !now.Before(e.expires) })
	}
	k.entries[id] = e
	// A recent last use written by another replica counts as our touch.
	if lu := owner.Key.LastUsedAt; lu != nil && lu.After(k.touched[id]) {
		k.touched[id] = *lu
	}
	return e, nil
}

// touch writes the key's last use when this process has not written or seen
// one within TouchEvery. A failed write is logged, not returned: the request
// is authenticated all the same, and the next write comes TouchEvery later.
func (k *Keys) touch(ctx context.Context, id string, now time.Time) {
	k.mu.Lock()
	if last, ok := k.touched[id]; ok && now.Sub(last) < k.touchEvery {
		k.mu.Unlock()
		return
	}
	if len(k.touched) >= k.size {
		evict(k.touched, k.size, func(t time.Time) bool { return now.Sub(t) >= k.touchEvery })
	}
	k.touched[id] = now
	k.mu.Unlock()
	if err := k.ks.TouchAPIKey(ctx, id, now); err != nil {
		k.log.WarnContext(ctx, "write api key last use", "key_id", id, "err", err)
	}
}

// evict makes room in a full map: first it drops the stale entries, then, if
// it is still full, an arbitrary eighth (map order is random).
func evict[V any](m map[string]V, size int, stale func(V) bool) {
	for id, v := range m {
		if stale(v) {
			delete(m, id)
		}
	}
	for id := range m {
		if len(m) < size-size/8 {
			break
		}
		delete(m, id)
	}
}
