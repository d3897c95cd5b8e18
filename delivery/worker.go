// Package delivery sends the outboxes. A Worker claims due email and SMS
// deliveries from the store, hands each to the Sender of its kind (SMTP for
// email, a Twilio-compatible HTTP API for SMS) and records the outcome,
// retrying temporary failures with exponential backoff and full jitter. A
// WebhookWorker does the same for webhook deliveries (webhook.go), on the
// same machinery (runner) with Standard Webhooks' retry schedule.
//
// Delivery is at least once. A worker that dies holding rows leaves them to
// be claimed again when their lease runs out, and every attempt of a row
// carries the same reference (the email's Message-ID, the SMS idempotency
// token, the webhook delivery's id), so the receiving side can drop a
// duplicate.
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

// Worker claims due email and SMS deliveries and sends them. Create it with
// New.
type Worker struct {
	out     Outbox
	senders map[models.InboxKind]Sender
	// kinds are the kinds with a sender, the only ones claimed.
	kinds   []models.InboxKind
	cfg     Config
	log     *slog.Logger
	started atomic.Bool
	count   Outcomes
}

// Outcomes counts the outcome of each send: the channel ("email", "sms" or
// "webhook") and the result: "sent", "retry" (failed, to be tried again) or
// "failed" (failed for good). It is called from several goroutines at once.
type Outcomes func(channel, result string)

// The results an Outcomes is called with.
const (
	ResultSent   = "sent"
	ResultRetry  = "retry"
	ResultFailed = "failed"
)

// CountOutcomes makes the worker call count after each send. It must be
// called before Run; a nil count counts nothing.
func (w *Worker) CountOutcomes(count Outcomes) { w.count = count }

// New returns a worker over the outbox that sends email through email and
// SMS through sms. A nil sender leaves its channel unconfigured: its rows stay
// queued, untouched, until a worker with that sender runs. A nil log logs
// nothing.
func New(out Outbox, email, sms Sender, cfg Config, log *slog.Logger) *Worker {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg = checkLease(cfg.withDefaults(), log)
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

// checkLease returns cfg with a lease longer than a send.
func checkLease(cfg Config, log *slog.Logger) Config {
	if cfg.Lease <= cfg.SendTimeout {
		// A lease shorter than a send would let another worker claim the row
		// while it is still being sent, and send it twice.
		log.Warn("delivery lease does not exceed the send timeout; raising it",
			"lease", cfg.Lease, "send_timeout", cfg.SendTimeout, "new_lease", 2*cfg.SendTimeout)
		cfg.Lease = 2 * cfg.SendTimeout
	}
	return cfg
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
		// serve says so at start, once per channel without a sender.
		w.log.Debug("delivery worker has no sender configured; queued email and SMS stay queued")
		<-ctx.Done()
		return nil
	}
	w.log.Info("delivery worker started", "kinds", w.kinds, "workers", w.cfg.Workers, "batch", w.cfg.Batch)
	w.runner().run(ctx)
	w.log.Info("delivery worker stopped")
	return nil
}

// runner returns the outbox machinery set up for email and SMS.
func (w *Worker) runner() *runner[store.Outgoing, string] {
	return &runner[store.Outgoing, string]{
		cfg: w.cfg, log: w.log, count: w.count,
		channel: func(o store.Outgoing) string { return string(o.Delivery.Kind) },
		claim: func(ctx context.Context, n int, lease time.Duration) ([]store.Outgoing, error) {
			return w.out.ClaimDeliveries(ctx, w.kinds, n, lease)
		},
		key: func(o store.Outgoing) (int64, int) { return o.Delivery.ID, o.Delivery.Attempts },
		logWith: func(log *slog.Logger, o store.Outgoing) *slog.Logger {
			d := o.Delivery
			return log.With("delivery", d.ID, "message", d.MessageID, "kind", d.Kind, "attempt", d.Attempts, "reference", d.Reference)
		},
		send: func(ctx context.Context, o store.Outgoing) (string, error) {
			sender := w.senders[o.Delivery.Kind]
			if sender == nil {
				return "", errUnsendable
			}
			return sender.Send(ctx, o)
		},
		sent: func(ctx context.Context, o store.Outgoing, ref string, at time.Time) error {
			return w.out.DeliverySent(ctx, o.Delivery.ID, o.Delivery.Attempts, ref, at)
		},
		failed: func(ctx context.Context, o store.Outgoing, _ error, reason string, retryAt *time.Time) error {
			return w.out.DeliveryFailed(ctx, o.Delivery.ID, o.Delivery.Attempts, reason, retryAt)
		},
		release: w.out.ReleaseDeliveries,
		retry: func(attempt int) (time.Duration, bool) {
			if attempt >= w.cfg.MaxAttempts {
				return 0, false
			}
			return w.backoff(attempt), true
		},
	}
}

