package auth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"switchboard/models"
	"switchboard/store"
	"switchboard/store/storetest"
)

var testSecret = []byte("0123456789abcdef0123456789abcdef")

// countingStore counts the reads and last-use writes that reach the store.
type countingStore struct {
	*store.Store
	reads, touches atomic.Int64
}

func (c *countingStore) APIKey(ctx context.Context, id string) (store.KeyOwner, error) {
	c.reads.Add(1)
	return c.Store.APIKey(ctx, id)
}

func (c *countingStore) TouchAPIKey(ctx context.Context, id string, at time.Time) error {
	c.touches.Add(1)
	return c.Store.TouchAPIKey(ctx, id, at)
}

// keysFixture is an account with a superadmin, on SQLite, and Keys over it.
type keysFixture struct {
	s     *store.Store
	cs    *countingStore
	clk   *clock
	keys  *Keys
	acct  models.Account
	admin models.Agent
}

// mustKeys returns a fresh fixture whose Keys use opts with the fixture's clock.
func mustKeys(tb testing.TB, opts KeysOptions) *keysFixture {
	tb.Helper()
	s := storetest.MustOpen(tb, store.SQLite)
	f := &keysFixture{s: s, cs: &countingStore{Store: s}, clk: &clock{now: time.Now().UTC().Truncate(time.Second)}}
	f.acct = storetest.MustAccount(tb, s, "A")
	f.admin = storetest.MustAgent(tb, s, f.acct.ID, "boss@example.com", models.RoleSuperadmin, "hash")
	opts.Now = f.clk.Now
	var err error
	if f.keys, err = NewKeys(testSecret, f.cs, opts); err != nil {
		tb.Fatal(err)
	}
	return f
}

// mustIssue issues a key of the fixture's account and returns it with its token.
func (f *keysFixture) mustIssue(tb testing.TB, spec KeySpec) (models.APIKey, string) {
	tb.Helper()
	key, token, err := f.keys.Issue(context.Background(), f.acct.ID, spec)
	if err != nil {
		tb.Fatalf("issue: %v", err)
	}
	return key, token
}

// signed returns a token of the claims, signed with the secret by the method.
func signed(tb testing.TB, method jwt.SigningMethod, claims jwt.Claims, secret any) string {
	tb.Helper()
	tok, err := jwt.NewWithClaims(method, claims).SignedString(secret)
	if err != nil {
		tb.Fatal(err)
	}
	return tok
}

// withHeader returns the token's payload under another header, signed with
// HMAC-SHA256 and the real secret: only the header's "alg" is a lie.
func withHeader(token, header string) string {
	payload := strings.Split(token, ".")[1]
	input := base64.RawURLEncoding.EncodeToString([]byte(header)) + "." + payload
	m := hmac.New(sha256.New, testSecret)
	m.Write([]byte(input))
	return input + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// withPayload returns the token with its payload replaced and the old signature.
func withPayload(token, payload string) string {
	parts := strings.Split(token, ".")
	return parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(payload)) + "." + parts[2]
}

func TestNewKeys(t *testing.T) {
	s := storetest.MustOpen(t, store.SQLite)
	tests := []struct {
		name    string
		secret  []byte
		opts    KeysOptions
		wantErr bool
	}{
		{"ok", testSecret, KeysOptions{}, false},
		{"short secret", testSecret[:31], KeysOptions{}, true},
		{"no secret", nil, KeysOptions{}, true},
		{"longest cache", testSecret, KeysOptions{CacheTTL: 5 * time.Second}, false},
		{"cache longer than a revocation may take", testSecret, KeysOptions{CacheTTL: 6 * time.Second}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewKeys(tt.secret, s, tt.opts); (err != nil) != tt.wantErr {
				t.Errorf("err = %v, want error %v", err, tt.wantErr)
			}
		})
	}
}

