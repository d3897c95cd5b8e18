package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"time"

	"switchboard/delivery"
	"switchboard/handlers"
	"switchboard/store"
)

// webhookConfig is the configuration of the webhook worker that serve runs.
type webhookConfig struct {
	allowPrivate bool
	workers      int
	lease        time.Duration
}

// addWebhooks defines the webhook flags on fs.
func (c *webhookConfig) addWebhooks(fs *flag.FlagSet) {
	fs.BoolVar(&c.allowPrivate, "webhook-allow-private", false, "let webhooks go to loopback, private and link-local addresses (env SWITCHBOARD_WEBHOOK_ALLOW_PRIVATE)")
	fs.IntVar(&c.workers, "webhook-workers", 4, "concurrent senders of webhook deliveries (env SWITCHBOARD_WEBHOOK_WORKERS)")
	fs.DurationVar(&c.lease, "webhook-lease", time.Minute, "how long a sender holds a webhook delivery; one held by a process that died is sent again after it (env SWITCHBOARD_WEBHOOK_LEASE)")
}

// validate returns every problem with the webhook settings.
func (c *webhookConfig) validate() []error {
	var errs []error
	if c.workers < 1 || c.workers > 64 {
		errs = append(errs, fmt.Errorf("--webhook-workers %d: want 1 to 64", c.workers))
	}
	// The lease must outlast a send (10 s), or a slow receiver would be
	// sent the same delivery by two senders at once.
	if c.lease <= webhookSendTimeout || c.lease > time.Hour {
		errs = append(errs, fmt.Errorf("--webhook-lease %s: want more than %s, at most 1h", c.lease, webhookSendTimeout))
	}
	return errs
}

// webhookSendTimeout bounds one webhook request: a receiver's 2xx within it
// is success.
const webhookSendTimeout = 10 * time.Second

// worker returns the webhook worker over the store's events, rendering in
// every format.
func (c *webhookConfig) worker(st *store.Store, log *slog.Logger) *delivery.WebhookWorker {
	if c.allowPrivate {
		log.Warn("webhooks may go to private, loopback and link-local addresses (--webhook-allow-private)")
	}
	sender := delivery.NewWebhookSender(delivery.WebhookSenderOptions{AllowPrivate: c.allowPrivate, Timeout: webhookSendTimeout})
	return delivery.NewWebhookWorker(st, handlers.NewWebhookFormats(), sender,
		delivery.Config{Workers: c.workers, Lease: c.lease, SendTimeout: webhookSendTimeout}, log.With("worker", "webhooks"))
}

// runWebhooks runs w, counting its outcomes with count, until ctx is done
// and returns a channel that receives its result.
func runWebhooks(ctx context.Context, w *delivery.WebhookWorker, count delivery.Outcomes) <-chan error {
	w.CountOutcomes(count)
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	return done
}
