package store

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"

	"switchboard/models"
)

// eventChannel is the PostgreSQL NOTIFY channel of committed events: its
// payload is the account id. It only wakes readers; the events table is the
// truth they read.
const eventChannel = "switchboard_events"

// EventData is the details of an event, in the model's words; appendEvents
// stores it as a JSON object.
type EventData map[string]any

// newEvent returns an event of type t in the account with the details d (nil
// for none): the ids are set by the caller.
func newEvent(accountID int64, t models.EventType, d EventData) models.Event {
	ev := models.Event{AccountID: accountID, Type: t, Data: "{}"}
	if len(d) > 0 {
		if b, err := json.Marshal(d); err == nil {
			ev.Data = string(b)
		}
	}
	return ev
}

// pendingKey is the context key of the accounts whose events a write has
// appended, to be woken when it commits.
type pendingKey struct{}

// pendingEvents collects the accounts a transaction appended events to.
type pendingEvents struct {
	accounts []int64
}

// withPending returns ctx carrying a fresh collector for one run of a write
// transaction, and the collector.
func withPending(ctx context.Context) (context.Context, *pendingEvents) {
	p := &pendingEvents{}
	return context.WithValue(ctx, pendingKey{}, p), p
}

// appendEvents appends evs to the event log in tx, the transaction of the
// change they record, numbering them in their accounts' sequences; each gets
// the transaction's time when its CreatedAt is zero. Taking the numbers locks
// the account's event_seqs row until tx ends, so an account's events are
// numbered in the order their transactions commit and a reader that has seen
// number n has seen every number below it. On PostgreSQL, once the
// transaction commits, eventChannel is notified (see announce).
func (s *Store) appendEvents(tx *gorm.DB, evs ...models.Event) error {
	return s.appendEventsWith(tx, nil, evs...)
}

// rider is a write statement (an INSERT or UPDATE returning nothing) that
// travels with the statement appending a write's events.
type rider struct {
	sql  string
	args []any
}

// appendEventsWith runs the riders, in order, and then appends evs as
// appendEvents does. On PostgreSQL the riders go into the events' own
// statement, as data-modifying WITH clauses: the write's last statements
// take one round trip instead of one each. Each rider sees the database as
// it was before the statement, so none may read what another writes; their
// foreign keys and triggers are checked at the statement's end. It returns
// the database's error.
func (s *Store) appendEventsWith(tx *gorm.DB, riders []rider, evs ...models.Event) error {
	if len(evs) == 0 || s.backend != Postgres {
		for _, r := range riders {
			if err := execIn(tx, r.sql, r.args...); err != nil {
				return err
			}
		}
		riders = nil
	}
	if len(evs) == 0 {
		return nil
	}
	now := s.now()
	for i := range evs {
		if evs[i].CreatedAt.IsZero() {
			evs[i].CreatedAt = now
		}
		if evs[i].Data == "" {
			evs[i].Data = "{}"
		}
	}
	// Events of one account take one range of numbers, at most
	// maxEventsPerStatement at a time: the account's row stays locked, so
	// the ranges of one write follow each other.
	for start := 0; start < len(evs); {
		acct := evs[start].AccountID
		end := start + 1
		for end < len(evs) && evs[end].AccountID == acct && end-start < maxEventsPerStatement {
			end++
		}
		group := evs[start:end]
		n := int64(len(group))
		var last []int64
		var err error
		if s.backend == Postgres {
			last, err = appendPostgres(tx, acct, group, riders)
			riders = nil
		} else {
			last, err = appendSQLite(tx, acct, group)
		}
		if err != nil {
			return fmt.Errorf("append events: %w", err)
		}
		if len(last) != 1 {
			return fmt.Errorf("number events of account %d: got %d rows", acct, len(last))
		}
		for i := range group {
			group[i].Seq = last[0] - n + int64(i) + 1
		}
		if p, ok := tx.Statement.Context.Value(pendingKey{}).(*pendingEvents); ok {
			p.accounts = append(p.accounts, acct)
		}
		start = end
	}
	return nil
}