func TestKeys_Issue(t *testing.T) {
	f := mustKeys(t, KeysOptions{})
	ctx := t.Context()
	helper := storetest.MustAgent(t, f.s, f.acct.ID, "helper@example.com", models.RoleAgent, "hash")
	other := storetest.MustAccount(t, f.s, "B")
	otherAgent := storetest.MustAgent(t, f.s, other.ID, "other@example.com", models.RoleSuperadmin, "hash")
	later := f.clk.Now().Add(time.Hour + 500*time.Millisecond)
	past := f.clk.Now().Add(-time.Second)
	tests := []struct {
		name       string
		account    int64
		spec       KeySpec
		wantAgent  int64
		wantScopes []Scope
		wantErr    error
		wantField  string
	}{
		{"defaults", f.acct.ID, KeySpec{}, f.admin.ID, AllScopes(), nil, ""},
		{"agent and scopes", f.acct.ID, KeySpec{AgentID: &helper.ID, Name: "bot", Scopes: []Scope{ScopeSMS, ScopeRead, ScopeSMS}}, helper.ID, []Scope{ScopeSMS, ScopeRead}, nil, ""},
		{"expiring", f.acct.ID, KeySpec{ExpiresAt: &later}, f.admin.ID, AllScopes(), nil, ""},
		{"unknown scope", f.acct.ID, KeySpec{Scopes: []Scope{"owner"}}, 0, nil, nil, "scopes"},
		{"expiry in the past", f.acct.ID, KeySpec{ExpiresAt: &past}, 0, nil, nil, "expires_at"},
		{"another account's agent", f.acct.ID, KeySpec{AgentID: &otherAgent.ID}, 0, nil, store.ErrNotFound, ""},
		{"unknown account", 999_999, KeySpec{}, 0, nil, store.ErrNotFound, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key, token, err := f.keys.Issue(ctx, tt.account, tt.spec)
			var fe store.FieldErrors
			switch {
			case tt.wantField != "":
				if !errors.As(err, &fe) || len(fe) != 1 || fe[0].Field != tt.wantField {
					t.Fatalf("err = %v, want a field error on %s", err, tt.wantField)
				}
				return
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			case err != nil:
				t.Fatal(err)
			}
			if key.AgentID != tt.wantAgent || token == "" || len(key.ID) < 20 {
				t.Errorf("key = %+v, token %q", key, token)
			}
			c, err := f.keys.Authenticate(ctx, token)
			if err != nil {
				t.Fatalf("the issued token does not authenticate: %v", err)
			}
			if c.KeyID != key.ID || c.AgentID != tt.wantAgent || !slices.Equal(c.Scopes, tt.wantScopes) {
				t.Errorf("caller = %+v, want agent %d scopes %v", c, tt.wantAgent, tt.wantScopes)
			}
			if again, _ := f.keys.Sign(key); again != token {
				t.Errorf("Sign gives another token for the same key")
			}
			if tt.spec.ExpiresAt != nil && !key.ExpiresAt.Equal(tt.spec.ExpiresAt.Truncate(time.Second)) {
				t.Errorf("expires_at = %v, want %v to the second", key.ExpiresAt, tt.spec.ExpiresAt)
			}
		})
	}
}

