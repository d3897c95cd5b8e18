// Package ratelimit counts requests in fixed windows, in this process or in
// Redis so that every replica on one Redis counts against the same limit.
//
// A window opens at the first request for a key and lasts the rule's period:
// the first Limit requests in it pass, the rest are over the limit until it
// closes. The counting itself is github.com/ulule/limiter's (its memory and
// Redis stores); this package adds one type for both, and for Redis the
// behaviour of a server that must keep answering while Redis is away.
package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/ulule/limiter/v3"
	"github.com/ulule/limiter/v3/drivers/store/memory"
	redisstore "github.com/ulule/limiter/v3/drivers/store/redis"
)

// ErrUnavailable wraps every error of a counter whose backend (Redis) cannot
// be reached; the caller decides whether to let the request through.
var ErrUnavailable = errors.New("rate limit backend unavailable")

// Rule is one limit: at most Limit requests per Period for each key.
type Rule struct {
	// Name tells the rule apart in headers and messages ("minute", "day").
	Name   string
	Limit  int64
	Period time.Duration
}

// Count is the state of a key's window under a rule after a request.
type Count struct {
	Rule Rule
	// Remaining is the requests still allowed in the window (0 when over).
	Remaining int64
	// Reset is how long until the window closes (at least one second).
	Reset time.Duration
	// Exceeded is true when the request counted was over the limit.
	Exceeded bool
}

// Counter counts requests per key. Its zero value is not usable: build one
// with NewMemory or NewRedis.
type Counter struct {
	backend string
	now     func() time.Time
	// store is the limiter store in use; for Redis it is built on first use
	// (loading its scripts needs Redis up) and rebuilt after Redis restarts.
	mu        sync.Mutex
	store     limiter.Store
	build     func(context.Context) (limiter.Store, error)
	downUntil time.Time
	building  bool
	client    *redis.Client
	log       *slog.Logger
}

// retryDown is how long a Counter whose Redis failed answers ErrUnavailable
// at once before trying Redis again: while Redis is away, requests must not
// each wait out a connection timeout.
const retryDown = time.Second

// NewMemory returns a Counter that keeps its windows in this process.
func NewMemory() *Counter {
	st := memory.NewStoreWithOptions(limiter.StoreOptions{Prefix: "switchboard", CleanUpInterval: time.Minute})
	return &Counter{backend: "memory", store: st, now: time.Now}
}

// NewRedis returns a Counter that keeps its windows in the Redis server at
// rawURL (redis://[user:password@]host:port[/db], or rediss:// for TLS),
// under keys that start with prefix. It does not connect: a Redis that is
// down at start is the same as one that goes away later. It returns an
// error only for a URL it cannot read.
//
// Unless the URL sets them (dial_timeout, read_timeout, write_timeout,
// pool_timeout, max_retries), the client waits 250 ms at most and does not
// retry, and it dials once: a rate limit check must not hold a request up.
func NewRedis(rawURL, prefix string, log *slog.Logger) (*Counter, error) {
	opts, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("redis URL: %w", err)
	}
	u, _ := url.Parse(rawURL)
	q := u.Query()
	for name, d := range map[string]*time.Duration{
		"dial_timeout": &opts.DialTimeout, "read_timeout": &opts.ReadTimeout,
		"write_timeout": &opts.WriteTimeout, "pool_timeout": &opts.PoolTimeout,
	} {
		if !q.Has(name) {
			*d = 250 * time.Millisecond
		}
	}
	if !q.Has("max_retries") {
		opts.MaxRetries = -1
	}
	// go-redis dials up to five times by default; one refused dial is answer
	// enough.
	opts.DialerRetries = 1
	if prefix == "" {
		prefix = "switchboard"
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	client := redis.NewClient(opts)
	c := &Counter{backend: "redis", now: time.Now, client: client, log: log}
	// The store loads its scripts with a background context; the client's
	// timeouts bound it.
	c.build = func(context.Context) (limiter.Store, error) {
		return redisstore.NewStoreWithOptions(client, limiter.StoreOptions{Prefix: prefix})
	}
	return c, nil
}

// CheckRedisURL returns an error for a Redis URL NewRedis cannot read.
func CheckRedisURL(rawURL string) error {
	_, err := redis.ParseURL(rawURL)
	return err
}

// Backend returns "memory" or "redis".
func (c *Counter) Backend() string { return c.backend }