// commitEvents is appendEventsWith on PostgreSQL for the events of one
// account, sent through p in one round trip: the riders, each a statement
// of its own, then the events' numbers and rows in one statement, then
// COMMIT. evs must be of one account and at most maxEventsPerStatement. It
// returns the database's error.
func (s *Store) commitEvents(p *pipe, riders []rider, evs []models.Event) error {
	if len(evs) == 0 || len(evs) > maxEventsPerStatement {
		return fmt.Errorf("commit events: %d events", len(evs))
	}
	now := s.now()
	acct := evs[0].AccountID
	for i := range evs {
		if evs[i].AccountID != acct {
			return fmt.Errorf("commit events: accounts %d and %d", acct, evs[i].AccountID)
		}
		if evs[i].CreatedAt.IsZero() {
			evs[i].CreatedAt = now
		}
		if evs[i].Data == "" {
			evs[i].Data = "{}"
		}
	}
	// The riders go first, as statements of their own in the same round
	// trip: their rows, foreign-key checks and triggers are then done
	// before the numbering locks the account's event_seqs row, which every
	// writer of the account waits for until this transaction has committed.
	q, args := appendPostgresQuery(acct, evs, nil)
	var last int64
	if err := p.commit(riders, q, args, func(r pgx.Row) error { return r.Scan(&last) }); err != nil {
		return fmt.Errorf("append events: %w", err)
	}
	n := int64(len(evs))
	for i := range evs {
		evs[i].Seq = last - n + int64(i) + 1
	}
	if pe, ok := p.ctx.Value(pendingKey{}).(*pendingEvents); ok {
		pe.accounts = append(pe.accounts, acct)
	}
	return nil
}

// maxEventsPerStatement bounds the events one statement writes, which keeps
// its parameters (9 an event) well inside both backends' limits.
const maxEventsPerStatement = 500

// numberEvents takes n numbers of the account's sequence and returns the
// last, locking its event_seqs row until the transaction ends.
const numberEvents = `INSERT INTO event_seqs (account_id, seq) VALUES (?, ?)
	ON CONFLICT (account_id) DO UPDATE SET seq = event_seqs.seq + excluded.seq RETURNING seq`

// eventColumns are the columns appendPostgres and appendSQLite write.
const eventColumns = `account_id, seq, type, case_id, contact_id, message_id, agent_id, data, created_at`

// appendPostgres runs the riders and numbers and writes one account's
// events in one statement: one round trip per write. It returns the last
// number taken.
func appendPostgres(tx *gorm.DB, acct int64, evs []models.Event, riders []rider) ([]int64, error) {
	q, args := appendPostgresQuery(acct, evs, riders)
	var last []int64
	err := tx.Raw(q, args...).Scan(&last).Error
	return last, err
}

// appendPostgresQuery returns appendPostgres's statement and its arguments:
// its one row is the last number taken.
func appendPostgresQuery(acct int64, evs []models.Event, riders []rider) (string, []any) {
	n := int64(len(evs))
	var q strings.Builder
	args := make([]any, 0, 4+7*len(evs))
	q.WriteString(`WITH `)
	for i, r := range riders {
		fmt.Fprintf(&q, "r%d AS (%s), ", i, r.sql)
		args = append(args, r.args...)
	}
	q.WriteString(`n AS (` + numberEvents + `), e AS (INSERT INTO events (` + eventColumns + `)
		SELECT ?::bigint, n.seq - ?::bigint + v.k, v.type, v.case_id, v.contact_id, v.message_id, v.agent_id, v.data, v.created_at
		FROM n, (VALUES `)
	args = append(args, acct, n, acct, n)
	for i, ev := range evs {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString(`(?::bigint, ?::text, ?::bigint, ?::bigint, ?::bigint, ?::bigint, ?::text, ?::timestamptz)`)
		args = append(args, i+1, string(ev.Type), ev.CaseID, ev.ContactID, ev.MessageID, ev.AgentID, ev.Data, ev.CreatedAt)
	}
	q.WriteString(`) AS v (k, type, case_id, contact_id, message_id, agent_id, data, created_at))
		SELECT n.seq FROM n`)
	return q.String(), args
}