// errUnsendable is what a runner's send returns for a row it has no sender
// for (the store returned a kind that was not asked for): the row is given
// back, not failed.
var errUnsendable = errors.New("no sender for this delivery")

// runner is the outbox machinery the email/SMS worker and the webhook worker
// share: goroutines that claim due rows J with a lease, send each (getting
// R), record the outcome, retry failures on a schedule, and give back what
// they did not send when stopped. The functions say what J and R are.
type runner[J, R any] struct {
	cfg Config
	log *slog.Logger
	// claim leases up to n due rows for lease.
	claim func(ctx context.Context, n int, lease time.Duration) ([]J, error)
	// key returns a row's id and the attempt number of its claim.
	key func(J) (id int64, attempt int)
	// logWith returns log with the row's attributes.
	logWith func(log *slog.Logger, j J) *slog.Logger
	// send sends one row within ctx; an error matching ErrPermanent fails it
	// at once, errUnsendable gives it back.
	send func(ctx context.Context, j J) (R, error)
	// sent and failed record an outcome; failed gets the send's error, the
	// reason to keep, and the time of the retry (nil: failed for good).
	sent   func(ctx context.Context, j J, r R, at time.Time) error
	failed func(ctx context.Context, j J, err error, reason string, retryAt *time.Time) error
	// release gives rows back unsent: id to the attempt of its claim.
	release func(ctx context.Context, claims map[int64]int) error
	// retry returns the wait before the attempt after attempt (1 for the
	// first), and false when attempt was the last.
	retry func(attempt int) (time.Duration, bool)
	// settle, when set, records the outcomes of a batch in one write when
	// the batch ends, instead of sent and failed one by one: a batch of a
	// queue's rows then costs one write, not one a row. A process that
	// dies before it settles sends the batch's rows again after their
	// lease, as it would any row whose outcome it did not record.
	settle func(ctx context.Context, outs []outcome[J, R]) error
	// group, when set, returns the queue a row belongs to, whose rows a
	// batch holds in order: once one of them is not sent, the batch gives
	// the queue's later rows back instead of sending them out of order.
	group func(J) int64
	// channel returns a row's channel for count; count, when set, counts
	// each send's outcome.
	channel func(J) string
	count   Outcomes
	// subscribe, when set, returns a channel that says new rows may be due
	// (and its cancel): a waiting goroutine looks again at once instead of
	// after PollEvery.
	subscribe func() (<-chan struct{}, func())
	// gap, when set, spaces the woken goroutine's claims: after a claim that
	// did not fill a batch, the next starts gap after it at the earliest,
	// however many commits woke it meanwhile. Under write load a claim then
	// takes the events of many commits at once instead of one a commit,
	// and an idle worker still answers a single commit at once.
	gap time.Duration
	// since and pause are the gap's clock and wait (default time.Since and
	// sleep); tests replace them.
	since func(time.Time) time.Duration
	pause func(ctx context.Context, d time.Duration)
}

// run claims and sends with cfg.Workers goroutines until ctx is done, then
// waits for them.
func (r *runner[J, R]) run(ctx context.Context) {
	var wg sync.WaitGroup
	for i := range r.cfg.Workers {
		// One goroutine is woken by commits; the others look every
		// PollEvery, and keep going while there is work. Waking them all
		// would make every commit cost a claim query per goroutine.
		wg.Go(func() { r.loop(ctx, r.log.With("worker", i), i == 0) })
	}
	wg.Wait()
}

