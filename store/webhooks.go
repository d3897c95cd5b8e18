package store

import (
	"context"
	"fmt"
	"strings"

	"gorm.io/gorm"

	"switchboard/models"
)

// NewWebhook is what CreateWebhook needs.
type NewWebhook struct {
	URL    string
	Format models.WebhookFormat
	// Events are the format's event names the subscription wants, as the
	// client gave them (empty: all); Types are the model's event types they
	// stand for (empty: all), which the store filters on.
	Events []string
	Types  []models.EventType
	// Secret signs every request; the caller makes it (its form depends on
	// the format).
	Secret string
}

// CreateWebhook subscribes the account's future events: the subscription
// gets every event committed after its own webhook.created event. It returns
// FieldErrors for an empty or over-long url or secret, an unknown format or
// event type, and ErrNotFound for an unknown account.
func (s *Store) CreateWebhook(ctx context.Context, accountID int64, in NewWebhook) (models.Webhook, error) {
	var fe FieldErrors
	in.URL = strings.TrimSpace(in.URL)
	if in.URL == "" {
		fe.Add("url", "must not be empty")
	}
	checkLine(&fe, "url", in.URL, models.MaxURLLen)
	if !in.Format.Valid() {
		fe.Add("format", "must be helpcrunch, acquire or standard")
	}
	if in.Secret == "" {
		fe.Add("secret", "must not be empty")
	}
	checkLine(&fe, "secret", in.Secret, models.MaxNameLen)
	for _, t := range in.Types {
		if !t.Valid() {
			fe.Add("events", "unknown event type %q", t)
		}
	}
	for _, e := range in.Events {
		if e == "" || strings.ContainsAny(e, ", ") {
			fe.Add("events", "bad event name %q", e)
		}
	}
	if err := fe.Err(); err != nil {
		return models.Webhook{}, err
	}
	var w models.Webhook
	err := s.write(ctx, s.db, func(tx *gorm.DB) error {
		if err := accountExists(tx, accountID); err != nil {
			return err
		}
		now := s.now()
		w = models.Webhook{
			AccountID: accountID, URL: in.URL, Format: in.Format, Events: strings.Join(in.Events, ","),
			Types: typeList(in.Types), Secret: in.Secret, Status: models.WebhookActive, CreatedAt: now, UpdatedAt: now,
		}
		if err := tx.Create(&w).Error; err != nil {
			return err
		}
		ev := newEvent(accountID, models.EventWebhookCreated, EventData{"webhook_id": w.ID, "format": w.Format})
		if err := s.appendEvents(tx, ev); err != nil {
			return err
		}
		// The subscription starts after its own creation: the sequence
		// row is locked by appendEvents, so this is exactly that event.
		if err := tx.Raw(`SELECT seq FROM event_seqs WHERE account_id = ?`, accountID).Scan(&w.Cursor).Error; err != nil {
			return err
		}
		return tx.Model(&models.Webhook{}).Where("id = ?", w.ID).Update("cursor", w.Cursor).Error
	})
	return w, wrap("create webhook", err)
}

// typeList returns types as ",a,b," (what Webhook.Types holds), "" for none.
func typeList(types []models.EventType) string {
	if len(types) == 0 {
		return ""
	}
	parts := make([]string, len(types))
	for i, t := range types {
		parts[i] = string(t)
	}
	return "," + strings.Join(parts, ",") + ","
}

// Webhooks returns the account's subscriptions by id; none gives an empty
// list.
func (s *Store) Webhooks(ctx context.Context, accountID int64) ([]models.Webhook, error) {
	out := []models.Webhook{}
	if err := s.db.WithContext(ctx).Where("account_id = ?", accountID).Order("id").Find(&out).Error; err != nil {
		return nil, wrap("list webhooks", err)
	}
	return out, nil
}

// Webhook returns one subscription of the account, or a NotFoundError
// (ErrNotFound) naming "webhook".
func (s *Store) Webhook(ctx context.Context, accountID, id int64) (models.Webhook, error) {
	var w models.Webhook
	err := s.db.WithContext(ctx).Take(&w, "account_id = ? AND id = ?", accountID, id).Error
	return w, wrap(fmt.Sprintf("webhook %d", id), notFoundOr(err, "webhook", id))
}

