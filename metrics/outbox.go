package metrics

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"switchboard/store"
)

// OutboxSource is the part of the store the outbox collector reads;
// *store.Store is the real one.
type OutboxSource interface {
	OutboxStats(ctx context.Context, now time.Time) ([]store.OutboxStat, error)
}

// outboxTimeout bounds the outbox queries of one scrape: a slow database
// gives a scrape without the outbox figures, not a hung scrape.
const outboxTimeout = 2 * time.Second

// OutboxCollector reports the outboxes' depth and the age of their oldest
// due delivery, read from the store at each scrape.
type OutboxCollector struct {
	src     OutboxSource
	log     *slog.Logger
	now     func() time.Time
	pending *prometheus.Desc
	age     *prometheus.Desc
	up      *prometheus.Desc
}

// NewOutboxCollector returns the collector over src; a failed read is
// logged to log (nil: not logged) and reported as
// switchboard_outbox_stats_up 0.
func NewOutboxCollector(src OutboxSource, log *slog.Logger) *OutboxCollector {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &OutboxCollector{
		src: src, log: log, now: time.Now,
		pending: prometheus.NewDesc("switchboard_outbox_pending",
			"Deliveries waiting to be sent (queued, waiting for a retry, or being sent), by channel.", []string{"channel"}, nil),
		age: prometheus.NewDesc("switchboard_outbox_oldest_due_age_seconds",
			"How long the longest-waiting due delivery has been due, by channel; 0 when none is due.", []string{"channel"}, nil),
		up: prometheus.NewDesc("switchboard_outbox_stats_up",
			"1 when this scrape read the outbox figures from the database, 0 when it could not (they are then left out).", nil, nil),
	}
}

// Describe sends the collector's descriptions.
func (c *OutboxCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.pending
	ch <- c.age
	ch <- c.up
}

// Collect reads the outboxes and sends their figures.
func (c *OutboxCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), outboxTimeout)
	defer cancel()
	now := c.now()
	stats, err := c.src.OutboxStats(ctx, now)
	if err != nil {
		c.log.Warn("metrics: outbox figures unavailable", "err", err)
		ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 1)
	for _, s := range stats {
		ch <- prometheus.MustNewConstMetric(c.pending, prometheus.GaugeValue, float64(s.Pending), s.Channel)
		age := 0.0
		if s.OldestDue != nil {
			age = max(now.Sub(*s.OldestDue).Seconds(), 0)
		}
		ch <- prometheus.MustNewConstMetric(c.age, prometheus.GaugeValue, age, s.Channel)
	}
}
