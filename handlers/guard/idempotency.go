package guard

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"switchboard/auth"
	"switchboard/store"
)

// The headers of idempotent requests.
const (
	HeaderIdempotencyKey = "Idempotency-Key"
	HeaderReplayed       = "Idempotent-Replayed"
)

// Defaults of IdempotencyConfig.
const (
	DefaultKeep  = 24 * time.Hour
	DefaultLease = 2 * time.Minute
	// maxStoredBody bounds the response kept for a replay; a larger one
	// releases its key instead.
	maxStoredBody = 4 << 20
)

// replayedHeaders are the response headers a replay repeats; the rest
// (request id, rate limit state) belong to the replaying request.
var replayedHeaders = []string{echo.HeaderContentType, echo.HeaderLocation, "Content-Language"}

// KeyError means the Idempotency-Key header is malformed: empty, longer than
// store.MaxIdempotencyKeyLen, sent twice, or holding control characters.
type KeyError struct {
	Reason string
}

func (e *KeyError) Error() string { return "invalid Idempotency-Key header: " + e.Reason }

// Store keeps idempotency keys and their responses; *store.Store is the
// real one.
type Store interface {
	ClaimIdempotencyKey(ctx context.Context, accountID int64, key, requestHash string, lease time.Duration) (store.IdempotencyClaim, error)
	CompleteIdempotencyKey(ctx context.Context, id int64, resp store.StoredResponse, keep time.Duration) error
	ReleaseIdempotencyKey(ctx context.Context, id int64, keep time.Duration) error
}

// IdempotencyConfig tunes NewIdempotency; the zero value takes the defaults.
type IdempotencyConfig struct {
	// Keep is how long a response is replayed (default and least 24 h).
	Keep time.Duration
	// Lease is how long a request may hold its key before another request
	// with the key may run (default 2 min). The request's context ends at
	// half of it, so that a request still running does not outlive it.
	Lease time.Duration
}

// Idempotency replays POSTs sent again with the same Idempotency-Key. A nil
// *Idempotency lets every request through.
type Idempotency struct {
	store   Store
	keep    time.Duration
	lease   time.Duration
	metrics *Metrics
	log     *slog.Logger
}

// NewIdempotency returns the Idempotency-Key guard, keeping keys in st. m
// and log may be nil.
func NewIdempotency(st Store, cfg IdempotencyConfig, m *Metrics, log *slog.Logger) *Idempotency {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	i := &Idempotency{store: st, keep: max(cfg.Keep, DefaultKeep), lease: cfg.Lease, metrics: m, log: log}
	if i.lease <= 0 {
		i.lease = DefaultLease
	}
	return i
}

// Middleware is Do for the REST dialects: it runs after authentication and
// takes the account from the caller. Requests other than POST pass.
func (i *Idempotency) Middleware() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		if i == nil {
			return next
		}
		return func(c echo.Context) error {
			if c.Request().Method != http.MethodPost {
				return next(c)
			}
			cl, ok := auth.CallerFrom(c.Request().Context())
			if !ok {
				return errors.New("guard: idempotency without a caller")
			}
			return i.Do(c, cl.AccountID, next)
		}
	}
}

// Do runs next once per Idempotency-Key of the account. Without the header
// it just runs next. With it, the first request runs and, unless it fails
// (next returns an error, or answers 5xx), its status, body and content
// headers are kept; the same key with the same method, path and body then
// gets that response again, byte for byte, with Idempotent-Replayed: true.
// A failed first request releases the key, so a corrected retry runs,
// unless it failed after its write committed (a lost commit answer, a client
// gone before the response): then the key answers store.ErrIdempotencyApplied.
//
// It returns a *KeyError for a malformed key, an error wrapping
// store.ErrIdempotencyMismatch for a key first used with another request,
// one wrapping store.ErrIdempotencyInFlight while the first still runs, one
// wrapping store.ErrIdempotencyApplied when it wrote but its response was lost, the
// body limit's error for a body over it, and the store's errors.
func (i *Idempotency) Do(c echo.Context, accountID int64, next echo.HandlerFunc) error {
	if i == nil {
		return next(c)
	}
	key, present, err := keyOf(c.Request().Header)
	if err != nil || !present {
		if err != nil {
			return err
		}
		return next(c)
	}
	req := c.Request()
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return err
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	hash := RequestHash(req.Method, req.URL.RequestURI(), body)
	// The claim is made whether or not the client hangs up meanwhile: a
	// claim that committed but whose answer a cancelled context swallowed
	// would hold the key, unanswered, until its lease ran out. A claimed
	// request whose client has gone fails in run, which releases it.
	claimCtx, cancel := context.WithTimeout(context.WithoutCancel(req.Context()), 5*time.Second)
	claim, err := i.store.ClaimIdempotencyKey(claimCtx, accountID, key, hash, i.lease)
	cancel()
	switch {
	case errors.Is(err, store.ErrIdempotencyInFlight):
		i.metrics.idempotency("in_flight")
		return err
	case errors.Is(err, store.ErrIdempotencyMismatch):
		i.metrics.idempotency("mismatch")
		return err
	case errors.Is(err, store.ErrIdempotencyApplied):
		i.metrics.idempotency("applied")
		return err
	case err != nil:
		return err
	case claim.Replay != nil:
		i.metrics.idempotency("replayed")
		return replay(c, claim.Replay)
	}
	return i.run(c, claim.ID, next)
}

