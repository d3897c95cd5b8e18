package delivery

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"testing"
	"time"
)

// TestRunner_Gap runs a runner's loop over a script of claims, each the
// number of rows it returns (-1: an error), with commits waking it at every
// wait, and checks before which claims it paused for the gap: after a claim
// that did not fill a batch, and only in the goroutine that commits wake.
func TestRunner_Gap(t *testing.T) {
	const batch, gap = 2, 50 * time.Millisecond
	script := []int{0, 0, batch, 1, -1, 0, 0}
	tests := []struct {
		name   string
		woken  bool
		paused []int // the claims a pause came before
	}{
		{"woken", true, []int{1, 2, 4, 6, 7}},
		{"polling", false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			awake := make(chan struct{})
			close(awake) // a commit is always waiting
			var paused []int
			claims := 0
			r := &runner[int, int]{
				cfg:  Config{Batch: batch, Lease: time.Hour, PollEvery: time.Millisecond, SendTimeout: time.Minute, Now: time.Now},
				log:  slog.New(slog.DiscardHandler),
				gap:  gap,
				key:  func(j int) (int64, int) { return int64(j), 1 },
				send: func(context.Context, int) (int, error) { return 0, nil },
				sent: func(context.Context, int, int, time.Time) error { return nil },
				logWith: func(l *slog.Logger, _ int) *slog.Logger {
					return l
				},
				subscribe: func() (<-chan struct{}, func()) { return awake, func() {} },
				since:     func(time.Time) time.Duration { return 0 },
				pause: func(_ context.Context, d time.Duration) {
					if d != gap {
						t.Errorf("paused %v, want the whole gap %v", d, gap)
					}
					paused = append(paused, claims)
				},
				claim: func(context.Context, int, time.Duration) ([]int, error) {
					defer func() { claims++ }()
					if claims >= len(script) {
						cancel()
						return nil, nil
					}
					if script[claims] < 0 {
						return nil, errors.New("database down")
					}
					return make([]int, script[claims]), nil
				},
			}
			r.loop(ctx, r.log, tt.woken)
			if !slices.Equal(paused, tt.paused) {
				t.Errorf("paused before claims %v, want %v", paused, tt.paused)
			}
		})
	}
}