func TestKeys_Authenticate(t *testing.T) {
	f := mustKeys(t, KeysOptions{})
	ctx := t.Context()
	now := f.clk.Now()
	_, valid := f.mustIssue(t, KeySpec{Scopes: []Scope{ScopeRead}})

	soon := now.Add(time.Minute)
	expiring, expiringToken := f.mustIssue(t, KeySpec{ExpiresAt: &soon})
	// Past its row's expiry, with a token that carries no "exp" (as one of a
	// key whose expiry was set later would).
	noExp := expiring
	noExp.ExpiresAt = nil
	noExpToken, _ := f.keys.Sign(noExp)

	revoked, revokedToken := f.mustIssue(t, KeySpec{})
	if _, err := f.s.RevokeAPIKey(ctx, revoked.ID); err != nil {
		t.Fatal(err)
	}
	off := storetest.MustAgent(t, f.s, f.acct.ID, "off@example.com", models.RoleAgent, "hash")
	_, offToken := f.mustIssue(t, KeySpec{AgentID: &off.ID})
	disabled := false
	if _, err := f.s.UpdateAgent(ctx, f.acct.ID, off.ID, store.AgentUpdate{Enabled: &disabled}); err != nil {
		t.Fatal(err)
	}
	unknownToken, _ := f.keys.Sign(models.APIKey{ID: "never-stored", AccountID: f.acct.ID, AgentID: f.admin.ID, CreatedAt: now})

	key, _ := f.mustIssue(t, KeySpec{})
	claims := func(edit func(*keyClaims)) keyClaims {
		c := keyClaims{Account: key.AccountID, RegisteredClaims: jwt.RegisteredClaims{
			ID: key.ID, Subject: strconv.FormatInt(key.AgentID, 10), Issuer: "switchboard", IssuedAt: jwt.NewNumericDate(now),
		}}
		edit(&c)
		return c
	}
	good := signed(t, jwt.SigningMethodHS256, claims(func(*keyClaims) {}), testSecret)
	payload, _ := base64.RawURLEncoding.DecodeString(strings.Split(good, ".")[1])
	otherAccount := strings.Replace(string(payload), `"acct":`+strconv.FormatInt(key.AccountID, 10), `"acct":999`, 1)
	if otherAccount == string(payload) {
		t.Fatalf("payload %s has no acct claim", payload)
	}

	tests := []struct {
		name    string
		token   string
		wantErr error
	}{
		{"valid", valid, nil},
		{"hand-made valid", good, nil},
		{"empty", "", ErrInvalidToken},
		{"garbage", "not.a.jwt", ErrInvalidToken},
		{"tampered payload", withPayload(good, otherAccount), ErrInvalidToken},
		{"wrong secret", signed(t, jwt.SigningMethodHS256, claims(func(*keyClaims) {}), []byte("another-secret-another-secret-32")), ErrInvalidToken},
		{"alg none", signed(t, jwt.SigningMethodNone, claims(func(*keyClaims) {}), jwt.UnsafeAllowNoneSignatureType), ErrInvalidToken},
		{"alg none with the HMAC", withHeader(good, `{"alg":"none","typ":"JWT"}`), ErrInvalidToken},
		{"HS512", signed(t, jwt.SigningMethodHS512, claims(func(*keyClaims) {}), testSecret), ErrInvalidToken},
		{"RS256 header over an HMAC", withHeader(good, `{"alg":"RS256","typ":"JWT"}`), ErrInvalidToken},
		{"wrong issuer", signed(t, jwt.SigningMethodHS256, claims(func(c *keyClaims) { c.Issuer = "elsewhere" }), testSecret), ErrInvalidToken},
		{"no issuer", signed(t, jwt.SigningMethodHS256, claims(func(c *keyClaims) { c.Issuer = "" }), testSecret), ErrInvalidToken},
		{"another account", signed(t, jwt.SigningMethodHS256, claims(func(c *keyClaims) { c.Account = 999 }), testSecret), ErrInvalidToken},
		{"another agent", signed(t, jwt.SigningMethodHS256, claims(func(c *keyClaims) { c.Subject = strconv.FormatInt(off.ID, 10) }), testSecret), ErrInvalidToken},
		{"subject not a number", signed(t, jwt.SigningMethodHS256, claims(func(c *keyClaims) { c.Subject = "boss" }), testSecret), ErrInvalidToken},
		{"no key id", signed(t, jwt.SigningMethodHS256, claims(func(c *keyClaims) { c.ID = "" }), testSecret), ErrInvalidToken},
		{"expired claim", signed(t, jwt.SigningMethodHS256, claims(func(c *keyClaims) { c.ExpiresAt = jwt.NewNumericDate(now.Add(-time.Second)) }), testSecret), ErrExpiredToken},
		{"expired claim, within the clock skew", signed(t, jwt.SigningMethodHS256, claims(func(c *keyClaims) { c.ExpiresAt = jwt.NewNumericDate(now) }), testSecret), ErrExpiredToken},
		{"issued in a minute", signed(t, jwt.SigningMethodHS256, claims(func(c *keyClaims) { c.IssuedAt = jwt.NewNumericDate(now.Add(time.Minute)) }), testSecret), nil},
		{"issued in a minute and a second", signed(t, jwt.SigningMethodHS256, claims(func(c *keyClaims) { c.IssuedAt = jwt.NewNumericDate(now.Add(time.Minute + time.Second)) }), testSecret), ErrInvalidToken},
		{"issued next year", signed(t, jwt.SigningMethodHS256, claims(func(c *keyClaims) { c.IssuedAt = jwt.NewNumericDate(now.AddDate(1, 0, 0)) }), testSecret), ErrInvalidToken},
		{"not before in 30 s", signed(t, jwt.SigningMethodHS256, claims(func(c *keyClaims) { c.NotBefore = jwt.NewNumericDate(now.Add(30 * time.Second)) }), testSecret), nil},
		{"not before in 2 minutes", signed(t, jwt.SigningMethodHS256, claims(func(c *keyClaims) { c.NotBefore = jwt.NewNumericDate(now.Add(2 * time.Minute)) }), testSecret), ErrInvalidToken},
		{"revoked", revokedToken, ErrInvalidToken},
		{"disabled agent", offToken, ErrInvalidToken},
		{"unknown key", unknownToken, ErrInvalidToken},
		{"expiring, not yet", expiringToken, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := f.keys.Authenticate(ctx, tt.token)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				if !errors.Is(err, ErrInvalidToken) {
					t.Errorf("err = %v does not match ErrInvalidToken", err)
				}
				if errors.Is(err, ErrExpiredToken) != errors.Is(tt.wantErr, ErrExpiredToken) {
					t.Errorf("err = %v: expired is %v, want %v", err, errors.Is(err, ErrExpiredToken), !errors.Is(err, ErrExpiredToken))
				}
				return
			}
			if c.AccountID != f.acct.ID || c.AgentID != f.admin.ID || c.Email != "boss@example.com" || c.Role != models.RoleSuperadmin || c.KeyID == "" || len(c.Scopes) == 0 {
				t.Errorf("caller = %+v", c)
			}
		})
	}

	t.Run("scopes come from the row", func(t *testing.T) {
		c, err := f.keys.Authenticate(ctx, valid)
		if err != nil || !slices.Equal(c.Scopes, []Scope{ScopeRead}) || c.Require(ScopeChat) == nil {
			t.Errorf("caller = %+v, %v; want only the read scope", c, err)
		}
	})
	t.Run("expired by its row and by its claim", func(t *testing.T) {
		f.clk.Advance(2 * time.Minute)
		defer f.clk.Advance(-2 * time.Minute)
		for _, tok := range []string{expiringToken, noExpToken} {
			if _, err := f.keys.Authenticate(ctx, tok); !errors.Is(err, ErrExpiredToken) || !errors.Is(err, ErrInvalidToken) {
				t.Errorf("err = %v, want ErrExpiredToken matching ErrInvalidToken", err)
			}
		}
	})
}

