// Package guard holds the request guards every dialect shares: per-key and
// per-address rate limits with their RateLimit headers, and Idempotency-Key
// replays. Each guard returns typed errors (*LimitError, *KeyError,
// store.ErrIdempotencyInFlight, store.ErrIdempotencyMismatch) that each
// dialect's error table renders in its vendor's format.
package guard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"switchboard/auth"
	"switchboard/models"
	"switchboard/ratelimit"
)

// The names of the limits, as RateLimit-Policy and the error messages give
// them.
const (
	PolicyMinute = "minute"
	PolicyDay    = "day"
	PolicyIP     = "ip"
)

// Counter counts requests per key in fixed windows; *ratelimit.Counter is
// the real one.
type Counter interface {
	Take(ctx context.Context, key string, r ratelimit.Rule) (ratelimit.Count, error)
	Peek(ctx context.Context, key string, r ratelimit.Rule) (ratelimit.Count, error)
	Add(ctx context.Context, key string, r ratelimit.Rule, n int64) (ratelimit.Count, error)
}

// Accounts gives an account's request limits; *store.Store is the real one.
type Accounts interface {
	Account(ctx context.Context, id int64) (models.Account, error)
}

// LimitError means a request is over a limit. The guard that returns it has
// set Retry-After already.
type LimitError struct {
	// Policy is PolicyMinute, PolicyDay or PolicyIP.
	Policy string
	Limit  int64
	Window time.Duration
	// RetryAfter is how long until the window closes.
	RetryAfter time.Duration
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("rate limit exceeded: %d requests per %s; retry in %d seconds", e.Limit, e.Per(), e.RetrySeconds())
}

// Per returns the window as a word: "minute" or "day".
func (e *LimitError) Per() string {
	if e.Window >= 24*time.Hour {
		return "day"
	}
	return "minute"
}

// RetrySeconds returns RetryAfter in whole seconds, rounded up and at least 1.
func (e *LimitError) RetrySeconds() int {
	return max(int((e.RetryAfter+time.Second-1)/time.Second), 1)
}

// LimitsConfig tunes NewLimits.
type LimitsConfig struct {
	// PerIP is how many requests a minute one client address may make,
	// counted before authentication; 0 turns the per-address limit off.
	PerIP int
	// AccountTTL is how long an account's limits are cached (default 5 s): a
	// changed limit holds on every replica within it.
	AccountTTL time.Duration
}

// Limits enforces the rate limits. A nil *Limits enforces none.
type Limits struct {
	counter  Counter
	accounts Accounts
	perIP    int64
	ttl      time.Duration
	metrics  *Metrics
	log      *slog.Logger
	now      func() time.Time

	mu    sync.Mutex
	cache map[int64]cachedLimits
}

type cachedLimits struct {
	minute, day int64
	expires     time.Time
}

// maxCachedAccounts bounds the account cache; past it the cache starts over.
const maxCachedAccounts = 10_000

// NewLimits returns the rate limits, counted by counter, with each account's
// limits read from accounts. m and log may be nil.
func NewLimits(counter Counter, accounts Accounts, cfg LimitsConfig, m *Metrics, log *slog.Logger) *Limits {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ttl := cfg.AccountTTL
	if ttl <= 0 {
		ttl = 5 * time.Second
	}
	return &Limits{counter: counter, accounts: accounts, perIP: int64(max(cfg.PerIP, 0)), ttl: ttl,
		metrics: m, log: log, now: time.Now, cache: map[int64]cachedLimits{}}
}

// ByIP is the middleware that counts every request against its client
// address (echo's RealIP, so only as far as e.IPExtractor trusts proxies)
// and refuses one over the limit with a *LimitError.
func (l *Limits) ByIP() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		if l == nil || l.perIP == 0 {
			return next
		}
		return func(c echo.Context) error {
			r := ratelimit.Rule{Name: PolicyIP, Limit: l.perIP, Period: time.Minute}
			if err := l.take(c, "ip:"+c.RealIP(), r); err != nil {
				return err
			}
			return next(c)
		}
	}
}

// ByCaller is the middleware that counts every request against its caller
// (the API key, or the agent of a password login) under the account's
// minute and day limits, and refuses one over either with a *LimitError. It
// runs after authentication; without a caller it returns an error.
func (l *Limits) ByCaller() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		if l == nil {
			return next
		}
		return func(c echo.Context) error {
			cl, ok := auth.CallerFrom(c.Request().Context())
			if !ok {
				return errors.New("guard: rate limit by caller without a caller")
			}
			minute, day, err := l.rules(c.Request().Context(), cl.AccountID)
			if err != nil {
				return err
			}
			key := callerKey(cl)
			if err := l.take(c, key, minute); err != nil {
				// The day window is not charged for a refused request, but the
				// client still hears where it stands.
				if cnt, perr := l.counter.Peek(c.Request().Context(), key, day); perr == nil {
					record(c, cnt)
				}
				return err
			}
			if err := l.take(c, key, day); err != nil {
				return err
			}
			return next(c)
		}
	}
}

// Usage is a caller's minute and day windows after a charged request.
type Usage struct {
	Minute, Day ratelimit.Count
}

// Check refuses, with a *LimitError, a caller whose minute or day window is
// spent, without counting the request: for dialects that charge only what
// succeeds (CallGear), which call Charge after. A nil *Limits checks nothing.
func (l *Limits) Check(c echo.Context, cl auth.Caller) error {
	if l == nil {
		return nil
	}
	minute, day, err := l.rules(c.Request().Context(), cl.AccountID)
	if err != nil {
		return err
	}
	key := callerKey(cl)
	for _, r := range []ratelimit.Rule{minute, day} {
		cnt, err := l.counter.Peek(c.Request().Context(), key, r)
		if err := l.judge(c, r, cnt, err); err != nil {
			return err
		}
	}
	return nil
}