// Close releases the Redis connections; a memory Counter has none.
func (c *Counter) Close() error {
	if c.client != nil {
		return c.client.Close()
	}
	return nil
}

// Ping checks that the backend answers; it returns an error wrapping
// ErrUnavailable when Redis does not.
func (c *Counter) Ping(ctx context.Context) error {
	if c.client == nil {
		return nil
	}
	if err := c.client.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return nil
}

// Take counts one request for key under r and returns the window's state;
// an over-the-limit request is counted too, and its Count says Exceeded.
// It returns an error wrapping ErrUnavailable when Redis cannot be reached.
func (c *Counter) Take(ctx context.Context, key string, r Rule) (Count, error) {
	return c.do(ctx, key, r, func(st limiter.Store, k string, rate limiter.Rate) (limiter.Context, error) {
		return st.Get(ctx, k, rate)
	})
}

// Add counts n requests for key under r and returns the window's state;
// Exceeded says whether the window is now over the limit. It returns an
// error wrapping ErrUnavailable when Redis cannot be reached.
func (c *Counter) Add(ctx context.Context, key string, r Rule, n int64) (Count, error) {
	return c.do(ctx, key, r, func(st limiter.Store, k string, rate limiter.Rate) (limiter.Context, error) {
		return st.Increment(ctx, k, n, rate)
	})
}

// Peek returns the window's state for key under r without counting; its
// Exceeded says whether one more request would be over the limit. It returns
// an error wrapping ErrUnavailable when Redis cannot be reached.
func (c *Counter) Peek(ctx context.Context, key string, r Rule) (Count, error) {
	cnt, err := c.do(ctx, key, r, func(st limiter.Store, k string, rate limiter.Rate) (limiter.Context, error) {
		return st.Peek(ctx, k, rate)
	})
	if err != nil {
		return Count{}, err
	}
	cnt.Exceeded = cnt.Remaining == 0
	return cnt, nil
}

// windowKey keeps rules of different periods for one key apart.
func windowKey(key string, r Rule) string {
	return key + ":" + r.Name
}

func (c *Counter) do(ctx context.Context, key string, r Rule, op func(limiter.Store, string, limiter.Rate) (limiter.Context, error)) (Count, error) {
	if r.Limit <= 0 || r.Period <= 0 {
		return Count{}, fmt.Errorf("rate limit rule %q: limit and period must be positive", r.Name)
	}
	st, err := c.current(ctx)
	if err != nil {
		return Count{}, err
	}
	lc, err := op(st, windowKey(key, r), limiter.Rate{Limit: r.Limit, Period: r.Period})
	if err != nil {
		if ctx.Err() == nil {
			c.markDown(err)
		}
		return Count{}, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	reset := time.Unix(lc.Reset, 0).Sub(c.now())
	if reset < time.Second {
		reset = time.Second
	}
	return Count{Rule: r, Remaining: lc.Remaining, Reset: reset.Truncate(time.Second), Exceeded: lc.Reached}, nil
}

// current returns the store to count in, building the Redis one on first use
// or after a failure; while Redis was seen down in the last retryDown it
// returns ErrUnavailable at once.
func (c *Counter) current(ctx context.Context) (limiter.Store, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.build == nil || c.store != nil {
		return c.store, nil
	}
	if c.building || c.now().Before(c.downUntil) {
		return nil, fmt.Errorf("%w: redis is down or being reconnected", ErrUnavailable)
	}
	// One request builds the store (a round trip to Redis) while the others
	// pass unlimited rather than queue behind it.
	c.building = true
	c.mu.Unlock()
	st, err := c.build(ctx)
	c.mu.Lock()
	c.building = false
	if err != nil {
		c.downUntil = c.now().Add(retryDown)
		c.log.Warn("rate limit redis unavailable; requests pass unlimited", "err", err, "retry_in", retryDown)
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	c.store = st
	return c.store, nil
}

// markDown records a Redis failure: the next retryDown of checks fail at
// once, and the store (whose scripts a restarted Redis has lost) is built
// again after it.
func (c *Counter) markDown(err error) {
	if c.build == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.now().Before(c.downUntil) {
		return
	}
	c.downUntil = c.now().Add(retryDown)
	c.store = nil
	c.log.Warn("rate limit redis unavailable; requests pass unlimited", "err", err, "retry_in", retryDown)
}