// TestKeys_Revocation checks that a revoked key stops working once its
// cached row is older than the cache TTL, and not before.
func TestKeys_Revocation(t *testing.T) {
	f := mustKeys(t, KeysOptions{CacheTTL: 2 * time.Second})
	ctx := t.Context()
	key, token := f.mustIssue(t, KeySpec{})
	steps := []struct {
		name    string
		advance time.Duration
		revoke  bool
		wantErr error
	}{
		{"works", 0, false, nil},
		{"revoked, still cached", time.Second, true, nil},
		{"refused once the cache is stale", time.Second, false, ErrInvalidToken},
		{"stays refused", time.Hour, false, ErrInvalidToken},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			f.clk.Advance(st.advance)
			if st.revoke {
				if _, err := f.s.RevokeAPIKey(ctx, key.ID); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := f.keys.Authenticate(ctx, token); !errors.Is(err, st.wantErr) {
				t.Errorf("err = %v, want %v", err, st.wantErr)
			}
		})
	}
	if n := f.cs.reads.Load(); n != 3 {
		t.Errorf("%d reads of the key for 4 checks across 3 cache periods, want 3", n)
	}
}

func TestKeys_Forget(t *testing.T) {
	f := mustKeys(t, KeysOptions{CacheTTL: 5 * time.Second})
	ctx := t.Context()
	key, token := f.mustIssue(t, KeySpec{})
	if _, err := f.keys.Authenticate(ctx, token); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.RevokeAPIKey(ctx, key.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.keys.Authenticate(ctx, token); err != nil {
		t.Fatalf("revoked but cached: err = %v, want the cached row to answer", err)
	}
	f.keys.Forget(key.ID)
	if _, err := f.keys.Authenticate(ctx, token); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("after Forget: err = %v, want ErrInvalidToken at once", err)
	}
}

