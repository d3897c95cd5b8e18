package store

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"switchboard/models"
)

// The webhook outbox: FanOutWebhookEvents turns the event log into one
// webhook_deliveries row per (subscription, event) it wants, advancing the
// subscription's cursor; ClaimWebhookDeliveries leases the head of each
// subscription's queue (its lowest unsent event) and the run of queued rows
// behind it, so a subscription receives its events in sequence order, one
// sender at a time; the Webhook* record methods end
// an attempt. None of them appends an event: a delivery's outcome is not a
// change of the account's model, and an event per attempt would feed itself.

// WebhookWants reports whether the subscription w is sent the event ev: the
// format has a name for it and the subscription asked for that name (or for
// all). The formats decide this; the store only asks.
type WebhookWants func(w models.Webhook, ev models.Event) bool

// fanOutWebhooks is the most subscriptions one FanOutWebhookEvents call
// handles; fanOutEvents the most events it reads for each.
const (
	fanOutWebhooks = 100
	fanOutEvents   = 500
)

// FanOutWebhookEvents queues, for every active subscription behind its
// account's event sequence, the events after its cursor that wants accepts
// (at most 500 a subscription per call), and moves the cursor past every
// event it read, wanted or not. Concurrent callers skip each other's
// subscriptions on PostgreSQL (FOR UPDATE SKIP LOCKED); a row queued twice
// is kept once (the unique (webhook_id, event_seq)). It returns how many
// deliveries it queued.
func (s *Store) FanOutWebhookEvents(ctx context.Context, wants WebhookWants) (int, error) {
	// Most calls find nothing to do: a read says so without a write
	// transaction (which on SQLite would queue behind the writers).
	var behind []int64
	if err := s.db.WithContext(ctx).Raw(`SELECT w.id FROM webhooks w JOIN event_seqs e ON e.account_id = w.account_id
		WHERE w.status = ? AND w.cursor < e.seq LIMIT 1`, models.WebhookActive).Scan(&behind).Error; err != nil {
		return 0, wrap("fan out webhook events", err)
	}
	if len(behind) == 0 {
		return 0, nil
	}
	queued := 0
	err := s.write(ctx, s.db, func(tx *gorm.DB) error {
		queued = 0 // a transaction run again counts afresh
		q := tx.Model(&models.Webhook{}).Select("webhooks.*").
			Joins("JOIN event_seqs ON event_seqs.account_id = webhooks.account_id").
			Where("webhooks.status = ? AND webhooks.cursor < event_seqs.seq", models.WebhookActive).
			Order("webhooks.id").Limit(fanOutWebhooks)
		if s.backend == Postgres {
			q = q.Clauses(clause.Locking{Strength: "UPDATE", Table: clause.Table{Name: "webhooks"}, Options: "SKIP LOCKED"})
		}
		var hooks []models.Webhook
		if err := q.Find(&hooks).Error; err != nil {
			return err
		}
		now := s.now()
		// Subscriptions of one account at one cursor (an account's hooks
		// usually keep step) read their events once; their deliveries go
		// in one INSERT and their cursors move in one UPDATE.
		type from struct{ account, cursor int64 }
		read := map[from][]models.Event{}
		var rows []models.WebhookDelivery
		moved := map[int64]int64{}
		for _, w := range hooks {
			key := from{w.AccountID, w.Cursor}
			evs, ok := read[key]
			if !ok {
				if err := tx.Where("account_id = ? AND seq > ?", w.AccountID, w.Cursor).Order("seq").
					Limit(fanOutEvents).Find(&evs).Error; err != nil {
					return err
				}
				read[key] = evs
			}
			if len(evs) == 0 {
				// Pruned past the cursor: nothing left to read before the
				// sequence's end.
				if err := tx.Exec(`UPDATE webhooks SET cursor = (SELECT seq FROM event_seqs WHERE account_id = ?) WHERE id = ?`,
					w.AccountID, w.ID).Error; err != nil {
					return err
				}
				continue
			}
			for _, ev := range evs {
				if !typeWanted(w.Types, ev.Type) || wants != nil && !wants(w, ev) {
					continue
				}
				rows = append(rows, models.WebhookDelivery{
					AccountID: w.AccountID, WebhookID: w.ID, EventID: ev.ID, EventSeq: ev.Seq,
					Status: models.DeliveryQueued, NextAttemptAt: now, Reference: webhookReference(),
					CreatedAt: now, UpdatedAt: now,
				})
			}
			moved[w.ID] = evs[len(evs)-1].Seq
		}
		if len(rows) > 0 {
			n, err := s.queueDeliveries(tx, rows, now)
			if err != nil {
				return err
			}
			queued = int(n)
		}
		if len(moved) > 0 {
			var q strings.Builder
			args := make([]any, 0, 2*len(moved)+1)
			ids := make([]int64, 0, len(moved))
			q.WriteString("UPDATE webhooks SET cursor = CASE id")
			for id, seq := range moved {
				q.WriteString(" WHEN ? THEN CAST(? AS BIGINT)")
				args = append(args, id, seq)
				ids = append(ids, id)
			}
			q.WriteString(" END WHERE id IN ?")
			if err := tx.Exec(q.String(), append(args, ids)...).Error; err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, wrap("fan out webhook events", err)
	}
	return queued, nil
}

// queueDeliveries writes rows, queued deliveries due at now, and returns
// how many it wrote: a row whose (subscription, event) is queued already is
// kept as it is. On PostgreSQL the rows go as five array literals of one
// statement whose text does not change with their number, so that each
// connection parses and plans it once; as rows of VALUES (up to 2,800
// parameters), each number of rows was a statement of its own, and GORM's
// building of it cost serve more than the fan-out's other work.
func (s *Store) queueDeliveries(tx *gorm.DB, rows []models.WebhookDelivery, now time.Time) (int64, error) {
	if s.backend != Postgres {
		res := tx.Clauses(clause.OnConflict{DoNothing: true}).CreateInBatches(&rows, 200)
		return res.RowsAffected, res.Error
	}
	var accounts, hooks, events, seqs, refs []byte
	for i, d := range rows {
		sep := byte(',')
		if i == 0 {
			sep = '{'
		}
		accounts = strconv.AppendInt(append(accounts, sep), d.AccountID, 10)
		hooks = strconv.AppendInt(append(hooks, sep), d.WebhookID, 10)
		events = strconv.AppendInt(append(events, sep), d.EventID, 10)
		seqs = strconv.AppendInt(append(seqs, sep), d.EventSeq, 10)
		refs = append(append(refs, sep), d.Reference...) // hex digits and dashes: nothing to quote
	}
	end := func(b []byte) string { return string(append(b, '}')) }
	res := tx.Exec(`INSERT INTO webhook_deliveries (account_id, webhook_id, event_id, event_seq, status, attempts,
			next_attempt_at, last_error, response_status, reference, created_at, updated_at)
		SELECT d.account_id, d.webhook_id, d.event_id, d.event_seq, ?, 0, ?, '', 0, d.reference, ?, ?
		FROM unnest(?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[], ?::text[])
			AS d (account_id, webhook_id, event_id, event_seq, reference)
		ON CONFLICT DO NOTHING`, models.DeliveryQueued, now, now, now,
		end(accounts), end(hooks), end(events), end(seqs), end(refs))
	return res.RowsAffected, res.Error
}

// typeWanted reports whether a subscription's Types (",a,b,", "" for all)
// holds t.
func typeWanted(types string, t models.EventType) bool {
	return types == "" || strings.Contains(types, ","+string(t)+",")
}

// webhookReference returns a new delivery's id on the wire, the same on
// every attempt: a random (version 4) UUID.
func webhookReference() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// WebhookOutgoing is a claimed webhook delivery with what rendering it
// needs: its subscription, its event and the entities the event names, as
// they are when claimed (nil: none, or gone since).
type WebhookOutgoing struct {
	Delivery models.WebhookDelivery
	Webhook  models.Webhook
	Event    models.Event
	Case     *CaseView
	Message  *MessageView
	Contact  *models.Contact
}

// stillStatus is a delivery's status where a statement that finds its
// rows by id only checks that they are still as claimed: concatenated with
// the empty string, it keeps idx_webhook_deliveries_due out of the plan.
// Without that, a planner whose statistics lag behind the outbox (which
// grows by a row a subscription an event) joined the ids to every queued
// row's entry in that index: make bench caught the outcome writes reading
// 41,000 entries to update 50.
const stillStatus = "status || ''"

// pendingDeliveries are the statuses of a queue's unsent rows, the ones
// idx_webhook_deliveries_pending holds.
var pendingDeliveries = []models.DeliveryStatus{models.DeliveryQueued, models.DeliverySending}

// pendingDelivery is the condition of idx_webhook_deliveries_pending, as
// literals: a planner can use a partial index only where it sees that a
// statement's condition implies the index's, which bound parameters do not
// show it once a kept statement's plan is generic.
const pendingDelivery = "status IN ('queued', 'sending')"

// claimHeads selects the head of every active subscription's queue that is
// due (queued and due, or leased and the lease run out), soonest due first:
// one probe of idx_webhook_deliveries_pending per subscription, whatever
// the number of sent rows.
const claimHeads = `SELECT d.id FROM webhooks w
	JOIN LATERAL (SELECT h.id, h.next_attempt_at FROM webhook_deliveries h
		WHERE h.webhook_id = w.id AND h.status IN ('queued', 'sending') ORDER BY h.event_seq LIMIT 1) d ON true
	WHERE w.status = 'active' AND d.next_attempt_at <= ?
	ORDER BY d.next_attempt_at, d.id LIMIT ?`

// claimHeadsSQLite is claimHeads for SQLite, which has no LATERAL: a
// correlated MIN that the same partial index answers.
const claimHeadsSQLite = `SELECT d.id FROM webhooks w
	JOIN webhook_deliveries d ON d.webhook_id = w.id AND d.status IN ('queued', 'sending')
		AND d.event_seq = (SELECT MIN(h.event_seq) FROM webhook_deliveries h
			WHERE h.webhook_id = w.id AND h.status IN ('queued', 'sending'))
	WHERE w.status = 'active' AND d.next_attempt_at <= ?
	ORDER BY d.next_attempt_at, d.id LIMIT ?`

// ClaimWebhookDeliveries leases up to n due deliveries for lease, counting
// an attempt on each and stamping LastAttemptAt. It takes the head of each
// due subscription's queue (its lowest unsent event), and behind each head,
// while n allows, the queued rows that follow it in sequence order: a run
// that one sender posts one after another. Only a head is ever claimed on
// its own, so a subscription's next event waits until its head is sent or
// failed for good, which keeps each subscription in sequence order; a
// sender that fails a head gives the rest of its run back
// (ReleaseWebhookDeliveries), and they wait behind it. The result holds
// each subscription's rows together, in sequence order. On PostgreSQL
// concurrent claimers skip each other's heads (a head being claimed
// elsewhere is skipped, never passed over for the next one), and the rows
// behind a head are claimed only through it; SQLite runs one transaction at
// a time. It returns an empty slice when nothing is due.
func (s *Store) ClaimWebhookDeliveries(ctx context.Context, n int, lease time.Duration) ([]WebhookOutgoing, error) {
	out := []WebhookOutgoing{}
	if n <= 0 {
		return out, nil
	}
	heads := claimHeads
	if s.backend != Postgres {
		heads = claimHeadsSQLite
	}
	// Most calls find nothing due: a read says so without a write
	// transaction.
	var due []int64
	if err := s.db.WithContext(ctx).Raw(heads, s.now(), 1).Scan(&due).Error; err != nil {
		return nil, wrap("claim webhook deliveries", err)
	}
	if len(due) == 0 {
		return out, nil
	}
	err := s.write(ctx, s.db, func(tx *gorm.DB) error {
		out = out[:0] // a transaction run again claims afresh
		now := s.now()
		var ids []int64
		if err := tx.Raw(heads, now, n).Scan(&ids).Error; err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil
		}
		// Lock the candidates and check them again: a row another claimer
		// took (or finished) since is skipped, not replaced by the next in
		// its queue.
		q := tx.Where("id IN ? AND "+stillStatus+" IN ? AND next_attempt_at <= ?", ids, pendingDeliveries, now).Order("next_attempt_at, id")
		if s.backend == Postgres {
			q = q.Clauses(clause.Locking{Strength: "UPDATE", Options: "SKIP LOCKED"})
		}
		var hs []models.WebhookDelivery
		if err := q.Find(&hs).Error; err != nil {
			return err
		}
		ds, err := s.webhookRuns(tx, hs, n, now)
		if err != nil {
			return err
		}
		if len(ds) == 0 {
			return nil
		}
		ids = ids[:0]
		for _, d := range ds {
			ids = append(ids, d.ID)
		}
		until := now.Add(lease)
		if err := tx.Model(&models.WebhookDelivery{}).Where("id IN ?", ids).Updates(map[string]any{
			"status": models.DeliverySending, "attempts": gorm.Expr("attempts + 1"), "next_attempt_at": until,
			"last_attempt_at": now, "updated_at": now,
		}).Error; err != nil {
			return err
		}
		for i := range ds {
			d := &ds[i]
			d.Status, d.Attempts, d.NextAttemptAt, d.UpdatedAt = models.DeliverySending, d.Attempts+1, until, now
			at := now
			d.LastAttemptAt = &at
		}
		out, err = s.webhookOutgoings(tx, ds)
		return err
	})
	if err != nil {
		return nil, wrap("claim webhook deliveries", err)
	}
	return out, nil
}

// webhookRuns returns the locked heads hs, each followed by the rows behind
// it in its queue that are queued and due, in sequence order, up to n rows
// in all; a run ends at the first row that is not (one held by a claim, or
// queued for later). Heads keep their order; a run is cut, never a head
// dropped, before later heads have had their turn.
func (s *Store) webhookRuns(tx *gorm.DB, hs []models.WebhookDelivery, n int, now time.Time) ([]models.WebhookDelivery, error) {
	if len(hs) > n {
		hs = hs[:n]
	}
	room := n - len(hs)
	var out []models.WebhookDelivery
	for _, h := range hs {
		out = append(out, h)
		if room == 0 {
			continue
		}
		// The head is locked by this transaction and rows behind a head
		// are claimed only through it, so no other claimer takes these.
		var next []models.WebhookDelivery
		if err := tx.Where("webhook_id = ? AND "+pendingDelivery+" AND event_seq > ?", h.WebhookID, h.EventSeq).
			Order("event_seq").Limit(room).Find(&next).Error; err != nil {
			return nil, err
		}
		for _, d := range next {
			if d.Status != models.DeliveryQueued || d.NextAttemptAt.After(now) {
				break
			}
			out = append(out, d)
			room--
		}
	}
	return out, nil
}

// webhookOutgoings reads what rendering the deliveries ds needs: their
// subscriptions, their events and the cases, messages and contacts the
// events name, where they still exist. Each kind is read once for the whole
// claim, not once a delivery: the subscriptions of an account are sent the
// same events, so a claim's deliveries share most of what they name.
func (s *Store) webhookOutgoings(tx *gorm.DB, ds []models.WebhookDelivery) ([]WebhookOutgoing, error) {
	out := make([]WebhookOutgoing, len(ds))
	hookIDs := map[int64]bool{}
	eventIDs := map[int64]bool{}
	for _, d := range ds {
		hookIDs[d.WebhookID], eventIDs[d.EventID] = true, true
	}
	var hs []models.Webhook
	if err := tx.Where("id IN ?", keys(hookIDs)).Find(&hs).Error; err != nil {
		return nil, err
	}
	hooks := make(map[int64]models.Webhook, len(hs))
	for _, w := range hs {
		hooks[w.ID] = w
	}
	var evs []models.Event
	if err := tx.Where("id IN ?", keys(eventIDs)).Find(&evs).Error; err != nil {
		return nil, err
	}
	events := make(map[int64]models.Event, len(evs))
	for _, ev := range evs {
		events[ev.ID] = ev
	}
	// What the events name, by account: every read below is an account's.
	type named struct{ cases, messages, contacts map[int64]bool }
	byAccount := map[int64]*named{}
	for _, ev := range evs {
		n := byAccount[ev.AccountID]
		if n == nil {
			n = &named{cases: map[int64]bool{}, messages: map[int64]bool{}, contacts: map[int64]bool{}}
			byAccount[ev.AccountID] = n
		}
		if ev.CaseID != 0 {
			n.cases[ev.CaseID] = true
		}
		if ev.MessageID != 0 {
			n.messages[ev.MessageID] = true
		}
		if ev.ContactID != 0 {
			n.contacts[ev.ContactID] = true
		}
	}
	type ref struct{ account, id int64 }
	cases := map[ref]*CaseView{}
	messages := map[ref]*MessageView{}
	contacts := map[ref]*models.Contact{}
	for account, n := range byAccount {
		if len(n.cases) > 0 {
			cs, err := scanAll(tx.Raw(`SELECT `+caseFields+` FROM cases WHERE `+inAccountByIDs, account, keys(n.cases)), scanCase)
			if err != nil {
				return nil, err
			}
			views, err := s.caseViews(tx, account, cs)
			if err != nil {
				return nil, err
			}
			for i := range views {
				v := &views[i]
				cases[ref{account, v.ID}] = v
				c := v.Contact
				contacts[ref{account, c.ID}] = &c
			}
		}
		if len(n.messages) > 0 {
			var msgs []models.Message
			if err := tx.Where(inAccountByIDs, account, keys(n.messages)).Find(&msgs).Error; err != nil {
				return nil, err
			}
			views, err := withAuthors(tx, account, msgs)
			if err != nil {
				return nil, err
			}
			for i := range views {
				messages[ref{account, views[i].ID}] = &views[i]
			}
		}
		var rest []int64
		for id := range n.contacts {
			if contacts[ref{account, id}] == nil {
				rest = append(rest, id)
			}
		}
		if len(rest) > 0 {
			var cs []models.Contact
			if err := tx.Where(inAccountByIDs, account, rest).Find(&cs).Error; err != nil {
				return nil, err
			}
			for i := range cs {
				contacts[ref{account, cs[i].ID}] = &cs[i]
			}
		}
	}
	for i, d := range ds {
		o := WebhookOutgoing{Delivery: d}
		w, ok := hooks[d.WebhookID]
		if !ok {
			return nil, fmt.Errorf("webhook %d: %w", d.WebhookID, gorm.ErrRecordNotFound)
		}
		o.Webhook = w
		ev, ok := events[d.EventID]
		if !ok {
			// Pruned before it was sent (the subscription was down for
			// longer than events are kept): what the row knows is all there
			// is.
			ev = models.Event{ID: d.EventID, AccountID: d.AccountID, Seq: d.EventSeq, Data: "{}", CreatedAt: d.CreatedAt}
		}
		ev.CreatedAt = ev.CreatedAt.UTC()
		o.Event = ev
		// Each delivery gets copies: a renderer may change what it is given.
		if v := cases[ref{ev.AccountID, ev.CaseID}]; ev.CaseID != 0 && v != nil {
			c := *v
			o.Case = &c
		}
		if m := messages[ref{ev.AccountID, ev.MessageID}]; ev.MessageID != 0 && m != nil {
			c := *m
			o.Message = &c
		}
		if ct := contacts[ref{ev.AccountID, ev.ContactID}]; ev.ContactID != 0 && ct != nil {
			c := *ct
			o.Contact = &c
		}
		out[i] = o
	}
	return out, nil
}

// WebhookDeliverySent records that the receiver took a claimed delivery
// with the HTTP status status (its time is the claim's LastAttemptAt). attempt is the Delivery.Attempts of the
// claim: if the lease ran out and another claim took the row, it returns
// ErrConflict and changes nothing.
func (s *Store) WebhookDeliverySent(ctx context.Context, id int64, attempt, status int) error {
	return s.recordWebhookDelivery(ctx, WebhookOutcome{ID: id, Attempt: attempt, Sent: true, ResponseStatus: status})
}

// WebhookDeliveryFailed records a failed attempt of a claimed delivery: the
// receiver's status (0: no answer) and reason, cut to models.MaxReasonLen.
// With retryAt the row is queued again for then; without, it fails for good
// and the subscription's next event becomes its head. ErrConflict as
// WebhookDeliverySent.
func (s *Store) WebhookDeliveryFailed(ctx context.Context, id int64, attempt, status int, reason string, retryAt *time.Time) error {
	return s.recordWebhookDelivery(ctx, WebhookOutcome{ID: id, Attempt: attempt, ResponseStatus: status, Reason: reason, RetryAt: retryAt})
}

// WebhookGone records that the receiver answered a claimed delivery with
// status (410 Gone): the delivery fails and its subscription is disabled
// with reason, in one transaction, appending webhook.disabled. ErrConflict
// as WebhookDeliverySent.
func (s *Store) WebhookGone(ctx context.Context, id int64, attempt, status int, reason string) error {
	return s.recordWebhookDelivery(ctx, WebhookOutcome{ID: id, Attempt: attempt, Gone: true, ResponseStatus: status, Reason: reason})
}

// disableGone disables d's subscription with reason, appending
// webhook.disabled, unless it is disabled already.
func (s *Store) disableGone(tx *gorm.DB, d models.WebhookDelivery, reason string) error {
	var w models.Webhook
	if err := tx.Take(&w, "id = ?", d.WebhookID).Error; err != nil {
		return err
	}
	if w.Status == models.WebhookDisabled {
		return nil
	}
	if err := tx.Model(&models.Webhook{}).Where("id = ?", w.ID).Updates(map[string]any{
		"status": models.WebhookDisabled, "disabled_reason": reason, "updated_at": s.now(),
	}).Error; err != nil {
		return err
	}
	return s.appendEvents(tx, newEvent(w.AccountID, models.EventWebhookDisabled, EventData{"webhook_id": w.ID, "reason": reason}))
}

// WebhookOutcome is how one claimed attempt of a delivery ended.
type WebhookOutcome struct {
	ID      int64
	Attempt int // the Delivery.Attempts of the claim
	Sent    bool
	// Gone is a 410: the delivery fails and its subscription is disabled.
	Gone           bool
	ResponseStatus int    // the receiver's status; 0: no answer
	Reason         string // why it was not sent
	// RetryAt queues a failed delivery again for then; nil fails it for
	// good.
	RetryAt *time.Time
}

// RecordWebhookOutcomes records the outcomes of a sender's run in one
// transaction, each as WebhookDeliverySent, WebhookDeliveryFailed or
// WebhookGone would. An outcome whose row is no longer held by its claim
// (the lease ran out and another claim took it) changes nothing; it returns
// how many were so skipped.
func (s *Store) RecordWebhookOutcomes(ctx context.Context, outs []WebhookOutcome) (int, error) {
	skipped := 0
	// The common outcome, sent, is written in one statement per receiver
	// status for the whole run, not one a delivery.
	sent := map[int][][]any{}
	var rest []WebhookOutcome
	for _, o := range outs {
		if o.Sent && !o.Gone {
			sent[o.ResponseStatus] = append(sent[o.ResponseStatus], []any{o.ID, o.Attempt})
			continue
		}
		rest = append(rest, o)
	}
	err := s.write(ctx, s.db, func(tx *gorm.DB) error {
		skipped = 0
		now := s.now()
		for status, claims := range sent {
			for _, part := range chunks(claims) {
				// The rows are found by id; the status only checks them
				// (see stillStatus).
				res := tx.Exec(`UPDATE webhook_deliveries SET status = ?, response_status = ?, last_error = '', updated_at = ?
					WHERE (id, attempts) IN ? AND `+stillStatus+` = ?`, models.DeliverySent, status, now, part, models.DeliverySending)
				if res.Error != nil {
					return res.Error
				}
				skipped += len(part) - int(res.RowsAffected)
			}
		}
		for _, o := range rest {
			cols, then := s.outcomeWrite(o)
			err := s.recordOutcome(tx, o.ID, o.Attempt, cols, then)
			switch {
			case errors.Is(err, ErrConflict):
				skipped++
			case err != nil:
				return err
			}
		}
		return nil
	})
	return skipped, wrap("record webhook outcomes", err)
}

// outcomeWrite returns the columns that record o and what else its
// transaction does (nil: nothing).
func (s *Store) outcomeWrite(o WebhookOutcome) (map[string]any, func(tx *gorm.DB, d models.WebhookDelivery) error) {
	switch {
	case o.Sent:
		return map[string]any{"status": models.DeliverySent, "response_status": o.ResponseStatus, "last_error": ""}, nil
	case o.Gone:
		reason := cleanReason(o.Reason)
		return map[string]any{"status": models.DeliveryFailed, "response_status": o.ResponseStatus, "last_error": reason},
			func(tx *gorm.DB, d models.WebhookDelivery) error { return s.disableGone(tx, d, reason) }
	}
	cols := map[string]any{"status": models.DeliveryFailed, "response_status": o.ResponseStatus, "last_error": cleanReason(o.Reason)}
	if o.RetryAt != nil {
		cols["status"], cols["next_attempt_at"] = models.DeliveryQueued, o.RetryAt.UTC().Truncate(time.Microsecond)
	}
	return cols, nil
}

// cleanReason returns reason as a row keeps it: valid UTF-8 without NULs,
// cut to models.MaxReasonLen.
func cleanReason(reason string) string {
	return models.Truncate(strings.ToValidUTF8(strings.ReplaceAll(reason, "\x00", ""), "?"), models.MaxReasonLen)
}

// recordWebhookDelivery records o in a transaction of its own.
func (s *Store) recordWebhookDelivery(ctx context.Context, o WebhookOutcome) error {
	cols, then := s.outcomeWrite(o)
	err := s.write(ctx, s.db, func(tx *gorm.DB) error { return s.recordOutcome(tx, o.ID, o.Attempt, cols, then) })
	return wrap(fmt.Sprintf("record webhook delivery %d", o.ID), err)
}

// recordOutcome sets the columns of a delivery still held by the claim of
// attempt and then runs then (if any) in tx. It returns ErrConflict when
// the row is no longer held by that claim.
func (s *Store) recordOutcome(tx *gorm.DB, id int64, attempt int, cols map[string]any,
	then func(tx *gorm.DB, d models.WebhookDelivery) error) error {
	cols["updated_at"] = s.now()
	var d models.WebhookDelivery
	res := tx.Model(&d).Clauses(clause.Returning{Columns: []clause.Column{{Name: "webhook_id"}}}).
		Where("id = ? AND status = ? AND attempts = ?", id, models.DeliverySending, attempt).Updates(cols)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("webhook delivery %d is no longer held by attempt %d: %w", id, attempt, ErrConflict)
	}
	if then == nil {
		return nil
	}
	return then(tx, d)
}