// appendSQLite numbers and writes one account's events: SQLite takes no
// INSERT in a WITH, so two statements. It returns the last number taken.
func appendSQLite(tx *gorm.DB, acct int64, evs []models.Event) ([]int64, error) {
	n := int64(len(evs))
	seq, err := rowIn(tx, scanID, numberEvents, acct, n)
	if err != nil {
		return nil, err
	}
	last := []int64{seq}
	var q strings.Builder
	args := make([]any, 0, 9*len(evs))
	q.WriteString(`INSERT INTO events (` + eventColumns + `) VALUES `)
	for i, ev := range evs {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString(`(?, ?, ?, ?, ?, ?, ?, ?, ?)`)
		args = append(args, acct, last[0]-n+int64(i)+1, string(ev.Type), ev.CaseID, ev.ContactID, ev.MessageID, ev.AgentID, ev.Data, ev.CreatedAt)
	}
	return last, execIn(tx, q.String(), args...)
}

// EventFilter chooses events of one account to read.
type EventFilter struct {
	// After is the sequence number to read after (0: from the oldest kept).
	After int64
	// Types keeps only these types; empty keeps all.
	Types []models.EventType
	// Limit is the most events returned (default and most 1000).
	Limit int
}

// Events returns the account's events after f.After, in sequence order, at
// most f.Limit of them. It returns an empty slice when there are none.
func (s *Store) Events(ctx context.Context, accountID int64, f EventFilter) ([]models.Event, error) {
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 1000
	}
	q := s.db.WithContext(ctx).Where("account_id = ? AND seq > ?", accountID, f.After)
	if len(f.Types) > 0 {
		q = q.Where("type IN ?", f.Types)
	}
	out := []models.Event{}
	if err := q.Order("seq").Limit(f.Limit).Find(&out).Error; err != nil {
		return nil, wrap("read events", err)
	}
	return out, nil
}

// LastEventSeq returns the sequence number of the account's latest event, 0
// when it has none.
func (s *Store) LastEventSeq(ctx context.Context, accountID int64) (int64, error) {
	var seq []int64
	if err := s.db.WithContext(ctx).Model(&models.EventSeq{}).Where("account_id = ?", accountID).
		Pluck("seq", &seq).Error; err != nil {
		return 0, wrap("read event sequence", err)
	}
	if len(seq) == 0 {
		return 0, nil
	}
	return seq[0], nil
}

// PruneEvents deletes the events created before before, a batch at a time,
// and returns how many it deleted. The sequence numbers go on from where they
// were: a reader past the pruned ones sees no difference.
func (s *Store) PruneEvents(ctx context.Context, before time.Time) (int64, error) {
	var total int64
	for {
		res := s.db.WithContext(ctx).Exec(`DELETE FROM events WHERE id IN (SELECT id FROM events WHERE created_at < ? ORDER BY id LIMIT 5000)`,
			before.UTC())
		if res.Error != nil {
			return total, wrap("prune events", res.Error)
		}
		total += res.RowsAffected
		if res.RowsAffected < 5000 {
			return total, nil
		}
	}
}

// eventHub wakes the readers of accounts' events in this process: the live
// streams and the webhook worker. A wake-up says only "look again"; readers
// read the events table after the last number they saw.
type eventHub struct {
	mu   sync.Mutex
	subs map[*eventSub]struct{}

	// The accounts whose commits are yet to be announced to other
	// processes (NOTIFY), and whether announceLoop runs to announce them.
	amu        sync.Mutex
	unheard    map[int64]struct{}
	announcing bool
}

type eventSub struct {
	account int64 // 0: every account
	ch      chan struct{}
}

// wake tells the readers of account (0: of every account) to look again.
func (h *eventHub) wake(account int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for sub := range h.subs {
		if account == 0 || sub.account == 0 || sub.account == account {
			select {
			case sub.ch <- struct{}{}:
			default: // a wake-up is already pending
			}
		}
	}
}