// TestKeys_Touch checks that last_used_at is written once per TouchEvery,
// however many requests a key serves.
func TestKeys_Touch(t *testing.T) {
	f := mustKeys(t, KeysOptions{CacheTTL: time.Second})
	ctx := t.Context()
	key, token := f.mustIssue(t, KeySpec{})
	start := f.clk.Now()
	steps := []struct {
		name        string
		at          time.Duration // since start
		wantTouches int64
	}{
		{"first use", 0, 1},
		{"same second", 0, 1},
		{"10 s", 10 * time.Second, 1},
		{"59 s", 59 * time.Second, 1},
		{"a minute", time.Minute, 2},
		{"90 s", 90 * time.Second, 2},
		{"2 min 30 s", 150 * time.Second, 3},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			f.clk.Advance(start.Add(st.at).Sub(f.clk.Now()))
			for range 5 {
				if _, err := f.keys.Authenticate(ctx, token); err != nil {
					t.Fatal(err)
				}
			}
			if n := f.cs.touches.Load(); n != st.wantTouches {
				t.Errorf("%d writes, want %d", n, st.wantTouches)
			}
		})
	}
	got, err := f.s.APIKey(ctx, key.ID)
	if err != nil || got.Key.LastUsedAt == nil || !got.Key.LastUsedAt.Equal(start.Add(150*time.Second)) {
		t.Errorf("last_used_at = %v, %v; want %v", got.Key.LastUsedAt, err, start.Add(150*time.Second))
	}

	t.Run("another replica's write counts", func(t *testing.T) {
		other, err := NewKeys(testSecret, f.cs, KeysOptions{Now: f.clk.Now})
		if err != nil {
			t.Fatal(err)
		}
		before := f.cs.touches.Load()
		f.clk.Advance(10 * time.Second)
		if _, err := other.Authenticate(ctx, token); err != nil {
			t.Fatal(err)
		}
		if n := f.cs.touches.Load() - before; n != 0 {
			t.Errorf("a fresh replica wrote %d times within a minute of the last write", n)
		}
	})
}

// failingTouch is a store whose last-use writes fail.
type failingTouch struct{ *store.Store }

func (failingTouch) TouchAPIKey(context.Context, string, time.Time) error {
	return store.ErrUnavailable
}

