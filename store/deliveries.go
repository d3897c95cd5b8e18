package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"switchboard/models"
)

// Outgoing is a claimed delivery with what sending it needs.
type Outgoing struct {
	Delivery models.Delivery
	Message  models.Message
	// To, Cc and Bcc are the email's addresses (an SMS has Message.SMSTo).
	To, Cc, Bcc []string
	// Thread holds the Message-IDs of the case's earlier emails, oldest
	// first: the last is In-Reply-To, all are References.
	Thread []string
	// Attachments are the email's files with their content, in order.
	Attachments []models.Attachment
}

// ClaimDeliveries leases up to n due deliveries of the kinds (queued and
// due, or leased and the lease run out) for lease, oldest due first, counting
// an attempt on each. A kind left out (a channel without a sender) stays
// queued. On PostgreSQL concurrent claimers skip each other's rows (FOR
// UPDATE SKIP LOCKED); SQLite runs one transaction at a time. It returns an
// empty slice when nothing is due.
func (s *Store) ClaimDeliveries(ctx context.Context, kinds []models.InboxKind, n int, lease time.Duration) ([]Outgoing, error) {
	out := []Outgoing{}
	if len(kinds) == 0 || n <= 0 {
		return out, nil
	}
	err := s.write(ctx, s.db, func(tx *gorm.DB) error {
		out = out[:0] // a transaction run again claims afresh
		now := s.now()
		q := tx.Where("kind IN ? AND status IN ? AND next_attempt_at <= ?", kinds,
			[]models.DeliveryStatus{models.DeliveryQueued, models.DeliverySending}, now).
			Order("next_attempt_at, id").Limit(n)
		if s.backend == Postgres {
			q = q.Clauses(clause.Locking{Strength: "UPDATE", Options: "SKIP LOCKED"})
		}
		var ds []models.Delivery
		if err := q.Find(&ds).Error; err != nil {
			return err
		}
		if len(ds) == 0 {
			return nil
		}
		ids := make([]int64, len(ds))
		msgIDs := make([]int64, len(ds))
		for i, d := range ds {
			ids[i], msgIDs[i] = d.ID, d.MessageID
		}
		until := now.Add(lease)
		if err := tx.Model(&models.Delivery{}).Where("id IN ?", ids).Updates(map[string]any{
			"status": models.DeliverySending, "attempts": gorm.Expr("attempts + 1"), "next_attempt_at": until, "updated_at": now,
		}).Error; err != nil {
			return err
		}
		var msgs []models.Message
		if err := tx.Where("id IN ?", msgIDs).Find(&msgs).Error; err != nil {
			return err
		}
		byID := map[int64]models.Message{}
		var emailCases []int64
		for _, m := range msgs {
			byID[m.ID] = m
			if m.EmailFrom != "" {
				emailCases = append(emailCases, m.CaseID)
			}
		}
		threads, err := emailThreads(tx, emailCases)
		if err != nil {
			return err
		}
		files, err := attachmentsOf(tx, msgIDs, true)
		if err != nil {
			return err
		}
		for _, d := range ds {
			d.Status, d.Attempts, d.NextAttemptAt, d.UpdatedAt = models.DeliverySending, d.Attempts+1, until, now
			m := byID[d.MessageID]
			o := Outgoing{Delivery: d, Message: m}
			if d.Kind == models.InboxEmail {
				for _, l := range []struct {
					raw string
					dst *[]string
				}{{m.EmailTo, &o.To}, {m.EmailCc, &o.Cc}, {m.EmailBcc, &o.Bcc}} {
					if l.raw != "" {
						if err := json.Unmarshal([]byte(l.raw), l.dst); err != nil {
							return fmt.Errorf("addresses of message %d: %w", m.ID, err)
						}
					}
				}
				o.Attachments = files[m.ID]
				for _, t := range threads[m.CaseID] {
					if t.at.Before(m.CreatedAt) || t.at.Equal(m.CreatedAt) && t.id < m.ID {
						o.Thread = append(o.Thread, t.ref)
					}
				}
			}
			out = append(out, o)
		}
		return nil
	})
	if err != nil {
		return nil, wrap("claim deliveries", err)
	}
	return out, nil
}

type threadEntry struct {
	id  int64
	at  time.Time
	ref string
}

// emailThreads returns the Message-IDs of the cases' emails, oldest first.
func emailThreads(tx *gorm.DB, caseIDs []int64) (map[int64][]threadEntry, error) {
	out := map[int64][]threadEntry{}
	if len(caseIDs) == 0 {
		return out, nil
	}
	var rows []struct {
		ID        int64
		CaseID    int64
		CreatedAt time.Time
		Reference string
	}
	if err := tx.Raw(`SELECT m.id, m.case_id, m.created_at, d.reference FROM messages m JOIN deliveries d ON d.message_id = m.id
		WHERE m.case_id IN ? AND d.kind = 'email' ORDER BY m.created_at, m.id`, caseIDs).Scan(&rows).Error; err != nil {
		return nil, err
	}
	for _, r := range rows {
		out[r.CaseID] = append(out[r.CaseID], threadEntry{id: r.ID, at: r.CreatedAt, ref: r.Reference})
	}
	return out, nil
}