// announce notifies eventChannel of the accounts of a committed write, for
// the other processes on the database (ListenEvents). A NOTIFY inside the
// write would take PostgreSQL's one lock of all notifying commits and hold
// it through the commit's flush to disk, so that every write of the
// database waited for the one before to reach the disk; announced after the
// commit, one NOTIFY statement stands for every commit made while the one
// before it ran. An account is announced after each of its commits:
// announceLoop runs until it finds nothing left to announce.
func (s *Store) announce(accounts []int64) {
	h := &s.hub
	h.amu.Lock()
	defer h.amu.Unlock()
	if h.unheard == nil {
		h.unheard = map[int64]struct{}{}
	}
	for _, a := range accounts {
		h.unheard[a] = struct{}{}
	}
	if !h.announcing {
		h.announcing = true
		go s.announceLoop()
	}
}

// announceLoop notifies eventChannel of the unheard accounts, a statement
// at a time, until none is left. A NOTIFY that still fails after its
// retries (the store closed, the database gone) is a wake-up lost, as for a
// listener that lost its connection; the events themselves are committed.
func (s *Store) announceLoop() {
	h := &s.hub
	for {
		h.amu.Lock()
		if len(h.unheard) == 0 {
			h.announcing = false
			h.amu.Unlock()
			return
		}
		ids := make([]string, 0, len(h.unheard))
		for a := range h.unheard {
			ids = append(ids, strconv.FormatInt(a, 10))
		}
		clear(h.unheard)
		h.amu.Unlock()
		// A NOTIFY that fails is tried again a few times over about two
		// seconds (a pooled connection broken by a restart answers once with
		// an error), since a replica's streams wait for it.
		for attempt := 0; ; attempt++ {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			err := s.db.WithContext(ctx).Exec(`SELECT pg_notify('`+eventChannel+`', a) FROM unnest(?::text[]) a`,
				"{"+strings.Join(ids, ",")+"}").Error
			cancel()
			if err == nil || attempt == 4 {
				break
			}
			time.Sleep(time.Duration(100<<attempt) * time.Millisecond)
		}
	}
}

// SubscribeEvents returns a channel that receives a value after events of the
// account (0: of any account) commit, through this process or, on
// PostgreSQL while ListenEvents runs, through any process on the database.
// Wake-ups coalesce: one value may stand for many events, so a reader reads
// every event after the last it saw. cancel ends the subscription.
func (s *Store) SubscribeEvents(accountID int64) (wake <-chan struct{}, cancel func()) {
	sub := &eventSub{account: accountID, ch: make(chan struct{}, 1)}
	s.hub.mu.Lock()
	if s.hub.subs == nil {
		s.hub.subs = map[*eventSub]struct{}{}
	}
	s.hub.subs[sub] = struct{}{}
	s.hub.mu.Unlock()
	return sub.ch, func() {
		s.hub.mu.Lock()
		delete(s.hub.subs, sub)
		s.hub.mu.Unlock()
	}
}

// ListenEvents wakes this process's event readers when another process on
// the same PostgreSQL database commits events (LISTEN on eventChannel),
// until ctx is done; it then returns nil. A lost connection is logged and
// made again after a second, and every reader is woken when it is back, in
// case it missed a notification meanwhile. On SQLite, where only this
// process writes, it returns nil at once.
func (s *Store) ListenEvents(ctx context.Context, log *slog.Logger) error {
	return s.listen(ctx, log, listener{
		channel: eventChannel,
		what:    "event listener",
		// Anything committed while there was no connection is read now.
		up: func() { s.hub.wake(0) },
		note: func(n *pgconn.Notification) {
			id, err := strconv.ParseInt(n.Payload, 10, 64)
			if err != nil {
				id = 0
			}
			s.hub.wake(id)
		},
	})
}

