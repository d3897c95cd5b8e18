package handlers_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"switchboard/handlers/guard"
	"switchboard/models"
	"switchboard/store"
	"switchboard/store/storetest"
)

// hangup is a request context whose client hangs up at the n-th time anyone
// asks whether it has (Done): sweeping n from 0 up cancels a request at
// every point where its code looks, one point per request, without timing.
type hangup struct {
	mu    sync.Mutex
	left  int
	done  chan struct{}
	fired bool
}

func newHangup(n int) *hangup { return &hangup{left: n, done: make(chan struct{})} }

func (h *hangup) Deadline() (time.Time, bool) { return time.Time{}, false }
func (h *hangup) Value(any) any               { return nil }

func (h *hangup) Done() <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.left == 0 && !h.fired {
		h.fired = true
		close(h.done)
	}
	h.left--
	return h.done
}

// hasFired reports whether the client has hung up yet.
func (h *hangup) hasFired() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.fired
}

func (h *hangup) Err() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.fired {
		return context.Canceled
	}
	return nil
}

// logBuffer keeps what the router logs, for goroutines to write at once.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestRouter_ClientHangsUp cancels writes and reads at every point of their
// run, as a client that hangs up would, through the real router and guards:
// no answer is a 500 or 503 (a hang-up is logged 499 at info), no error is
// logged, and a write cancelled anywhere is made once at most; sent again
// with its Idempotency-Key, it is made exactly once (run afresh when the
// first did not commit, and answered 409 "applied" when it did but its
// answer was lost).
func TestRouter_ClientHangsUp(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		logs := &logBuffer{}
		env := mustGuardEnv(t, st, guardOpts{log: slog.New(slog.NewJSONHandler(logs, nil))})
		count := func(text string) int64 {
			var n int64
			if err := st.GORM().Model(&models.Message{}).Where("text = ?", text).Count(&n).Error; err != nil {
				t.Fatal(err)
			}
			return n
		}
		send := func(ctx context.Context, method, path, body, key, token string) *httptest.ResponseRecorder {
			var rd *strings.Reader
			if body != "" {
				rd = strings.NewReader(body)
			}
			req := httptest.NewRequest(method, path, nil)
			if rd != nil {
				req = httptest.NewRequest(method, path, rd)
				req.Header.Set("Content-Type", "application/json")
			}
			req = req.WithContext(ctx)
			req.RemoteAddr = "192.0.2.1:1234"
			req.Header.Set("Authorization", "Bearer "+token)
			if key != "" {
				req.Header.Set(guard.HeaderIdempotencyKey, key)
			}
			rec := httptest.NewRecorder()
			// Not checked against openapi.yaml: a 499 has no body for anyone.
			env.e.ServeHTTP(rec, req)
			return rec
		}
		var sawHangup bool
		for _, d := range idemDialects {
			t.Run(d.name, func(t *testing.T) {
				for n := 0; ; n++ {
					text := fmt.Sprintf("%s hangs up at %d", d.name, n)
					key := fmt.Sprintf("%s-%d", d.name, n)
					h := newHangup(n)
					rec := send(h, http.MethodPost, d.path, d.body(env, text), key, d.token(env))
					if rec.Code >= 500 && rec.Code != 499 {
						t.Fatalf("cancelled at %d: %d %s", n, rec.Code, rec.Body)
					}
					if rec.Code == 499 {
						sawHangup = true
					}
					if c := count(text); c > 1 {
						t.Fatalf("cancelled at %d: %d messages written", n, c)
					}
					again := send(context.Background(), http.MethodPost, d.path, d.body(env, text), key, d.token(env))
					switch {
					case again.Code == http.StatusConflict && strings.Contains(again.Body.String(), "applied"):
					case again.Code >= 200 && again.Code < 300:
					default:
						t.Fatalf("cancelled at %d, sent again: %d %s", n, again.Code, again.Body)
					}
					if c := count(text); c != 1 {
						t.Fatalf("cancelled at %d, sent again: %d messages written, want 1", n, c)
					}
					if !h.hasFired() {
						break // the request ran to its end before n
					}
					if n > 2000 {
						t.Fatal("the request never ran to its end")
					}
				}
			})
		}
		t.Run("a read", func(t *testing.T) {
			for n := 0; ; n++ {
				h := newHangup(n)
				rec := send(h, http.MethodGet, "/v1/chats", "", "", env.token)
				if rec.Code >= 500 && rec.Code != 499 {
					t.Fatalf("cancelled at %d: %d %s", n, rec.Code, rec.Body)
				}
				if !h.hasFired() || n > 2000 {
					break
				}
			}
		})
		if !sawHangup {
			t.Errorf("never answered 499: the sweep missed the points it is for")
		}
		if out := logs.String(); strings.Contains(out, `"level":"ERROR"`) {
			t.Errorf("errors logged for hang-ups:\n%s", out)
		}
		if !strings.Contains(logs.String(), `"status":499`) {
			t.Errorf("no request logged with status 499")
		}
	})
}
