// Package redistest gives tests the Redis server the suite runs against and
// a key prefix of their own on it. Only tests import it.
package redistest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Environment variables that steer the Redis tests.
const (
	// EnvURL names the Redis server to test against; without it the suite
	// tries the local server on 127.0.0.1:6379.
	EnvURL = "SWITCHBOARD_TEST_REDIS_URL"
	// EnvRequire, set to 1, turns an unreachable Redis into a failure instead
	// of a skip (CI sets it).
	EnvRequire = "SWITCHBOARD_TEST_REQUIRE_REDIS"
)

const localURL = "redis://127.0.0.1:6379/0"

// MustURL returns the URL of the suite's Redis server. When it does not
// answer the test is skipped, or fails when Redis is required (EnvRequire=1).
func MustURL(tb testing.TB) string {
	tb.Helper()
	u := os.Getenv(EnvURL)
	if u == "" {
		u = localURL
	}
	opts, err := redis.ParseURL(u)
	if err != nil {
		tb.Fatalf("%s=%q: %v", EnvURL, u, err)
	}
	c := redis.NewClient(opts)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		if os.Getenv(EnvRequire) == "1" {
			tb.Fatalf("Redis is required (%s=1) but does not answer at %s: %v", EnvRequire, u, err)
		}
		tb.Skipf("Redis does not answer at %s: %v", u, err)
	}
	return u
}

// MustPrefix returns a key prefix no other test uses, and deletes every key
// under it when the test ends, so that tests share one Redis without seeing
// each other's counters.
func MustPrefix(tb testing.TB, url string) string {
	tb.Helper()
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		tb.Fatal(err)
	}
	prefix := "switchboard-test-" + hex.EncodeToString(b)
	tb.Cleanup(func() {
		opts, err := redis.ParseURL(url)
		if err != nil {
			return
		}
		c := redis.NewClient(opts)
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		iter := c.Scan(ctx, 0, prefix+":*", 100).Iterator()
		for iter.Next(ctx) {
			c.Del(ctx, iter.Val())
		}
	})
	return prefix
}
