package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"switchboard/models"
)

// OutboxChannelWebhook names the webhook outbox in OutboxStats, beside the
// delivery kinds email and SMS.
const OutboxChannelWebhook = "webhook"

// OutboxStat is the state of one outbox: how many deliveries wait to be sent
// and since when the oldest of those already due has been due.
type OutboxStat struct {
	// Channel is "email", "sms" or "webhook".
	Channel string
	// Pending counts the deliveries not yet sent or failed for good:
	// queued (due or waiting for a retry) and being sent.
	Pending int64
	// OldestDue is when the longest-waiting due delivery fell due (a queued
	// row's next attempt, or a claim's lease that ran out); nil when none is
	// due at now.
	OldestDue *time.Time
}

// OutboxStats returns the email, SMS and webhook outboxes' stats at now, in
// that order, each present even when empty. It reads without a
// transaction: the figures are for monitoring and may be a moment apart. It
// returns ErrUnavailable wrapped when the database does not answer (ctx's
// deadline included).
func (s *Store) OutboxStats(ctx context.Context, now time.Time) ([]OutboxStat, error) {
	db := s.db.WithContext(ctx)
	pending := []models.DeliveryStatus{models.DeliveryQueued, models.DeliverySending}
	out := []OutboxStat{{Channel: string(models.InboxEmail)}, {Channel: string(models.InboxSMS)}, {Channel: OutboxChannelWebhook}}
	var counts []struct {
		Kind string
		N    int64
	}
	if err := db.Model(&models.Delivery{}).Select("kind, COUNT(*) AS n").Where("status IN ?", pending).
		Group("kind").Scan(&counts).Error; err != nil {
		return nil, outboxStatsErr(err)
	}
	for _, c := range counts {
		for i := range out[:2] {
			if out[i].Channel == c.Kind {
				out[i].Pending = c.N
			}
		}
	}
	if err := db.Model(&models.WebhookDelivery{}).Where("status IN ?", pending).Count(&out[2].Pending).Error; err != nil {
		return nil, outboxStatsErr(err)
	}
	// The oldest due row is read as a column, not as MIN(): SQLite gives
	// an aggregate back as text, a column as the time it declares.
	for i := range out[:2] {
		if out[i].Pending == 0 {
			continue
		}
		var d []models.Delivery
		if err := db.Select("next_attempt_at").Where("kind = ? AND status IN ? AND next_attempt_at <= ?", out[i].Channel, pending, now).
			Order("next_attempt_at").Limit(1).Find(&d).Error; err != nil {
			return nil, outboxStatsErr(err)
		}
		if len(d) > 0 {
			t := d[0].NextAttemptAt
			out[i].OldestDue = &t
		}
	}
	if out[2].Pending > 0 {
		var d []models.WebhookDelivery
		if err := db.Select("next_attempt_at").Where("status IN ? AND next_attempt_at <= ?", pending, now).
			Order("next_attempt_at").Limit(1).Find(&d).Error; err != nil {
			return nil, outboxStatsErr(err)
		}
		if len(d) > 0 {
			t := d[0].NextAttemptAt
			out[2].OldestDue = &t
		}
	}
	return out, nil
}

// outboxStatsErr wraps a failed read of the outbox stats as ErrUnavailable.
func outboxStatsErr(err error) error {
	return fmt.Errorf("outbox stats: %w: %v", ErrUnavailable, err)
}

// SQLDB returns the database/sql pool of the store's requests, for its
// statistics (Prometheus' DBStatsCollector); the store's methods are the
// way to use it.
func (s *Store) SQLDB() (*sql.DB, error) {
	db, err := s.db.DB()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return db, nil
}