// The events of the model's writes. Every write of the store appends its
// events with one appendEvents call at the end of its transaction, so they
// exist if and only if the write commits. The ids of an event are those it
// concerns (0: none): a case event has the case, its contact and its
// assignee after the change; a message event has the message, its case, the
// case's contact and the agent who wrote it. Ids in Data are numbers, or
// null for none. The writes and their events, in order:
//
//	CreateAccount               account.created {name}
//	Bootstrap                   account.created, agent.created, key.created (with a key)
//	UpdateAccount               account.updated {fields: the columns given}
//	CreateAgent                 agent.created {role}
//	UpdateAgent                 agent.updated {fields} ("password", never the hash)
//	CreateAPIKey, RevokeAPIKey  key.created, key.revoked {key_id, name}; none for a
//	                            login's session key or a key revoked already
//	CreateSite                  site.created {site_id, domain}
//	CreateCampaign              campaign.created {site_id, campaign_id, name}
//	CreateVisitorSession        visitor_session.created {site_id, visitor_session_id}, ContactID
//	CreateInbox                 inbox.created {kind, inbox_id}
//	CreateDepartment            department.created {department_id, name}
//	CreateContact               contact.created
//	CreateCase                  case.created {channel, initiator, status}
//	CreateOfflineCase           case.created, message.created
//	AddMessage, AddEmail,       message.created {sender, channel, kind} or note.created
//	AddSMS                      {sender, channel}, then case.status_changed when the
//	                            message opened (new → open) or reopened the case
//	SetCaseStatus               case.status_changed {from, to}, or case.closed
//	                            {from, to, closed_by}; none for the same status
//	AssignCase                  case.assigned {previous_agent_id}; none for the same agent
//	SetCaseDepartment           case.department_changed {department_id,
//	                            previous_department_id}; none for the same department
//	SnoozeCase                  case.snoozed {until (null: unsnoozed)}, then
//	                            case.status_changed when the status moved; none when
//	                            nothing changed
//	DeliverySent, DeliveryFailed  delivery.sent {channel, attempts}, delivery.failed
//	                            {channel, attempts, reason} when it fails for good;
//	                            none for a retry, a claim or a release
//	UploadOfflineMessages,      upload.completed {channel, cases, cases_updated,
//	UploadChats                 messages, contacts, visitor_sessions}: one per upload
//	DeleteUploaded              case.deleted {channel}, one per case, in the order given
//
// Setting (server-wide, no account), RecordLogin, TouchAPIKey, the
// idempotency keys and the delivery claims change nothing a client sees of
// an account's model and append nothing.

// optID returns *id, or nil (JSON null) when id is nil.
func optID(id *int64) any {
	if id == nil {
		return nil
	}
	return *id
}

// caseEvent returns an event of type t about the case c as the write left
// it: its account, id, contact and assignee.
func caseEvent(c models.Case, t models.EventType, d EventData) models.Event {
	ev := newEvent(c.AccountID, t, d)
	ev.CaseID, ev.ContactID = c.ID, c.ContactID
	if c.AssigneeID != nil {
		ev.AgentID = *c.AssigneeID
	}
	return ev
}

// caseCreated returns the case.created event of the new case c.
func caseCreated(c models.Case) models.Event {
	return caseEvent(c, models.EventCaseCreated, EventData{"channel": c.Channel, "initiator": c.Initiator, "status": c.Status})
}

// statusEvents appends to evs the event of c's status going from from to
// to: case.closed (with closedBy, when known) for closing, and
// case.status_changed for any other change. It appends nothing when the
// status stays.
func statusEvents(evs []models.Event, c models.Case, from, to models.CaseStatus, closedBy *int64) []models.Event {
	switch {
	case from == to:
		return evs
	case to == models.StatusClosed:
		d := EventData{"from": from, "to": to}
		if closedBy != nil {
			d["closed_by"] = *closedBy
		}
		return append(evs, caseEvent(c, models.EventCaseClosed, d))
	default:
		return append(evs, caseEvent(c, models.EventCaseStatusChanged, EventData{"from": from, "to": to}))
	}
}

// messageEvent returns the event of the new message m in the case c:
// note.created for a note, message.created for any other kind. channel is
// the channel it came or went by (the case's, or email or sms for those).
func messageEvent(c models.Case, m models.Message, channel string) models.Event {
	t, d := models.EventMessageCreated, EventData{"sender": m.Sender, "channel": channel, "kind": m.Kind}
	if m.Kind == models.KindNote {
		t, d = models.EventNoteCreated, EventData{"sender": m.Sender, "channel": channel}
	}
	ev := newEvent(c.AccountID, t, d)
	ev.CaseID, ev.ContactID, ev.MessageID = c.ID, c.ContactID, m.ID
	if m.AgentID != nil {
		ev.AgentID = *m.AgentID
	}
	return ev
}
