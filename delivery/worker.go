// Package delivery sends the outbox: a Worker claims due email and SMS
// deliveries from the store, hands each to the Sender of its kind (SMTP for
// email, a Twilio-compatible HTTP API for SMS) and records the outcome,
// retrying temporary failures with exponential backoff and full jitter.
//
// Delivery is at least once. A worker that dies holding rows leaves them to
// be claimed again when their lease runs out, and every attempt of a row
// carries the same reference (the email's Message-ID, the SMS idempotency
// token), so the receiving side can drop a duplicate.
package delivery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"switchboard/models"
	"switchboard/store"
)

// ErrPermanent marks a send error that no retry can fix (a recipient the
// server refuses for good, a malformed number): the delivery fails at once.
// A Sender wraps it: fmt.Errorf("%w: ...", ErrPermanent). Any other error is
// temporary and the delivery is retried.
var ErrPermanent = errors.New("permanent delivery failure")

// ErrRunning is returned by a second call of Worker.Run.
var ErrRunning = errors.New("delivery worker is already running")

// Outbox is the part of the store the worker uses; *store.Store is the real
// one.
type Outbox interface {
	ClaimDeliveries(ctx context.Context, kinds []models.InboxKind, n int, lease time.Duration) ([]store.Outgoing, error)
	DeliverySent(ctx context.Context, id int64, attempt int, providerRef string, at time.Time) error
	DeliveryFailed(ctx context.Context, id int64, attempt int, reason string, retryAt *time.Time) error
	ReleaseDeliveries(ctx context.Context, claims map[int64]int) error
}

// Sender sends one claimed delivery of its kind. It returns the provider's
// reference for the sent message (may be empty), or an error: permanent when
// it matches ErrPermanent, temporary otherwise. Send must give up when ctx is
// done. A Sender is used by several goroutines at once.
type Sender interface {
	Send(ctx context.Context, o store.Outgoing) (providerRef string, err error)
}

// Config tunes a Worker. Zero fields take the defaults shown.
type Config struct {
	// Workers is the number of goroutines that claim and send (default 1).
	Workers int
	// Batch is the most rows one goroutine claims at a time (default 10).
	Batch int
	// Lease is how long a claim holds its rows (default 2m). It must exceed
	// SendTimeout; New raises it to twice SendTimeout when it does not.
	Lease time.Duration
	// MaxAttempts is the number of attempts after which a delivery fails for
	// good (default 8).
	MaxAttempts int
	// BaseBackoff is the wait cap after the first failed attempt (default
	// 30s); the cap doubles with each attempt up to MaxBackoff (default 1h).
	// The actual wait is drawn uniformly below the cap (full jitter).
	BaseBackoff time.Duration
	MaxBackoff  time.Duration
	// PollEvery is the wait when nothing is due and after a store error
	// (default 1s).
	PollEvery time.Duration
	// SendTimeout bounds one send (default 30s).
	SendTimeout time.Duration
	// Now stamps delivery and retry times (default time.Now).
	Now func() time.Time
	// Rand returns a number in [0, 1) for the jitter (default math/rand/v2's
	// Float64). It is called from several goroutines at once.
	Rand func() float64
}

// recordTimeout bounds one write of an outcome or a release. These writes
// run on a context that survives the Run context, so that a stopping worker
// still records what it sent; the bound keeps a hung database from holding
// the shutdown forever.
const recordTimeout = 15 * time.Second