// run answers a claimed key's request and keeps or releases the key.
func (i *Idempotency) run(c echo.Context, claimID int64, next echo.HandlerFunc) (err error) {
	req := c.Request()
	// Past the lease the key may be claimed again, so the work must stop well
	// before it. The store marks the claim applied in the transaction of
	// whatever the request writes, so that a write whose response is lost
	// is not made again by a retry.
	ctx, cancel := context.WithTimeout(store.WithIdempotencyClaim(req.Context(), claimID), i.lease/2)
	defer cancel()
	c.SetRequest(req.WithContext(ctx))
	defer c.SetRequest(req)

	resp := c.Response()
	w := &capture{ResponseWriter: resp.Writer}
	resp.Writer = w
	defer func() { resp.Writer = w.ResponseWriter }()

	settled := false
	defer func() {
		if !settled {
			// A panic: the recover middleware answers it; the key must not
			// stay claimed until its lease lapses.
			i.release(req.Context(), claimID)
		}
	}()
	err = next(c)
	settled = true
	if err != nil || resp.Status >= 500 || w.overflow || !resp.Committed {
		i.release(req.Context(), claimID)
		return err
	}
	stored := store.StoredResponse{Status: resp.Status, Header: map[string]string{}, Body: w.buf.Bytes()}
	for _, h := range replayedHeaders {
		if v := resp.Header().Get(h); v != "" {
			stored.Header[h] = v
		}
	}
	saveCtx, cancelSave := context.WithTimeout(context.WithoutCancel(req.Context()), 5*time.Second)
	defer cancelSave()
	if err := i.store.CompleteIdempotencyKey(saveCtx, claimID, stored, i.keep); err != nil {
		// The client has its answer; a retry finds the key claimed until the
		// lease lapses and then runs again.
		i.log.ErrorContext(req.Context(), "idempotency key not kept", "claim", claimID, "err", err)
		return nil
	}
	i.metrics.idempotency("stored")
	return nil
}

// release gives a claim up, whatever happened to the request's context.
func (i *Idempotency) release(ctx context.Context, claimID int64) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := i.store.ReleaseIdempotencyKey(ctx, claimID, i.keep); err != nil {
		i.log.ErrorContext(ctx, "idempotency key not released", "claim", claimID, "err", err)
		return
	}
	i.metrics.idempotency("released")
}

// keyOf returns the request's Idempotency-Key and whether it has one; a
// header that is present but malformed is a *KeyError. A key may come as a
// structured-field string ("...", as the IETF draft writes it) or bare, as
// Stripe's clients send it; both name the same key.
func keyOf(h http.Header) (string, bool, error) {
	vals, ok := h[HeaderIdempotencyKey]
	if !ok {
		return "", false, nil
	}
	if len(vals) != 1 {
		return "", true, &KeyError{Reason: "send it once"}
	}
	key := strings.TrimSpace(vals[0])
	if len(key) >= 2 && key[0] == '"' && key[len(key)-1] == '"' {
		key = key[1 : len(key)-1]
	}
	switch {
	case key == "":
		return "", true, &KeyError{Reason: "it is empty"}
	case !utf8.ValidString(key):
		return "", true, &KeyError{Reason: "it is not valid UTF-8"}
	case utf8.RuneCountInString(key) > store.MaxIdempotencyKeyLen:
		return "", true, &KeyError{Reason: fmt.Sprintf("it is longer than %d characters", store.MaxIdempotencyKeyLen)}
	case strings.ContainsFunc(key, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return "", true, &KeyError{Reason: "it contains control characters"}
	}
	return key, true, nil
}

// RequestHash returns what identifies a request for its Idempotency-Key: a
// hash of its method, path with query (uri), and body.
func RequestHash(method, uri string, body []byte) string {
	h := sha256.New()
	io.WriteString(h, method)
	h.Write([]byte{0})
	io.WriteString(h, uri)
	h.Write([]byte{0})
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// replay writes a kept response again.
func replay(c echo.Context, r *store.StoredResponse) error {
	h := c.Response().Header()
	for k, v := range r.Header {
		h.Set(k, v)
	}
	h.Set(HeaderReplayed, "true")
	c.Response().WriteHeader(r.Status)
	_, err := c.Response().Write(r.Body)
	return err
}

// capture copies what a handler writes, up to maxStoredBody.
type capture struct {
	http.ResponseWriter
	buf      bytes.Buffer
	overflow bool
}

func (w *capture) Write(p []byte) (int, error) {
	if !w.overflow {
		if w.buf.Len()+len(p) > maxStoredBody {
			w.overflow = true
			w.buf = bytes.Buffer{}
		} else {
			w.buf.Write(p)
		}
	}
	return w.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *capture) Unwrap() http.ResponseWriter { return w.ResponseWriter }