func TestKeys_StoreFailures(t *testing.T) {
	f := mustKeys(t, KeysOptions{})
	_, token := f.mustIssue(t, KeySpec{})
	t.Run("failed touch still authenticates", func(t *testing.T) {
		k, err := NewKeys(testSecret, failingTouch{f.s}, KeysOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := k.Authenticate(t.Context(), token); err != nil {
			t.Errorf("err = %v, want none", err)
		}
	})
	t.Run("unreachable database is not an invalid token", func(t *testing.T) {
		k, err := NewKeys(testSecret, f.s, KeysOptions{})
		if err != nil {
			t.Fatal(err)
		}
		f.s.Close()
		_, err = k.Authenticate(t.Context(), token)
		if !errors.Is(err, store.ErrUnavailable) || errors.Is(err, ErrInvalidToken) {
			t.Errorf("err = %v, want store.ErrUnavailable and not ErrInvalidToken", err)
		}
	})
}

func TestKeys_Cache(t *testing.T) {
	f := mustKeys(t, KeysOptions{CacheSize: 8})
	for range 50 {
		_, token := f.mustIssue(t, KeySpec{})
		if _, err := f.keys.Authenticate(t.Context(), token); err != nil {
			t.Fatal(err)
		}
	}
	f.keys.mu.Lock()
	defer f.keys.mu.Unlock()
	if n, m := len(f.keys.entries), len(f.keys.touched); n > 8 || m > 8 {
		t.Errorf("cache grew to %d rows and %d touches, limit 8", n, m)
	}
}

// TestKeys_Concurrent authenticates, revokes and advances the clock from many
// goroutines at once; run it with -race.
func TestKeys_Concurrent(t *testing.T) {
	f := mustKeys(t, KeysOptions{CacheTTL: 10 * time.Millisecond, CacheSize: 4})
	ctx := t.Context()
	tokens := make([]string, 6)
	ids := make([]string, len(tokens))
	for i := range tokens {
		var key models.APIKey
		key, tokens[i] = f.mustIssue(t, KeySpec{})
		ids[i] = key.ID
	}
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := range 50 {
				tok := tokens[(g+i)%len(tokens)]
				c, err := f.keys.Authenticate(ctx, tok)
				if err != nil && !errors.Is(err, ErrInvalidToken) {
					t.Errorf("err = %v", err)
					return
				}
				if err == nil && (c.AgentID != f.admin.ID || len(c.Scopes) != len(AllScopes())) {
					t.Errorf("caller = %+v", c)
					return
				}
				if err == nil {
					c.Scopes[0] = "mutated" // must not reach other callers
				}
				if g == 0 && i%10 == 0 {
					f.clk.Advance(time.Second)
					if _, err := f.s.RevokeAPIKey(ctx, ids[i/10]); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
	wg.Wait()
	if _, err := f.keys.Authenticate(ctx, tokens[len(tokens)-1]); err != nil {
		t.Errorf("the key never revoked: %v", err)
	}
}

func BenchmarkKeys_Authenticate(b *testing.B) {
	f := mustKeys(b, KeysOptions{})
	_, token := f.mustIssue(b, KeySpec{})
	ctx := context.Background()
	if _, err := f.keys.Authenticate(ctx, token); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := f.keys.Authenticate(ctx, token); err != nil {
				b.Error(err)
				return
			}
		}
	})
	if n := f.cs.reads.Load(); n != 1 {
		b.Errorf("%d reads of the key, want 1 (the cached path)", n)
	}
}

