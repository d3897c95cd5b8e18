package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"switchboard/models"
	"switchboard/ratelimit"
)

// The failed-login windows, as ThrottledError.By names them.
const (
	ThrottleAddress = "address"
	ThrottleLogin   = "login"
)

// The throttle's defaults, Chatwoot's: 5 failed logins per 5 minutes from
// one client address, 10 per 15 minutes for one login name.
const (
	DefaultFailuresPerAddress = 5
	DefaultAddressWindow      = 5 * time.Minute
	DefaultFailuresPerLogin   = 10
	DefaultLoginWindow        = 15 * time.Minute
)

// FailureCounter counts failed logins per key in fixed windows;
// *ratelimit.Counter is the real one, in this process or in Redis.
type FailureCounter interface {
	Peek(ctx context.Context, key string, r ratelimit.Rule) (ratelimit.Count, error)
	Add(ctx context.Context, key string, r ratelimit.Rule, n int64) (ratelimit.Count, error)
}

// ThrottleConfig tunes NewThrottle. A limit of 0 turns its window off; a
// window of 0 is the default one.
type ThrottleConfig struct {
	// PerAddress is how many failed logins one client address may make in
	// AddressWindow before its password checks are refused.
	PerAddress    int
	AddressWindow time.Duration
	// PerLogin is how many failed logins one login name (an email, known or
	// not, in any case) may have in LoginWindow, from any address.
	PerLogin    int
	LoginWindow time.Duration
}

// DefaultThrottleConfig returns Chatwoot's limits.
func DefaultThrottleConfig() ThrottleConfig {
	return ThrottleConfig{PerAddress: DefaultFailuresPerAddress, AddressWindow: DefaultAddressWindow,
		PerLogin: DefaultFailuresPerLogin, LoginWindow: DefaultLoginWindow}
}

// ThrottledError means a login was refused before its password was checked:
// its client address or its login name has failed too often lately.
type ThrottledError struct {
	// By is ThrottleAddress or ThrottleLogin.
	By     string
	Limit  int64
	Window time.Duration
	// RetryAfter is how long until the window frees.
	RetryAfter time.Duration
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("too many failed logins for this %s: %d per %s; retry in %s", e.By, e.Limit, e.Per(),
		durationWords(time.Duration(e.RetrySeconds())*time.Second))
}

// Per returns the window in words: "5 minutes", "1 hour".
func (e *ThrottledError) Per() string { return durationWords(e.Window) }

// RetrySeconds returns RetryAfter in whole seconds, rounded up and at least 1.
func (e *ThrottledError) RetrySeconds() int {
	return max(int((e.RetryAfter+time.Second-1)/time.Second), 1)
}

// durationWords returns d as "90 seconds", "1 minute", "15 minutes" or "2 hours".
func durationWords(d time.Duration) string {
	n, unit := int64(d/time.Second), "second"
	switch {
	case d >= time.Hour && d%time.Hour == 0:
		n, unit = int64(d/time.Hour), "hour"
	case d >= time.Minute && d%time.Minute == 0:
		n, unit = int64(d/time.Minute), "minute"
	}
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

// Throttle counts failed logins per client address and per login name and
// refuses the password checks of either once it has failed too often in its
// window. A nil *Throttle throttles nothing.
//
// Its counters are a FailureCounter's, so that every replica on one Redis
// counts together. When the counter cannot be reached, logins pass
// unthrottled (the bound on concurrent password checks still holds): a
// throttle must not take logins down with Redis.
type Throttle struct {
	counter FailureCounter
	byAddr  ratelimit.Rule
	byLogin ratelimit.Rule
	log     *slog.Logger
}

// NewThrottle returns a throttle counting in counter; log may be nil.
func NewThrottle(counter FailureCounter, cfg ThrottleConfig, log *slog.Logger) *Throttle {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.AddressWindow <= 0 {
		cfg.AddressWindow = DefaultAddressWindow
	}
	if cfg.LoginWindow <= 0 {
		cfg.LoginWindow = DefaultLoginWindow
	}
	return &Throttle{counter: counter, log: log,
		byAddr:  ratelimit.Rule{Name: ThrottleAddress, Limit: int64(max(cfg.PerAddress, 0)), Period: cfg.AddressWindow},
		byLogin: ratelimit.Rule{Name: ThrottleLogin, Limit: int64(max(cfg.PerLogin, 0)), Period: cfg.LoginWindow}}
}

// window is one counter a login attempt is judged and counted in.
type window struct {
	key  string
	rule ratelimit.Rule
}

// windows returns the counters of a login attempt by login from addr: the
// windows that are on.
func (t *Throttle) windows(login, addr string) []window {
	var out []window
	if t.byAddr.Limit > 0 {
		out = append(out, window{"login-failures:address:" + addressKey(addr), t.byAddr})
	}
	if t.byLogin.Limit > 0 {
		out = append(out, window{"login-failures:login:" + loginKey(login), t.byLogin})
	}
	return out
}

// Check returns a *ThrottledError when the client address addr or the login
// name has no failures left in its window (the one that frees last when
// both are spent), and nil otherwise. It counts nothing.
func (t *Throttle) Check(ctx context.Context, login, addr string) error {
	if t == nil {
		return nil
	}
	var worst *ThrottledError
	for _, w := range t.windows(login, addr) {
		cnt, err := t.counter.Peek(ctx, w.key, w.rule)
		if err != nil {
			t.unavailable(ctx, err)
			continue
		}
		if cnt.Exceeded && (worst == nil || cnt.Reset > worst.RetryAfter) {
			worst = &ThrottledError{By: w.rule.Name, Limit: w.rule.Limit, Window: w.rule.Period, RetryAfter: cnt.Reset}
		}
	}
	if worst == nil {
		return nil
	}
	return worst
}

// Fail counts one failed login of login from addr in both windows.
func (t *Throttle) Fail(ctx context.Context, login, addr string) {
	if t == nil {
		return
	}
	for _, w := range t.windows(login, addr) {
		if _, err := t.counter.Add(ctx, w.key, w.rule, 1); err != nil {
			t.unavailable(ctx, err)
		}
	}
}

// unavailable logs a counter error other than the outage the counter logs
// itself.
func (t *Throttle) unavailable(ctx context.Context, err error) {
	if !errors.Is(err, ratelimit.ErrUnavailable) {
		t.log.WarnContext(ctx, "failed-login throttle check failed; login passes", "err", err)
	}
}

// addressKey is what a client address's failures are counted under: an IPv4
// address as it is, an IPv6 address by its /64 (one host's usual share, in
// which it may pick any address), anything else as given.
func addressKey(addr string) string {
	ip := net.ParseIP(addr)
	switch {
	case ip == nil:
		return addr
	case ip.To4() != nil:
		return ip.To4().String()
	}
	return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
}

// loginKey is what a login name's failures are counted under: a digest of
// it as agents are looked up (trimmed, in lower case), so that a key has a
// fixed length whatever a client sends, and Redis holds no emails.
func loginKey(login string) string {
	sum := sha256.Sum256([]byte(models.NormalizeEmail(login)))
	return hex.EncodeToString(sum[:16])
}