// loop claims and sends batches until ctx is done; woken says whether it
// subscribes to wake-ups.
func (r *runner[J, R]) loop(ctx context.Context, log *slog.Logger, woken bool) {
	var wake <-chan struct{}
	if woken && r.subscribe != nil {
		ch, cancel := r.subscribe()
		defer cancel()
		wake = ch
	}
	since, pause := r.since, r.pause
	if since == nil {
		since = time.Since
	}
	if pause == nil {
		pause = sleep
	}
	var last time.Time // the start of the last claim that did not fill a batch
	for ctx.Err() == nil {
		if wake != nil && r.gap > 0 && !last.IsZero() {
			if d := r.gap - since(last); d > 0 {
				pause(ctx, d)
			}
		}
		// The lease is counted from before the claim: the store's starts a
		// little later, so this errs on the safe side. It runs on the real
		// clock, as the store's does, not on cfg.Now.
		claimed := time.Now()
		batch, err := r.claim(ctx, r.cfg.Batch, r.cfg.Lease)
		last = time.Time{}
		if err == nil && len(batch) < r.cfg.Batch {
			last = claimed
		}
		if err != nil {
			if ctx.Err() == nil {
				log.Error("claim deliveries", "err", err)
			}
			// A claim cut short by the shutdown may still have committed; its
			// rows come back when the lease runs out.
			sleep(ctx, r.cfg.PollEvery)
			continue
		}
		if len(batch) == 0 {
			waitOrWake(ctx, r.cfg.PollEvery, wake)
			continue
		}
		r.sendBatch(ctx, log, batch, claimed.Add(r.cfg.Lease))
	}
}

// sendBatch sends the claimed rows one after another, or, with group set,
// each queue's rows one after another and up to queuesAtOnce queues side by
// side, so that a slow receiver holds up only its own queue. A queue stops
// early, giving the rest of its rows back, when ctx is done, when the lease
// would run out during its next send (a batch can take longer than the
// lease when sends are slow), or once one of its rows is not sent: its
// later rows wait for that one's retry, in order. With settle set, the
// outcomes are recorded when the batch ends, before the rest is given back.
func (r *runner[J, R]) sendBatch(ctx context.Context, log *slog.Logger, batch []J, leaseEnd time.Time) {
	var (
		mu   sync.Mutex // guards back and outs while queues send
		back []J
		outs []outcome[J, R]
	)
	// send sends rows in order until one is not sent (in a queue) or the
	// batch must stop, and gives it the outcomes and the rows left.
	send := func(rows []J, inQueue bool) {
		var (
			mine []outcome[J, R]
			keep *[]outcome[J, R]
			left []J
		)
		if r.settle != nil {
			keep = &mine
		}
		for i, j := range rows {
			if ctx.Err() != nil || time.Until(leaseEnd) < r.cfg.SendTimeout {
				left = rows[i:]
				break
			}
			if !r.deliver(ctx, log, j, leaseEnd, keep) && inQueue {
				left = rows[i+1:]
				break
			}
		}
		mu.Lock()
		outs = append(outs, mine...)
		back = append(back, left...)
		mu.Unlock()
	}
	if r.group == nil {
		send(batch, false)
	} else {
		var order []int64
		queues := map[int64][]J{}
		for _, j := range batch {
			g := r.group(j)
			if _, ok := queues[g]; !ok {
				order = append(order, g)
			}
			queues[g] = append(queues[g], j)
		}
		var wg sync.WaitGroup
		slots := make(chan struct{}, queuesAtOnce)
		for _, g := range order {
			slots <- struct{}{}
			wg.Go(func() {
				defer func() { <-slots }()
				send(queues[g], true)
			})
		}
		wg.Wait()
	}
	if len(outs) > 0 {
		r.record(ctx, log, leaseEnd, func(rctx context.Context) error { return r.settle(rctx, outs) })
	}
	r.giveBack(ctx, log, back)
}

// queuesAtOnce bounds the queues one batch sends to side by side.
const queuesAtOnce = 16

// outcome is how one row's send ended, kept for settle: err is nil when it
// was sent (with res at at); otherwise reason and retryAt are as failed
// takes them.
type outcome[J, R any] struct {
	job     J
	res     R
	at      time.Time
	err     error
	reason  string
	retryAt *time.Time
}

