package delivery

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync/atomic"
	"syscall"
	"time"

	"switchboard/models"
	"switchboard/store"
)

// ErrGone means the receiver answered 410 Gone: it wants no more requests,
// and the subscription is disabled. It matches ErrPermanent too.
var ErrGone = fmt.Errorf("%w: the receiver answered 410 Gone", ErrPermanent)

// StatusError is a receiver's answer other than 2xx.
type StatusError struct {
	// Status is the HTTP status code.
	Status int
	// Body is the start of the answer's body, for the delivery's last error.
	Body string
}

// Error returns the status and the start of the body.
func (e *StatusError) Error() string {
	if e.Body == "" {
		return fmt.Sprintf("the receiver answered %d %s", e.Status, http.StatusText(e.Status))
	}
	return fmt.Sprintf("the receiver answered %d %s: %s", e.Status, http.StatusText(e.Status), e.Body)
}

// Unwrap returns ErrGone for 410, nil otherwise.
func (e *StatusError) Unwrap() error {
	if e.Status == http.StatusGone {
		return ErrGone
	}
	return nil
}

// WebhookRequest is one rendered webhook delivery: what to POST and with
// which headers (the format's signature among them).
type WebhookRequest struct {
	Body   []byte
	Header http.Header
}

// WebhookRenderer turns claimed deliveries into requests in their
// subscription's format; handlers.WebhookFormats is the real one.
type WebhookRenderer interface {
	// Wants reports whether the subscription is sent the event at all: its
	// format has a name for it and the subscription asked for that name.
	Wants(w models.Webhook, ev models.Event) bool
	// Render returns the request of the delivery's attempt at at, or an
	// error when it cannot be rendered (the delivery then fails for good).
	Render(o store.WebhookOutgoing, at time.Time) (WebhookRequest, error)
}

// WebhookOutbox is the part of the store the webhook worker uses;
// *store.Store is the real one.
type WebhookOutbox interface {
	FanOutWebhookEvents(ctx context.Context, wants store.WebhookWants) (int, error)
	ClaimWebhookDeliveries(ctx context.Context, n int, lease time.Duration) ([]store.WebhookOutgoing, error)
	RecordWebhookOutcomes(ctx context.Context, outs []store.WebhookOutcome) (int, error)
	ReleaseWebhookDeliveries(ctx context.Context, claims map[int64]int) error
	SubscribeEvents(accountID int64) (wake <-chan struct{}, cancel func())
}

// WebhookSenderOptions tune NewWebhookSender. The zero value is the
// defaults.
type WebhookSenderOptions struct {
	// Timeout bounds one request, answer included (default 10s).
	Timeout time.Duration
	// AllowPrivate lets requests go to loopback, private, link-local and
	// other non-public addresses (tests, and receivers on the same network
	// when the operator says so).
	AllowPrivate bool
}

// WebhookSender POSTs rendered deliveries. It is safe for concurrent use.
type WebhookSender struct {
	client *http.Client
}

