package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"time"

	"switchboard/handlers/switchboard"
	"switchboard/store"
)

// eventConfig is serve's settings of the event log and the live stream.
type eventConfig struct {
	retention  time.Duration
	maxStreams int
	keepAlive  time.Duration
	window     time.Duration
}

// addEvents defines the event flags on fs.
func (c *eventConfig) addEvents(fs *flag.FlagSet) {
	fs.DurationVar(&c.retention, "event-retention", 168*time.Hour, "how long events, and the webhook deliveries that ended, are kept: for the live stream's catch-up and for webhooks (env SWITCHBOARD_EVENT_RETENTION)")
	fs.IntVar(&c.maxStreams, "max-streams", switchboard.DefaultMaxStreams, "most live event streams open at once on this server; one more gets 503 (env SWITCHBOARD_MAX_STREAMS)")
	fs.DurationVar(&c.window, "stream-window", switchboard.DefaultCoalesce, "shortest time between two reads of an account's events for its live streams: commits within it go out together; it doubles up to five times this (at most 1s) while the account stays busy (env SWITCHBOARD_STREAM_WINDOW)")
	fs.DurationVar(&c.keepAlive, "stream-keep-alive", 15*time.Second, "how often an idle live event stream gets a keep-alive comment (env SWITCHBOARD_STREAM_KEEP_ALIVE)")
}

// validate returns every problem with the settings.
func (c *eventConfig) validate() []error {
	var errs []error
	if c.retention < time.Minute {
		errs = append(errs, fmt.Errorf("--event-retention %s: want at least 1m", c.retention))
	}
	if c.maxStreams < 1 || c.maxStreams > 1_000_000 {
		errs = append(errs, fmt.Errorf("--max-streams %d: want 1 to 1000000", c.maxStreams))
	}
	if c.keepAlive < 10*time.Millisecond || c.keepAlive > time.Hour {
		errs = append(errs, fmt.Errorf("--stream-keep-alive %s: want 10ms to 1h", c.keepAlive))
	}
	if c.window < time.Millisecond || c.window > time.Second {
		errs = append(errs, fmt.Errorf("--stream-window %s: want 1ms to 1s", c.window))
	}
	return errs
}

// stream returns the live stream's settings; done ends every stream when
// it is closed.
func (c *eventConfig) stream(done <-chan struct{}) switchboard.StreamConfig {
	return switchboard.StreamConfig{MaxStreams: c.maxStreams, KeepAlive: c.keepAlive, Coalesce: c.window, Done: done}
}

// pruneEvery is how often serve deletes events older than --event-retention.
const pruneEvery = 10 * time.Minute

// pruneEvents deletes the events older than retention, and the webhook
// deliveries of that age that have ended or whose subscription is disabled
// (store.PruneWebhookDeliveries), at once, then every pruneEvery, until ctx
// ends. Every replica runs it; the deletes of two at once only
// overlap.
func pruneEvents(ctx context.Context, st *store.Store, retention time.Duration, log *slog.Logger) {
	t := time.NewTicker(pruneEvery)
	defer t.Stop()
	prunes := []struct {
		what, key string // the log's words for what was pruned
		prune     func(context.Context, time.Time) (int64, error)
	}{{"events", "events", st.PruneEvents}, {"webhook deliveries", "deliveries", st.PruneWebhookDeliveries}}
	for {
		before := time.Now().Add(-retention)
		for _, p := range prunes {
			n, err := p.prune(ctx, before)
			switch {
			case err != nil && ctx.Err() == nil:
				log.Warn("prune "+p.what, "err", err)
			case n > 0:
				log.Info("pruned "+p.what, p.key, n)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// listenEvents runs st.ListenEvents until ctx ends (on PostgreSQL it wakes
// this replica's streams and webhook worker on the other replicas' commits),
// and st.ListenAgents (which lets Basic auth reuse an agent it read until
// any replica changes one).
func listenEvents(ctx context.Context, st *store.Store, log *slog.Logger) {
	agents := make(chan struct{})
	go func() {
		defer close(agents)
		if err := st.ListenAgents(ctx, log); err != nil && !errors.Is(err, context.Canceled) {
			log.Error("agent listener stopped", "err", err)
		}
	}()
	if err := st.ListenEvents(ctx, log); err != nil && !errors.Is(err, context.Canceled) {
		log.Error("event listener stopped", "err", err)
	}
	<-agents
}
