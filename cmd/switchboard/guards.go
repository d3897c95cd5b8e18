package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"runtime"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"switchboard/auth"
	"switchboard/handlers/guard"
	"switchboard/metrics"
	"switchboard/ratelimit"
	"switchboard/store"
)

// guardConfig is the configuration of the rate limits and idempotency keys.
type guardConfig struct {
	redisURL       string
	redisPrefix    string
	ipRateLimit    int
	trustedProxies string
	// The failed-login throttle and the bound on password checks.
	loginFailuresPerIP       int
	loginFailuresIPWindow    time.Duration
	loginFailuresPerLogin    int
	loginFailuresLoginWindow time.Duration
	passwordChecks           int
	passwordCheckWait        time.Duration
	// metrics says where /metrics is served (--metrics-addr); it is here,
	// beside the registry the guards build, so that serve has one place
	// for both.
	metrics metricsConfig
}

// addGuards defines the rate limit flags on fs.
func (c *guardConfig) addGuards(fs *flag.FlagSet) {
	fs.StringVar(&c.redisURL, "redis-url", "", "Redis that keeps the rate limit counters, shared by every replica on it, as redis://HOST:6379/0; empty: counters in this process (env SWITCHBOARD_REDIS_URL)")
	fs.StringVar(&c.redisPrefix, "redis-prefix", "switchboard", "prefix of the rate limit keys in Redis (env SWITCHBOARD_REDIS_PREFIX)")
	fs.IntVar(&c.ipRateLimit, "ip-rate-limit", 1200, "requests a minute one client address may make on the dialect routes, before authentication; 0: no limit (env SWITCHBOARD_IP_RATE_LIMIT)")
	fs.StringVar(&c.trustedProxies, "trusted-proxies", "", "comma-separated addresses or CIDR networks of proxies whose X-Forwarded-For names the client; empty: the peer is the client (env SWITCHBOARD_TRUSTED_PROXIES)")
	fs.IntVar(&c.loginFailuresPerIP, "login-failures-per-ip", auth.DefaultFailuresPerAddress, "failed password logins (REVE Basic, CallGear login.user) one client address may make per --login-failures-ip-window; more are refused with 429 before any password check; 0: no limit (env SWITCHBOARD_LOGIN_FAILURES_PER_IP)")
	fs.DurationVar(&c.loginFailuresIPWindow, "login-failures-ip-window", auth.DefaultAddressWindow, "the window of --login-failures-per-ip (env SWITCHBOARD_LOGIN_FAILURES_IP_WINDOW)")
	fs.IntVar(&c.loginFailuresPerLogin, "login-failures-per-login", auth.DefaultFailuresPerLogin, "failed password logins one login name may have, from any address, per --login-failures-login-window; 0: no limit (env SWITCHBOARD_LOGIN_FAILURES_PER_LOGIN)")
	fs.DurationVar(&c.loginFailuresLoginWindow, "login-failures-login-window", auth.DefaultLoginWindow, "the window of --login-failures-per-login (env SWITCHBOARD_LOGIN_FAILURES_LOGIN_WINDOW)")
	fs.IntVar(&c.passwordChecks, "password-checks", 0, "password checks (bcrypt, a quarter of a second of one core each, at the lowest CPU priority) that may run at once; 0: one per CPU (GOMAXPROCS) (env SWITCHBOARD_PASSWORD_CHECKS)")
	fs.DurationVar(&c.passwordCheckWait, "password-check-wait", auth.DefaultMaxWait, "how long a login waits for a free password check before it is refused with 503 (REVE) or -32029 (CallGear) (env SWITCHBOARD_PASSWORD_CHECK_WAIT)")
	c.metrics.addMetrics(fs)
}

// validate returns every problem with the guard settings, never showing a
// Redis password.
func (c *guardConfig) validate() []error {
	var errs []error
	if c.redisURL != "" {
		if err := ratelimit.CheckRedisURL(c.redisURL); err != nil {
			errs = append(errs, errors.New("--redis-url: want redis://[USER:PASSWORD@]HOST:PORT[/DB] or rediss:// for TLS"))
		}
	}
	if c.ipRateLimit < 0 {
		errs = append(errs, fmt.Errorf("--ip-rate-limit %d: want 0 (no limit) or more", c.ipRateLimit))
	}
	if _, err := c.proxies(); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, c.metrics.validate()...)
	for _, n := range []struct {
		name string
		v    int
	}{{"--login-failures-per-ip", c.loginFailuresPerIP}, {"--login-failures-per-login", c.loginFailuresPerLogin},
		{"--password-checks", c.passwordChecks}} {
		if n.v < 0 {
			errs = append(errs, fmt.Errorf("%s %d: want 0 or more", n.name, n.v))
		}
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"--login-failures-ip-window", c.loginFailuresIPWindow}, {"--login-failures-login-window", c.loginFailuresLoginWindow},
		{"--password-check-wait", c.passwordCheckWait}} {
		if d.v <= 0 {
			errs = append(errs, fmt.Errorf("%s %s: want a positive duration such as 5m or 500ms", d.name, d.v))
		}
	}
	return errs
}