// ReleaseWebhookDeliveries gives claimed rows back unsent (a worker
// stopping): they are due at once and the attempt is not counted. claims
// maps each delivery to the Attempts of its claim; rows claimed again since
// are left alone.
func (s *Store) ReleaseWebhookDeliveries(ctx context.Context, claims map[int64]int) error {
	if len(claims) == 0 {
		return nil
	}
	ids := make([]int64, 0, len(claims))
	for id := range claims {
		ids = append(ids, id)
	}
	slices.Sort(ids) // one lock order for every releaser
	err := s.write(ctx, s.db, func(tx *gorm.DB) error {
		now := s.now()
		for _, id := range ids {
			if err := tx.Model(&models.WebhookDelivery{}).
				Where("id = ? AND status = ? AND attempts = ?", id, models.DeliverySending, claims[id]).
				Updates(map[string]any{"status": models.DeliveryQueued, "attempts": gorm.Expr("attempts - 1"),
					"next_attempt_at": now, "updated_at": now}).Error; err != nil {
				return err
			}
		}
		return nil
	})
	return wrap("release webhook deliveries", err)
}

// pruneDeliveriesBatch is how many ids one statement of
// PruneWebhookDeliveries covers.
const pruneDeliveriesBatch = 5000

// PruneWebhookDeliveries deletes the webhook deliveries queued before
// before that have ended (sent, or failed for good) or belong to a disabled
// subscription (which is never sent again), and returns how many it
// deleted. An active subscription's queued and leased ones are kept however
// old they are: they are still owed. Without it the outbox would keep a row
// for every subscription and event for ever.
func (s *Store) PruneWebhookDeliveries(ctx context.Context, before time.Time) (int64, error) {
	return s.pruneWebhookDeliveries(ctx, before, pruneDeliveriesBatch)
}