// DeliverySent records that a claimed delivery was sent at at, with the
// provider's reference (an SMS id, an SMTP queue id or empty). attempt is the
// Delivery.Attempts of the claim: if the lease ran out and another claim
// took the row, the record is refused with ErrConflict and changes nothing.
// A final status a provider's receipt gave the message first (delivered,
// before the send's answer was recorded) stays.
func (s *Store) DeliverySent(ctx context.Context, id int64, attempt int, providerRef string, at time.Time) error {
	at = at.UTC().Truncate(time.Microsecond)
	return s.recordDelivery(ctx, id, attempt, map[string]any{
		"status": models.DeliverySent, "provider_ref": providerRef, "last_error": "",
	}, map[string]any{
		"delivery_status": gorm.Expr("CASE WHEN delivery_status IN (?, ?, ?) THEN delivery_status ELSE ? END",
			models.DeliveryDelivered, models.DeliveryUndelivered, models.DeliveryFailed, models.DeliverySent),
		"delivered_at": at, "failed_at": nil, "fail_reason": "",
	})
}

// DeliveryFailed records a failed attempt of a claimed delivery. With retryAt
// the row is queued again for then; without, it fails for good and its
// message shows the failure time and reason, cut to models.MaxReasonLen
// characters (a provider's error page is not kept whole). ErrConflict as
// DeliverySent.
func (s *Store) DeliveryFailed(ctx context.Context, id int64, attempt int, reason string, retryAt *time.Time) error {
	reason = models.Truncate(strings.ToValidUTF8(strings.ReplaceAll(reason, "\x00", ""), "?"), models.MaxReasonLen)
	if retryAt != nil {
		return s.recordDelivery(ctx, id, attempt, map[string]any{
			"status": models.DeliveryQueued, "next_attempt_at": retryAt.UTC().Truncate(time.Microsecond), "last_error": reason,
		}, nil)
	}
	return s.recordDelivery(ctx, id, attempt, map[string]any{"status": models.DeliveryFailed, "last_error": reason},
		map[string]any{"delivery_status": models.DeliveryFailed, "failed_at": s.now(), "fail_reason": reason})
}

// recordDelivery sets the columns of a delivery still held by the claim of
// attempt, and those of its message, in one transaction. The message's
// columns are set when the delivery ends, sent or failed for good: that is
// an event (delivery.sent, delivery.failed); a retry is not.
func (s *Store) recordDelivery(ctx context.Context, id int64, attempt int, delivery, message map[string]any) error {
	returning := func(cols ...string) clause.Returning {
		r := clause.Returning{}
		for _, c := range cols {
			r.Columns = append(r.Columns, clause.Column{Name: c})
		}
		return r
	}
	err := s.write(ctx, s.db, func(tx *gorm.DB) error {
		now := s.now()
		delivery["updated_at"] = now
		var d models.Delivery
		res := tx.Model(&d).Clauses(returning("account_id", "message_id", "kind")).
			Where("id = ? AND status = ? AND attempts = ?", id, models.DeliverySending, attempt).Updates(delivery)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("delivery %d is no longer held by attempt %d: %w", id, attempt, ErrConflict)
		}
		if message == nil {
			return nil
		}
		message["updated_at"] = now
		var m models.Message
		if err := tx.Model(&m).Clauses(returning("case_id")).Where("id = ?", d.MessageID).Updates(message).Error; err != nil {
			return err
		}
		t, data := models.EventDeliverySent, EventData{"channel": d.Kind, "attempts": attempt}
		if delivery["status"] == models.DeliveryFailed {
			t, data["reason"] = models.EventDeliveryFailed, delivery["last_error"]
		}
		ev := newEvent(d.AccountID, t, data)
		ev.MessageID, ev.CaseID = d.MessageID, m.CaseID
		return s.appendEvents(tx, ev)
	})
	return wrap(fmt.Sprintf("record delivery %d", id), err)
}

// ReleaseDeliveries gives claimed rows back unsent (a worker stopping): they
// are due at once and the attempt is not counted. claims maps each delivery
// to the Attempts of its claim; rows claimed again since are left alone. The
// next claim reuses the released attempt number, so a releaser must not
// record the row afterwards.
func (s *Store) ReleaseDeliveries(ctx context.Context, claims map[int64]int) error {
	if len(claims) == 0 {
		return nil
	}
	err := s.write(ctx, s.db, func(tx *gorm.DB) error {
		now := s.now()
		for id, attempt := range claims {
			if err := tx.Model(&models.Delivery{}).Where("id = ? AND status = ? AND attempts = ?", id, models.DeliverySending, attempt).
				Updates(map[string]any{"status": models.DeliveryQueued, "attempts": gorm.Expr("attempts - 1"),
					"next_attempt_at": now, "updated_at": now}).Error; err != nil {
				return err
			}
		}
		return nil
	})
	return wrap("release deliveries", err)
}