// proxies returns the trusted proxy networks; a bare address is a network
// of one.
func (c *guardConfig) proxies() ([]*net.IPNet, error) {
	var out []*net.IPNet
	for _, s := range strings.Split(c.trustedProxies, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if !strings.Contains(s, "/") {
			ip := net.ParseIP(s)
			if ip == nil {
				return nil, fmt.Errorf("--trusted-proxies: %q is neither an address nor a CIDR network", s)
			}
			bits := 128
			if ip.To4() != nil {
				ip, bits = ip.To4(), 32
			}
			out = append(out, &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)})
			continue
		}
		_, n, err := net.ParseCIDR(s)
		if err != nil {
			return nil, fmt.Errorf("--trusted-proxies: %q is neither an address nor a CIDR network", s)
		}
		out = append(out, n)
	}
	return out, nil
}

// guards are the request guards serve wires into the router.
type guards struct {
	limits  *guard.Limits
	idem    *guard.Idempotency
	counter *ratelimit.Counter
	metrics *prometheus.Registry
	// instruments are the server's own metrics on the registry: requests,
	// deliveries and password compares.
	instruments *metrics.Metrics
	// throttle counts failed logins in counter.
	throttle *auth.Throttle
}

// build returns the guards, counting in Redis when it is configured. A Redis
// that does not answer at start is logged, not fatal: the limits fail open
// until it does.
func (c *guardConfig) build(ctx context.Context, st *store.Store, log *slog.Logger) (guards, error) {
	counter := ratelimit.NewMemory()
	if c.redisURL != "" {
		var err error
		if counter, err = ratelimit.NewRedis(c.redisURL, c.redisPrefix, log); err != nil {
			return guards{}, errors.New("--redis-url: want redis://[USER:PASSWORD@]HOST:PORT[/DB] or rediss:// for TLS")
		}
		pingCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		if err := counter.Ping(pingCtx); err != nil {
			log.Warn("rate limit redis does not answer; requests pass unlimited until it does", "err", err)
		}
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := guard.NewMetrics(reg)
	instruments, err := registerMetrics(reg, st, log)
	if err != nil {
		return guards{}, err
	}
	return guards{
		instruments: instruments,
		limits:      guard.NewLimits(counter, st, guard.LimitsConfig{PerIP: c.ipRateLimit}, m, log),
		idem:        guard.NewIdempotency(st, guard.IdempotencyConfig{}, m, log),
		counter:     counter,
		metrics:     reg,
		throttle: auth.NewThrottle(counter, auth.ThrottleConfig{
			PerAddress: c.loginFailuresPerIP, AddressWindow: c.loginFailuresIPWindow,
			PerLogin: c.loginFailuresPerLogin, LoginWindow: c.loginFailuresLoginWindow}, log),
	}, nil
}

// basic returns the Basic password checker of REVE and CallGear's
// login.user, throttled by g's counters and bounded as configured.
//
// It gives the Go scheduler one more P (GOMAXPROCS) per password check:
// a check holds its P for the quarter second bcrypt runs, on a thread the
// kernel runs only when nothing else wants the CPU, and without more Ps
// requests would have fewer than one per CPU while a flood keeps the checks
// busy.
func (c *guardConfig) basic(st *store.Store, hasher auth.Hasher, g guards, log *slog.Logger) (*auth.Basic, error) {
	checks := c.passwordChecks
	if checks == 0 {
		checks = auth.DefaultMaxChecks()
	}
	procs := runtime.GOMAXPROCS(0)
	runtime.GOMAXPROCS(procs + checks)
	log.Info("password checks", "at_once", checks, "gomaxprocs", procs+checks)
	hasher.Compared = g.instruments.Compared
	return auth.NewBasic(st, auth.BasicOptions{Hasher: hasher, Log: log, Throttle: g.throttle,
		MaxChecks: checks, MaxWait: c.passwordCheckWait})
}

// purgeEvery is how often serve deletes expired idempotency keys and
// login.user sessions.
const purgeEvery = 10 * time.Minute

// sessionKeep is how long an expired login.user session key stays listed
// before it is deleted.
const sessionKeep = 24 * time.Hour

// purge deletes expired idempotency keys and login.user session keys now and
// then every purgeEvery, until ctx ends. Every replica runs it; the deletes
// are idempotent.
func purge(ctx context.Context, st *store.Store, log *slog.Logger) {
	t := time.NewTicker(purgeEvery)
	defer t.Stop()
	for {
		n, err := st.PurgeExpired(ctx, time.Now().Add(-sessionKeep))
		switch {
		case err != nil && ctx.Err() == nil:
			log.Warn("purge expired keys", "err", err)
		case n.IdempotencyKeys > 0 || n.APIKeys > 0:
			log.Info("purged expired keys", "idempotency_keys", n.IdempotencyKeys, "session_keys", n.APIKeys)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