// pruneWebhookDeliveries is PruneWebhookDeliveries a range of batch ids at
// a time. Ids grow with the time a row was queued, so the rows to delete
// lie below the first one queued at or after before: each statement deletes
// within one range of the primary key, and none scans the table (it has no
// index on created_at, which every fan-out would pay for).
func (s *Store) pruneWebhookDeliveries(ctx context.Context, before time.Time, batch int64) (int64, error) {
	db := s.db.WithContext(ctx)
	before = before.UTC()
	// The rows a prune may delete: the first of them, not the table's
	// first, which may be a row still owed from long ago.
	done := `(status IN ('sent', 'failed') OR webhook_id IN (SELECT id FROM webhooks WHERE status = 'disabled'))`
	var first, end []int64
	if err := db.Raw(`SELECT id FROM webhook_deliveries WHERE ` + done + ` ORDER BY id LIMIT 1`).Scan(&first).Error; err != nil {
		return 0, wrap("prune webhook deliveries", err)
	}
	if len(first) == 0 {
		return 0, nil
	}
	if err := db.Raw(`SELECT id FROM webhook_deliveries WHERE created_at >= ? ORDER BY id LIMIT 1`, before).
		Scan(&end).Error; err != nil {
		return 0, wrap("prune webhook deliveries", err)
	}
	if len(end) == 0 {
		if err := db.Raw(`SELECT id + 1 FROM webhook_deliveries ORDER BY id DESC LIMIT 1`).Scan(&end).Error; err != nil {
			return 0, wrap("prune webhook deliveries", err)
		}
		if len(end) == 0 { // emptied since the first read
			return 0, nil
		}
	}
	var total int64
	for lo := first[0]; lo < end[0]; lo += batch {
		// created_at is checked too: two fan-outs at once can number
		// their rows in the other order from their clocks.
		res := db.Exec(`DELETE FROM webhook_deliveries WHERE id >= ? AND id < ? AND created_at < ? AND `+done,
			lo, min(lo+batch, end[0]), before)
		if res.Error != nil {
			return total, wrap("prune webhook deliveries", res.Error)
		}
		total += res.RowsAffected
	}
	return total, nil
}