// NewWebhookSender returns a sender that POSTs over http and https, follows
// no redirect (a 3xx is a failed attempt), uses no proxy from the
// environment, and unless opts.AllowPrivate connects only to addresses
// PublicAddr allows. The check runs on the address being dialled, after DNS
// resolution, so a name that resolves (or is made to resolve, between a
// check and the dial) to a private address is refused all the same.
func NewWebhookSender(opts WebhookSenderOptions) *WebhookSender {
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	allow := PublicAddr
	if opts.AllowPrivate {
		allow = func(netip.Addr) bool { return true }
	}
	dialer := &net.Dialer{
		Timeout: opts.Timeout,
		Control: func(network, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("%s: %w", address, ErrAddressRefused)
			}
			if a := ap.Addr().Unmap(); !allow(a) {
				return fmt.Errorf("%s: %w", a, ErrAddressRefused)
			}
			return nil
		},
	}
	transport := &http.Transport{
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		TLSHandshakeTimeout:   opts.Timeout,
		ResponseHeaderTimeout: opts.Timeout,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		ForceAttemptHTTP2:     true,
	}
	return &WebhookSender{client: &http.Client{
		Transport: transport,
		Timeout:   opts.Timeout,
		// A receiver's redirect is not followed: it could point the signed
		// body anywhere, a private address included.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// Post sends req to rawURL (an absolute http or https URL, see CheckURL)
// with Content-Type application/json and User-Agent switchboard, and
// returns the receiver's status. A 2xx is success (nil error); any other
// answer is a *StatusError (matching ErrGone for 410); an address that is
// not allowed is an error matching ErrAddressRefused; a timeout or a
// network failure is an error saying so. Its errors do not repeat the URL.
func (s *WebhookSender) Post(ctx context.Context, rawURL string, req WebhookRequest) (int, error) {
	if err := CheckURL(rawURL); err != nil {
		return 0, fmt.Errorf("%w: the url %s", ErrPermanent, err)
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, rawURL, bytes.NewReader(req.Body))
	if err != nil {
		return 0, fmt.Errorf("%w: the url is not a URL", ErrPermanent)
	}
	for k, vs := range req.Header {
		hr.Header[k] = append([]string(nil), vs...)
	}
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("User-Agent", "switchboard")
	res, err := s.client.Do(hr)
	if err != nil {
		return 0, fetchError(err, s.client.Timeout)
	}
	defer res.Body.Close()
	// Read a little of the body for the record, and drain a little more so
	// the connection can be reused.
	head, _ := io.ReadAll(io.LimitReader(res.Body, 512))
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	if res.StatusCode >= 200 && res.StatusCode < 300 {
		return res.StatusCode, nil
	}
	return res.StatusCode, &StatusError{Status: res.StatusCode, Body: string(bytes.TrimSpace(head))}
}

// webhookWaits are the waits before the first retries of a webhook delivery, as
// Standard Webhooks' reference senders wait: after the first attempt 5 s,
// then 30 s, 2 min, 10 min, 30 min, then every hour, each drawn within ±20 %
// (jitter spreads the retries of many deliveries that failed together),
// giving up after WebhookAttempts attempts, about 24 hours after the first.
var webhookWaits = []time.Duration{5 * time.Second, 30 * time.Second, 2 * time.Minute, 10 * time.Minute, 30 * time.Minute}

// WebhookAttempts is the number of attempts of a webhook delivery before it
// fails for good: the five short waits (about 43 minutes) and 23 hourly ones.
const WebhookAttempts = 29

// WebhookRetry returns the wait before the attempt after attempt (1 for the
// first) on the schedule of webhookWaits, with rnd (in [0, 1)) for the
// jitter, and false when attempt was the last.
func WebhookRetry(attempt int, rnd func() float64) (time.Duration, bool) {
	if attempt >= WebhookAttempts {
		return 0, false
	}
	wait := time.Hour
	if attempt >= 1 && attempt <= len(webhookWaits) {
		wait = webhookWaits[attempt-1]
	}
	return time.Duration(float64(wait) * (0.8 + 0.4*unit(rnd))), true
}

// webhookClaimGap spaces the claims that commits wake (runner.gap): a
// commit's deliveries leave at most this much later than they would, and
// under write load one claim's fan-out and reads serve many commits.
const webhookClaimGap = 50 * time.Millisecond

// WebhookWorker sends webhook deliveries: it fans the committed events out
// to the subscriptions that want them, claims the head of each
// subscription's queue, renders it and POSTs it, on the same machinery as
// the email/SMS Worker. Create it with NewWebhookWorker.
type WebhookWorker struct {
	out     WebhookOutbox
	render  WebhookRenderer
	sender  *WebhookSender
	cfg     Config
	log     *slog.Logger
	started atomic.Bool
	count   Outcomes
}

// CountOutcomes makes the worker call count after each send, with the
// channel "webhook". It must be called before Run; a nil count counts
// nothing.
func (w *WebhookWorker) CountOutcomes(count Outcomes) { w.count = count }

// NewWebhookWorker returns a worker over the outbox that renders with
// render and posts with sender. cfg's Workers, Batch (default 50 here: a
// claim takes each due subscription's head and the run behind it, each run
// posted in order and up to 16 subscriptions' runs side by side, so a slow
// receiver delays only its own), Lease, PollEvery, SendTimeout (default 10 s here: a
// receiver's answer within 10 s is success), Now and Rand apply; the retry
// schedule is WebhookRetry's. A nil log logs nothing.
func NewWebhookWorker(out WebhookOutbox, render WebhookRenderer, sender *WebhookSender, cfg Config, log *slog.Logger) *WebhookWorker {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.SendTimeout <= 0 {
		cfg.SendTimeout = 10 * time.Second
	}
	if cfg.Lease <= 0 {
		cfg.Lease = time.Minute
	}
	if cfg.Batch <= 0 {
		// Under write load each subscription's queue grows by an event
		// a commit: a claim and its outcomes per event would fall behind.
		cfg.Batch = 50
	}
	cfg = checkLease(cfg.withDefaults(), log)
	return &WebhookWorker{out: out, render: render, sender: sender, cfg: cfg, log: log}
}

// Run sends webhook deliveries with cfg.Workers goroutines until ctx is
// done, as Worker.Run does. Each goroutine looks for work as soon as events
// commit in this process (or, while the store's ListenEvents runs, in any
// process on the database), and every PollEvery for retries that fall due.
// A second call returns ErrRunning.
func (w *WebhookWorker) Run(ctx context.Context) error {
	if !w.started.CompareAndSwap(false, true) {
		return ErrRunning
	}
	w.log.Info("webhook worker started", "workers", w.cfg.Workers, "batch", w.cfg.Batch)
	w.runner().run(ctx)
	w.log.Info("webhook worker stopped")
	return nil
}

// runner returns the outbox machinery set up for webhooks.
func (w *WebhookWorker) runner() *runner[store.WebhookOutgoing, int] {
	return &runner[store.WebhookOutgoing, int]{
		cfg: w.cfg, log: w.log, count: w.count,
		channel: func(store.WebhookOutgoing) string { return "webhook" },
		claim: func(ctx context.Context, n int, lease time.Duration) ([]store.WebhookOutgoing, error) {
			if _, err := w.out.FanOutWebhookEvents(ctx, w.render.Wants); err != nil {
				return nil, err
			}
			return w.out.ClaimWebhookDeliveries(ctx, n, lease)
		},
		key:   func(o store.WebhookOutgoing) (int64, int) { return o.Delivery.ID, o.Delivery.Attempts },
		group: func(o store.WebhookOutgoing) int64 { return o.Delivery.WebhookID },
		logWith: func(log *slog.Logger, o store.WebhookOutgoing) *slog.Logger {
			d := o.Delivery
			return log.With("webhook_delivery", d.ID, "webhook", d.WebhookID, "event_seq", d.EventSeq,
				"attempt", d.Attempts, "reference", d.Reference)
		},
		send: func(ctx context.Context, o store.WebhookOutgoing) (int, error) {
			req, err := w.render.Render(o, w.cfg.Now())
			if err != nil {
				return 0, fmt.Errorf("%w: render: %v", ErrPermanent, err)
			}
			return w.sender.Post(ctx, o.Webhook.URL, req)
		},
		settle: func(ctx context.Context, outs []outcome[store.WebhookOutgoing, int]) error {
			recs := make([]store.WebhookOutcome, 0, len(outs))
			for _, o := range outs {
				d := o.job.Delivery
				rec := store.WebhookOutcome{ID: d.ID, Attempt: d.Attempts, Sent: o.err == nil, ResponseStatus: o.res,
					Reason: o.reason, RetryAt: o.retryAt}
				var se *StatusError
				if errors.As(o.err, &se) {
					rec.ResponseStatus = se.Status
				}
				rec.Gone = errors.Is(o.err, ErrGone)
				recs = append(recs, rec)
			}
			lost, err := w.out.RecordWebhookOutcomes(ctx, recs)
			if lost > 0 {
				w.log.Warn("webhook delivery leases lost before their outcomes were recorded; other claims hold the rows", "count", lost)
			}
			return err
		},
		release: w.out.ReleaseWebhookDeliveries,
		retry:   func(attempt int) (time.Duration, bool) { return WebhookRetry(attempt, w.cfg.Rand) },
		subscribe: func() (<-chan struct{}, func()) {
			return w.out.SubscribeEvents(0)
		},
		gap: webhookClaimGap,
	}
}