// deliver sends one row and records the outcome, or with keep appends it
// there for settle. It reports whether the row was sent.
func (r *runner[J, R]) deliver(ctx context.Context, log *slog.Logger, j J, leaseEnd time.Time, keep *[]outcome[J, R]) bool {
	log = r.logWith(log, j)
	_, attempt := r.key(j)
	// The send runs on a context that the Run context does not cancel: a
	// send in flight at shutdown finishes, so its outcome is known and
	// recorded instead of left to a resend.
	sendCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.cfg.SendTimeout)
	res, err := r.safeSend(sendCtx, j)
	cancel()
	if errors.Is(err, errUnsendable) {
		log.Error("claimed a delivery without a sender; releasing it")
		r.giveBack(ctx, log, []J{j})
		return false
	}
	if err == nil {
		at := r.cfg.Now()
		if keep != nil {
			*keep = append(*keep, outcome[J, R]{job: j, res: res, at: at})
		} else {
			r.record(ctx, log, leaseEnd, func(rctx context.Context) error { return r.sent(rctx, j, res, at) })
		}
		log.Debug("delivery sent", "result", res)
		r.counted(j, ResultSent)
		return true
	}
	reason := failReason(err)
	var retryAt *time.Time
	wait, again := r.retry(attempt)
	switch {
	case errors.Is(err, ErrPermanent):
		log.Warn("delivery failed for good", "err", reason)
		r.counted(j, ResultFailed)
	case !again:
		log.Warn("delivery failed after its last attempt", "err", reason, "attempts", attempt)
		reason = fmt.Sprintf("%s (after %d attempts)", reason, attempt)
		r.counted(j, ResultFailed)
	default:
		t := r.cfg.Now().Add(wait)
		retryAt = &t
		log.Info("delivery attempt failed; will retry", "err", reason, "retry_at", t)
		r.counted(j, ResultRetry)
	}
	if keep != nil {
		*keep = append(*keep, outcome[J, R]{job: j, res: res, err: err, reason: reason, retryAt: retryAt})
		return false
	}
	r.record(ctx, log, leaseEnd, func(rctx context.Context) error { return r.failed(rctx, j, err, reason, retryAt) })
	return false
}

// counted counts one outcome of j, when the runner counts.
func (r *runner[J, R]) counted(j J, result string) {
	if r.count != nil {
		r.count(r.channel(j), result)
	}
}

// safeSend calls send, turning a panic into a temporary error: one bad
// row must not take the server down, and the row is retried (and fails
// for good after its last attempt).
func (r *runner[J, R]) safeSend(ctx context.Context, j J) (res R, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("sender panicked: %v", p)
		}
	}()
	return r.send(ctx, j)
}

// record writes an outcome, trying again after PollEvery while the store
// fails and the lease holds. ErrConflict (the lease ran out and another
// claim took the row) is logged: the row is that claim's now. An outcome
// that cannot be written is logged too; the row is claimed again when its
// lease runs out and resent with the same reference.
func (r *runner[J, R]) record(ctx context.Context, log *slog.Logger, leaseEnd time.Time, write func(context.Context) error) {
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
		if ctx.Err() != nil || time.Now().Add(r.cfg.PollEvery).After(leaseEnd) {
			log.Error("could not record the delivery outcome; the row will be claimed again when its lease runs out", "err", err)
			return
		}
		log.Warn("record delivery outcome; retrying", "err", err)
		sleep(ctx, r.cfg.PollEvery)
	}
}

// giveBack gives rows back to the queue unsent.
func (r *runner[J, R]) giveBack(ctx context.Context, log *slog.Logger, rows []J) {
	if len(rows) == 0 {
		return
	}
	claims := make(map[int64]int, len(rows))
	for _, j := range rows {
		id, attempt := r.key(j)
		claims[id] = attempt
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	if err := r.release(rctx, claims); err != nil {
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
	return time.Duration(unit(w.cfg.Rand) * float64(ceiling))
}

// unit returns rnd(), or 0 when it strays out of [0, 1).
func unit(rnd func() float64) float64 {
	r := rnd()
	if r < 0 || r >= 1 {
		return 0
	}
	return r
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

// waitOrWake waits d, until wake says to look again, or until ctx is done.
func waitOrWake(ctx context.Context, d time.Duration, wake <-chan struct{}) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	case <-wake:
	}
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