// Charge counts one successful request of the caller and returns its
// windows after it; ok is false when they are not known (no limits, or the
// counter unavailable).
func (l *Limits) Charge(c echo.Context, cl auth.Caller) (u Usage, ok bool) {
	if l == nil {
		return Usage{}, false
	}
	minute, day, err := l.rules(c.Request().Context(), cl.AccountID)
	if err != nil {
		return Usage{}, false
	}
	key := callerKey(cl)
	ok = true
	for _, p := range []struct {
		r   ratelimit.Rule
		out *ratelimit.Count
	}{{minute, &u.Minute}, {day, &u.Day}} {
		cnt, err := l.counter.Add(c.Request().Context(), key, p.r, 1)
		if err != nil {
			l.unavailable(c, p.r, err)
			ok = false
			continue
		}
		*p.out = cnt
		record(c, cnt)
	}
	return u, ok
}

// callerKey is what a caller's requests are counted under: its API key, or
// for a password login its agent.
func callerKey(cl auth.Caller) string {
	if cl.KeyID != "" {
		return "key:" + cl.KeyID
	}
	return "agent:" + strconv.FormatInt(cl.AgentID, 10)
}

// take counts the request under r for key and judges the window.
func (l *Limits) take(c echo.Context, key string, r ratelimit.Rule) error {
	cnt, err := l.counter.Take(c.Request().Context(), key, r)
	return l.judge(c, r, cnt, err)
}

// judge records a window read under r for the headers and returns a
// *LimitError when it is over. A counter that could not be reached (err)
// lets the request through.
func (l *Limits) judge(c echo.Context, r ratelimit.Rule, cnt ratelimit.Count, err error) error {
	if err != nil {
		l.unavailable(c, r, err)
		return nil
	}
	record(c, cnt)
	if cnt.Exceeded {
		l.metrics.limited(r.Name)
		return limited(c, cnt)
	}
	return nil
}

// unavailable lets a request through unlimited when the counter fails: a
// rate limit must not take the service down with Redis. The counter logs
// the outage itself; this counts the requests that passed unchecked.
func (l *Limits) unavailable(c echo.Context, r ratelimit.Rule, err error) {
	l.metrics.failedOpen(r.Name)
	// The policy still holds; only the window's state is unknown.
	record(c, ratelimit.Count{Rule: r, Remaining: unknownRemaining})
	if !errors.Is(err, ratelimit.ErrUnavailable) {
		l.log.WarnContext(c.Request().Context(), "rate limit check failed; request passes", "policy", r.Name, "err", err)
	}
}

// limited sets Retry-After and returns the *LimitError for a spent window.
func limited(c echo.Context, cnt ratelimit.Count) error {
	e := &LimitError{Policy: cnt.Rule.Name, Limit: cnt.Rule.Limit, Window: cnt.Rule.Period, RetryAfter: cnt.Reset}
	c.Response().Header().Set("Retry-After", strconv.Itoa(e.RetrySeconds()))
	return e
}

// rules returns the account's minute and day rules, from the cache when it
// read them less than the TTL ago. It returns the store's errors.
func (l *Limits) rules(ctx context.Context, accountID int64) (minute, day ratelimit.Rule, err error) {
	now := l.now()
	l.mu.Lock()
	cl, ok := l.cache[accountID]
	l.mu.Unlock()
	if !ok || now.After(cl.expires) {
		acct, err := l.accounts.Account(ctx, accountID)
		if err != nil {
			return ratelimit.Rule{}, ratelimit.Rule{}, fmt.Errorf("request limits of account %d: %w", accountID, err)
		}
		cl = cachedLimits{minute: int64(acct.RateLimit), day: int64(acct.DailyRateLimit), expires: now.Add(l.ttl)}
		l.mu.Lock()
		if len(l.cache) >= maxCachedAccounts {
			clear(l.cache)
		}
		l.cache[accountID] = cl
		l.mu.Unlock()
	}
	return ratelimit.Rule{Name: PolicyMinute, Limit: cl.minute, Period: time.Minute},
		ratelimit.Rule{Name: PolicyDay, Limit: cl.day, Period: 24 * time.Hour}, nil
}

// countsKey is where a request's windows are kept in its echo.Context.
const countsKey = "guard.ratelimit"

// record keeps the window in the request's context and writes the
// RateLimit-Policy and RateLimit headers (draft-ietf-httpapi-ratelimit-headers)
// for every window the request was counted in.
func record(c echo.Context, cnt ratelimit.Count) {
	counts, _ := c.Get(countsKey).([]ratelimit.Count)
	replaced := false
	for i := range counts {
		if counts[i].Rule.Name == cnt.Rule.Name {
			counts[i], replaced = cnt, true
		}
	}
	if !replaced {
		counts = append(counts, cnt)
	}
	c.Set(countsKey, counts)
	policy := make([]string, 0, len(counts))
	state := make([]string, 0, len(counts))
	for _, n := range counts {
		policy = append(policy, fmt.Sprintf("%q;q=%d;w=%d", n.Rule.Name, n.Rule.Limit, int64(n.Rule.Period/time.Second)))
		if n.Remaining != unknownRemaining {
			state = append(state, fmt.Sprintf("%q;r=%d;t=%d", n.Rule.Name, n.Remaining, int64(n.Reset/time.Second)))
		}
	}
	h := c.Response().Header()
	h.Set("RateLimit-Policy", strings.Join(policy, ", "))
	if len(state) > 0 {
		h.Set("RateLimit", strings.Join(state, ", "))
	} else {
		h.Del("RateLimit")
	}
}

// unknownRemaining marks a window whose counter could not be read: its
// policy is advertised, its state is not.
const unknownRemaining = -1
