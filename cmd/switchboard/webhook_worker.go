package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"

	"switchboard/delivery"
	"switchboard/handlers"
	"switchboard/store"
)

// webhookConfig is the configuration of the webhook worker that serve runs.
type webhookConfig struct {
	allowPrivate bool
	workers      int
}

// addWebhooks defines the webhook flags on fs.
func (c *webhookConfig) addWebhooks(fs *flag.FlagSet) {
	fs.BoolVar(&c.allowPrivate, "webhook-allow-private", false, "let webhooks go to loopback, private and link-local addresses (env SWITCHBOARD_WEBHOOK_ALLOW_PRIVATE)")
	fs.IntVar(&c.workers, "webhook-workers", 4, "concurrent senders of webhook deliveries (env SWITCHBOARD_WEBHOOK_WORKERS)")
}

// validate returns every problem with the webhook settings.
func (c *webhookConfig) validate() []error {
	if c.workers < 1 || c.workers > 64 {
		return []error{fmt.Errorf("--webhook-workers %d: want 1 to 64", c.workers)}
	}
	return nil
}

// worker returns the webhook worker over the store's events, rendering in
// every format.
func (c *webhookConfig) worker(st *store.Store, log *slog.Logger) *delivery.WebhookWorker {
	if c.allowPrivate {
		log.Warn("webhooks may go to private, loopback and link-local addresses (--webhook-allow-private)")
	}
	sender := delivery.NewWebhookSender(delivery.WebhookSenderOptions{AllowPrivate: c.allowPrivate})
	return delivery.NewWebhookWorker(st, handlers.NewWebhookFormats(), sender,
		delivery.Config{Workers: c.workers}, log.With("worker", "webhooks"))
}

// runWebhooks runs w until ctx is done and returns a channel that receives
// its result.
func runWebhooks(ctx context.Context, w *delivery.WebhookWorker) <-chan error {
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	return done
}