// withDefaults returns c with its zero fields set to their defaults.
func (c Config) withDefaults() Config {
	if c.Workers <= 0 {
		c.Workers = 1
	}
	if c.Batch <= 0 {
		c.Batch = 10
	}
	if c.Lease <= 0 {
		c.Lease = 2 * time.Minute
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 8
	}
	if c.BaseBackoff <= 0 {
		c.BaseBackoff = 30 * time.Second
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = time.Hour
	}
	if c.MaxBackoff < c.BaseBackoff {
		c.MaxBackoff = c.BaseBackoff
	}
	if c.PollEvery <= 0 {
		c.PollEvery = time.Second
	}
	if c.SendTimeout <= 0 {
		c.SendTimeout = 30 * time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Rand == nil {
		c.Rand = rand.Float64
	}
	return c
}

// Worker claims due deliveries and sends them. Create it with New.
type Worker struct {
	out     Outbox
	senders map[models.InboxKind]Sender
	// kinds are the kinds with a sender, the only ones claimed.
	kinds   []models.InboxKind
	cfg     Config
	log     *slog.Logger
	started atomic.Bool
}

// New returns a worker over the outbox that sends email through email and
// SMS through sms. A nil sender leaves its channel unconfigured: its rows stay
// queued, untouched, until a worker with that sender runs. A nil log logs
// nothing.
func New(out Outbox, email, sms Sender, cfg Config, log *slog.Logger) *Worker {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg = cfg.withDefaults()
	if cfg.Lease <= cfg.SendTimeout {
		// A lease shorter than a send would let another worker claim the row
		// while it is still being sent, and send it twice.
		log.Warn("delivery lease does not exceed the send timeout; raising it",
			"lease", cfg.Lease, "send_timeout", cfg.SendTimeout, "new_lease", 2*cfg.SendTimeout)
		cfg.Lease = 2 * cfg.SendTimeout
	}
	w := &Worker{out: out, senders: map[models.InboxKind]Sender{}, cfg: cfg, log: log}
	for _, s := range []struct {
		kind   models.InboxKind
		sender Sender
	}{{models.InboxEmail, email}, {models.InboxSMS, sms}} {
		if !isNil(s.sender) {
			w.senders[s.kind] = s.sender
			w.kinds = append(w.kinds, s.kind)
		}
	}
	return w
}

// Run sends deliveries with cfg.Workers goroutines until ctx is done. It then
// lets the sends in flight finish (each within SendTimeout) and records them,
// gives back (ReleaseDeliveries) every claimed row not sent, and returns nil.
// Store errors never end it: they are logged and the claim is tried again
// after PollEvery. With no sender configured it only waits for ctx. A second
// call returns ErrRunning.
func (w *Worker) Run(ctx context.Context) error {
	if !w.started.CompareAndSwap(false, true) {
		return ErrRunning
	}
	if len(w.kinds) == 0 {
		w.log.Warn("delivery worker has no sender configured; queued email and SMS stay queued")
		<-ctx.Done()
		return nil
	}
	w.log.Info("delivery worker started", "kinds", w.kinds, "workers", w.cfg.Workers, "batch", w.cfg.Batch)
	var wg sync.WaitGroup
	for i := range w.cfg.Workers {
		wg.Go(func() { w.loop(ctx, w.log.With("worker", i)) })
	}
	wg.Wait()
	w.log.Info("delivery worker stopped")
	return nil
}

// loop claims and sends batches until ctx is done.
func (w *Worker) loop(ctx context.Context, log *slog.Logger) {
	for ctx.Err() == nil {
		// The lease is counted from before the claim: the store's starts a
		// little later, so this errs on the safe side. It runs on the real
		// clock, as the store's does, not on cfg.Now.
		claimed := time.Now()
		batch, err := w.out.ClaimDeliveries(ctx, w.kinds, w.cfg.Batch, w.cfg.Lease)
		if err != nil {
			if ctx.Err() == nil {
				log.Error("claim deliveries", "err", err)
			}
			// A claim cut short by the shutdown may still have committed; its
			// rows come back when the lease runs out.
			sleep(ctx, w.cfg.PollEvery)
			continue
		}
		if len(batch) == 0 {
			sleep(ctx, w.cfg.PollEvery)
			continue
		}
		w.sendBatch(ctx, log, batch, claimed.Add(w.cfg.Lease))
	}
}

// sendBatch sends the claimed rows one after another. It stops early, giving
// the rest back, when ctx is done or when the lease would run out during the
// next send (the batch can take longer than the lease when sends are slow).
func (w *Worker) sendBatch(ctx context.Context, log *slog.Logger, batch []store.Outgoing, leaseEnd time.Time) {
	for i, o := range batch {
		if ctx.Err() != nil || time.Until(leaseEnd) < w.cfg.SendTimeout {
			w.release(ctx, log, batch[i:])
			return
		}
		w.deliver(ctx, log, o, leaseEnd)
	}
}

// deliver sends one row and records the outcome.
func (w *Worker) deliver(ctx context.Context, log *slog.Logger, o store.Outgoing, leaseEnd time.Time) {
	d := o.Delivery
	log = log.With("delivery", d.ID, "message", d.MessageID, "kind", d.Kind, "attempt", d.Attempts, "reference", d.Reference)
	sender := w.senders[d.Kind]
	if sender == nil {
		// The store returned a kind that was not asked for: give it back
		// rather than fail it.
		log.Error("claimed a delivery of a kind without a sender; releasing it")
		w.release(ctx, log, []store.Outgoing{o})
		return
	}
	// The send runs on a context that the Run context does not cancel: a
	// send in flight at shutdown finishes, so its outcome is known and
	// recorded instead of left to a resend.
	sendCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), w.cfg.SendTimeout)
	ref, err := safeSend(sendCtx, sender, o)
	cancel()
	if err == nil {
		at := w.cfg.Now()
		w.record(ctx, log, leaseEnd, func(rctx context.Context) error {
			return w.out.DeliverySent(rctx, d.ID, d.Attempts, ref, at)
		})
		log.Debug("delivery sent", "provider_ref", ref)
		return
	}
	reason := failReason(err)
	var retryAt *time.Time
	switch {
	case errors.Is(err, ErrPermanent):
		log.Warn("delivery failed for good", "err", reason)
	case d.Attempts >= w.cfg.MaxAttempts:
		log.Warn("delivery failed after its last attempt", "err", reason, "max_attempts", w.cfg.MaxAttempts)
		reason = fmt.Sprintf("%s (after %d attempts)", reason, d.Attempts)
	default:
		t := w.cfg.Now().Add(w.backoff(d.Attempts))
		retryAt = &t
		log.Info("delivery attempt failed; will retry", "err", reason, "retry_at", t)
	}
	w.record(ctx, log, leaseEnd, func(rctx context.Context) error {
		return w.out.DeliveryFailed(rctx, d.ID, d.Attempts, reason, retryAt)
	})
}