// DisableWebhook stops sending to the subscription, keeping it and its
// deliveries (queued ones stay queued, unsent) with reason shown. Disabling
// a disabled one changes nothing. It returns the subscription, or a
// NotFoundError naming "webhook".
func (s *Store) DisableWebhook(ctx context.Context, accountID, id int64, reason string) (models.Webhook, error) {
	reason = models.Truncate(reason, models.MaxReasonLen)
	var w models.Webhook
	err := s.write(ctx, s.db, func(tx *gorm.DB) error {
		if err := tx.Take(&w, "account_id = ? AND id = ?", accountID, id).Error; err != nil {
			return notFoundOr(err, "webhook", id)
		}
		if w.Status == models.WebhookDisabled {
			return nil
		}
		w.Status, w.DisabledReason, w.UpdatedAt = models.WebhookDisabled, reason, s.now()
		if err := tx.Model(&models.Webhook{}).Where("id = ?", id).Updates(map[string]any{
			"status": w.Status, "disabled_reason": w.DisabledReason, "updated_at": w.UpdatedAt,
		}).Error; err != nil {
			return err
		}
		return s.appendEvents(tx, newEvent(accountID, models.EventWebhookDisabled, EventData{"webhook_id": id, "reason": reason}))
	})
	return w, wrap(fmt.Sprintf("disable webhook %d", id), err)
}

// DeleteWebhook removes the subscription and its deliveries. It returns a
// NotFoundError naming "webhook" when the account has none with the id.
func (s *Store) DeleteWebhook(ctx context.Context, accountID, id int64) error {
	err := s.write(ctx, s.db, func(tx *gorm.DB) error {
		// The subscription first: deleting its row waits for a fan-out that
		// holds it locked to commit, so the delete of the deliveries after
		// it sees every row queued for it (no foreign key does that on
		// PostgreSQL: migration 0028).
		res := tx.Where("account_id = ? AND id = ?", accountID, id).Delete(&models.Webhook{})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return notFound("webhook", id)
		}
		if err := tx.Where("webhook_id = ?", id).Where("account_id = ?", accountID).Delete(&models.WebhookDelivery{}).Error; err != nil {
			return err
		}
		return s.appendEvents(tx, newEvent(accountID, models.EventWebhookDeleted, EventData{"webhook_id": id}))
	})
	return wrap(fmt.Sprintf("delete webhook %d", id), err)
}

// WebhookDeliveryFilter chooses deliveries of one subscription.
type WebhookDeliveryFilter struct {
	// Status keeps only deliveries in this status ("" for all).
	Status models.DeliveryStatus
	// Before pages back: deliveries with an id below it (0: from the newest).
	Before int64
	// Limit is the most returned (default and most 100).
	Limit int
}

// WebhookDeliveries returns the subscription's deliveries, newest first. It
// returns a NotFoundError naming "webhook" when the account has none with the
// id.
func (s *Store) WebhookDeliveries(ctx context.Context, accountID, webhookID int64, f WebhookDeliveryFilter) ([]models.WebhookDelivery, error) {
	if f.Limit <= 0 || f.Limit > 100 {
		f.Limit = 100
	}
	out := []models.WebhookDelivery{}
	err := s.readTx(ctx, func(tx *gorm.DB) error {
		if err := tx.Take(&models.Webhook{}, "account_id = ? AND id = ?", accountID, webhookID).Error; err != nil {
			return notFoundOr(err, "webhook", webhookID)
		}
		q := tx.Where("webhook_id = ?", webhookID)
		if f.Status != "" {
			q = q.Where("status = ?", f.Status)
		}
		if f.Before > 0 {
			q = q.Where("id < ?", f.Before)
		}
		return q.Order("id DESC").Limit(f.Limit).Find(&out).Error
	})
	if err != nil {
		return nil, wrap(fmt.Sprintf("deliveries of webhook %d", webhookID), err)
	}
	return out, nil
}
