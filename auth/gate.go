package auth

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"time"
)

// ErrBusy means a password could not be checked because every password
// check was taken for as long as a request may wait for one. The client
// may retry after BusyRetryAfter.
var ErrBusy = errors.New("too many password checks at once")

// BusyRetryAfter is how long a client refused with ErrBusy should wait: a
// check takes about a quarter of a second, so a slot is likely free by then.
const BusyRetryAfter = time.Second

// DefaultMaxChecks returns the default bound on password checks at once:
// one per CPU Go uses (GOMAXPROCS). Each runs at the lowest CPU priority, so
// a flood of wrong passwords gets only the CPU requests leave; a server
// should give the Go scheduler one more P per check (serve does), or the
// checks hold Ps that requests need (bench/results.md: on 2 cores, bearer-key
// p99 under a flood 134 ms without the extra Ps, 20 ms with them).
func DefaultMaxChecks() int {
	return runtime.GOMAXPROCS(0)
}

// DefaultMaxWait is how long a password check waits for a free slot before
// it gives up with ErrBusy.
const DefaultMaxWait = time.Second

// gate bounds the password checks that run at once. bcrypt at cost 12 takes
// a core for a quarter of a second; without a bound, a few dozen wrong
// passwords at a time take every core and every other request waits behind
// them.
type gate struct {
	slots chan struct{}
	wait  time.Duration
	// timer returns a channel that fires after d and a function that stops
	// it; tests replace it to fire the wait's end themselves.
	timer func(d time.Duration) (<-chan time.Time, func() bool)
}

func newGate(n int, wait time.Duration) *gate {
	return &gate{slots: make(chan struct{}, n), wait: wait, timer: func(d time.Duration) (<-chan time.Time, func() bool) {
		t := time.NewTimer(d)
		return t.C, t.Stop
	}}
}

// enter takes a slot, waiting for one until the gate's wait or ctx ends,
// and returns the function that gives it back. It returns ErrBusy when the
// wait ended first, and an error wrapping ctx's when ctx did.
func (g *gate) enter(ctx context.Context) (release func(), err error) {
	select {
	case g.slots <- struct{}{}:
		return g.leave, nil
	default:
	}
	fired, stop := g.timer(g.wait)
	defer stop()
	select {
	case g.slots <- struct{}{}:
		return g.leave, nil
	case <-fired:
		return nil, ErrBusy
	case <-ctx.Done():
		return nil, fmt.Errorf("wait for a password check: %w", ctx.Err())
	}
}

func (g *gate) leave() { <-g.slots }