// safeSend calls the sender, turning a panic into a temporary error: one bad
// message must not take the server down, and the row is retried (and fails
// for good after MaxAttempts).
func safeSend(ctx context.Context, s Sender, o store.Outgoing) (ref string, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("sender panicked: %v", r)
		}
	}()
	return s.Send(ctx, o)
}

// record writes an outcome, trying again after PollEvery while the store
// fails and the lease holds. ErrConflict (the lease ran out and another
// claim took the row) is logged: the row is that claim's now. An outcome
// that cannot be written is logged too; the row is claimed again when its
// lease runs out and resent with the same reference.
func (w *Worker) record(ctx context.Context, log *slog.Logger, leaseEnd time.Time, write func(context.Context) error) {
	for {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
		err := write(rctx)
		cancel()
		switch {
		case err == nil:
			return
		case errors.Is(err, store.ErrConflict):
			log.Warn("delivery lease lost before its outcome was recorded; another claim holds the row", "err", err)
			return
		}
		if ctx.Err() != nil || time.Now().Add(w.cfg.PollEvery).After(leaseEnd) {
			log.Error("could not record the delivery outcome; the row will be claimed again when its lease runs out", "err", err)
			return
		}
		log.Warn("record delivery outcome; retrying", "err", err)
		sleep(ctx, w.cfg.PollEvery)
	}
}

// release gives rows back to the queue unsent.
func (w *Worker) release(ctx context.Context, log *slog.Logger, rows []store.Outgoing) {
	claims := make(map[int64]int, len(rows))
	for _, o := range rows {
		claims[o.Delivery.ID] = o.Delivery.Attempts
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	if err := w.out.ReleaseDeliveries(rctx, claims); err != nil {
		log.Error("release unsent deliveries; they will be claimed again when their lease runs out", "err", err, "count", len(claims))
		return
	}
	log.Debug("released unsent deliveries", "count", len(claims))
}

// backoff returns the wait before the attempt after attempt (1 for the
// first): a uniform draw below min(MaxBackoff, BaseBackoff·2^(attempt-1)).
func (w *Worker) backoff(attempt int) time.Duration {
	ceiling := w.cfg.BaseBackoff
	for i := 1; i < attempt && ceiling < w.cfg.MaxBackoff; i++ {
		ceiling *= 2
	}
	ceiling = min(ceiling, w.cfg.MaxBackoff)
	r := w.cfg.Rand()
	if r < 0 || r >= 1 {
		r = 0
	}
	return time.Duration(r * float64(ceiling))
}

// maxReason bounds the reason kept on a row and its message: enough for a
// server's whole answer, not for an HTML error page.
const maxReason = 1000

// failReason returns the error text to record: valid UTF-8 without NULs
// (PostgreSQL stores neither), cut to maxReason bytes.
func failReason(err error) string {
	s := strings.ToValidUTF8(strings.ReplaceAll(err.Error(), "\x00", ""), "?")
	if len(s) <= maxReason {
		return s
	}
	cut := maxReason
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// isNil reports whether s is nil or a nil pointer in an interface: wiring
// code that keeps a *SMTP variable nil when SMTP is not configured passes a
// non-nil Sender holding nil, which must count as not configured, not crash
// on the first send.
func isNil(s Sender) bool {
	if s == nil {
		return true
	}
	v := reflect.ValueOf(s)
	switch v.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Func, reflect.Interface, reflect.Slice, reflect.Chan:
		return v.IsNil()
	}
	return false
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