// TestKeys_Session checks that a session token works only where sessions
// are taken (AuthenticateAny), that Authenticate refuses it as a token of the
// wrong kind, and that it never has more scopes than its agent's role now.
func TestKeys_Session(t *testing.T) {
	f := mustKeys(t, KeysOptions{CacheTTL: time.Nanosecond})
	ctx := t.Context()
	agent := storetest.MustAgent(t, f.s, f.acct.ID, "agent@example.com", models.RoleAgent, "hash")
	exp := f.clk.Now().Add(time.Hour)
	_, session := f.mustIssue(t, KeySpec{AgentID: &agent.ID, Name: "login", Kind: models.KeySession,
		Scopes: RoleScopes(models.RoleAgent), ExpiresAt: &exp})
	_, key := f.mustIssue(t, KeySpec{AgentID: &agent.ID, Name: "ci"})

	t.Run("refused where only API keys are taken", func(t *testing.T) {
		_, err := f.keys.Authenticate(ctx, session)
		if !errors.Is(err, ErrSessionToken) || !errors.Is(err, ErrInvalidToken) || errors.Is(err, ErrExpiredToken) {
			t.Errorf("err = %v, want ErrSessionToken matching ErrInvalidToken", err)
		}
	})
	t.Run("taken where sessions are", func(t *testing.T) {
		c, err := f.keys.AuthenticateAny(ctx, session)
		if err != nil || !c.Session || c.AgentID != agent.ID || !slices.Equal(c.Scopes, RoleScopes(models.RoleAgent)) {
			t.Errorf("caller = %+v, %v; want agent's session with its role's scopes", c, err)
		}
	})
	t.Run("an API key is taken by both", func(t *testing.T) {
		// Every scope but admin, which an agent's role has not got.
		want := []Scope{ScopeRead, ScopeChat, ScopeEmail, ScopeSMS, ScopeUpload}
		for name, authn := range map[string]func(context.Context, string) (Caller, error){
			"Authenticate": f.keys.Authenticate, "AuthenticateAny": f.keys.AuthenticateAny} {
			c, err := authn(ctx, key)
			if err != nil || c.Session || !slices.Equal(c.Scopes, want) {
				t.Errorf("%s: caller = %+v, %v; want the key with every scope but admin", name, c, err)
			}
		}
	})
	t.Run("an admin's API key manages webhooks", func(t *testing.T) {
		_, boss := f.mustIssue(t, KeySpec{AgentID: &f.admin.ID, Name: "ops"})
		c, err := f.keys.Authenticate(ctx, boss)
		if err != nil || c.Require(ScopeAdmin) != nil {
			t.Errorf("caller = %+v, %v; want the admin scope", c, err)
		}
	})
	t.Run("a role taken away takes its scopes", func(t *testing.T) {
		role := models.RoleAdmin
		if _, err := f.s.UpdateAgent(ctx, f.acct.ID, agent.ID, store.AgentUpdate{Role: &role}); err != nil {
			t.Fatal(err)
		}
		// Promoted: still the agent's scopes, which the session was issued with.
		c, err := f.keys.AuthenticateAny(ctx, session)
		if err != nil || !slices.Equal(c.Scopes, RoleScopes(models.RoleAgent)) {
			t.Errorf("promoted: caller = %+v, %v; want no more than issued", c, err)
		}
		boss := models.RoleSuperadmin
		_, admin := f.mustIssue(t, KeySpec{AgentID: &f.admin.ID, Kind: models.KeySession,
			Scopes: RoleScopes(models.RoleSuperadmin), ExpiresAt: &exp})
		role = models.RoleAgent
		if _, err := f.s.UpdateAgent(ctx, f.acct.ID, f.admin.ID, store.AgentUpdate{Role: &role}); err != nil {
			t.Fatal(err)
		}
		defer f.s.UpdateAgent(ctx, f.acct.ID, f.admin.ID, store.AgentUpdate{Role: &boss})
		c, err = f.keys.AuthenticateAny(ctx, admin)
		if err != nil || !slices.Equal(c.Scopes, RoleScopes(models.RoleAgent)) || c.Require(ScopeUpload) == nil {
			t.Errorf("demoted: caller = %+v, %v; want the agent role's scopes", c, err)
		}
	})
	t.Run("a session needs scopes", func(t *testing.T) {
		_, _, err := f.keys.Issue(ctx, f.acct.ID, KeySpec{AgentID: &agent.ID, Kind: models.KeySession, ExpiresAt: &exp})
		var fe store.FieldErrors
		if !errors.As(err, &fe) {
			t.Errorf("err = %v, want a field error: empty scopes would mean every scope", err)
		}
	})
}

// TestRoleScopes checks every cell of the role and scope table.
func TestRoleScopes(t *testing.T) {
	want := map[models.Role]map[Scope]bool{
		models.RoleSuperadmin: {ScopeRead: true, ScopeChat: true, ScopeEmail: true, ScopeSMS: true, ScopeUpload: true, ScopeAdmin: true},
		models.RoleAdmin:      {ScopeRead: true, ScopeChat: true, ScopeEmail: true, ScopeSMS: true, ScopeUpload: true, ScopeAdmin: true},
		models.RoleAgent:      {ScopeRead: true, ScopeChat: true, ScopeEmail: true, ScopeSMS: true, ScopeUpload: false, ScopeAdmin: false},
		models.Role("owner"):  {},
	}
	for role, cells := range want {
		for _, scope := range AllScopes() {
			t.Run(string(role)+"/"+string(scope), func(t *testing.T) {
				c := Caller{Role: role, Scopes: RoleScopes(role)}
				if got := c.Require(scope) == nil; got != cells[scope] {
					t.Errorf("%s may %s: %v, want %v", role, scope, got, cells[scope])
				}
			})
		}
	}
}
