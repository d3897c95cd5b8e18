package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"gorm.io/gorm"

	"switchboard/models"
)

// MessageQuery selects a page of one case's messages.
type MessageQuery struct {
	Offset int
	// Limit is 1 to MaxLimit messages.
	Limit int
	// Oldest puts the oldest message first; by default the newest is.
	Oldest bool
}

// ListMessages returns the page of a case's messages that q selects, each
// with its agent, and the number of messages in the case (counted over the
// case's index: bounded by the case). The page is read from the nearer end
// (see readPage). It returns ErrNotFound when the case is not the account's
// and FieldErrors for a bad offset or limit.
func (s *Store) ListMessages(ctx context.Context, accountID, caseID int64, q MessageQuery) ([]MessageView, int64, error) {
	var fe FieldErrors
	checkPage(&fe, q.Offset, q.Limit)
	if err := fe.Err(); err != nil {
		return nil, 0, err
	}
	var out []MessageView
	var total int64
	err := s.readTx(ctx, func(tx *gorm.DB) error {
		var n int64
		if err := tx.Model(&models.Case{}).Where("account_id = ? AND id = ?", accountID, caseID).Count(&n).Error; err != nil {
			return err
		}
		if n == 0 {
			return notFound("case", caseID)
		}
		// The case is the account's, so its messages are: without an
		// account_id test the count and the page come from idx_messages_case
		// alone, and the count is bounded by the one case.
		if err := tx.Model(&models.Message{}).Where("case_id = ?", caseID).Count(&total).Error; err != nil {
			return err
		}
		order := sortOrder{col: column{expr: "created_at", kind: kindTime}, id: "id", asc: q.Oldest}
		var msgs []models.Message
		if err := readPage(tx.Where("case_id = ?", caseID), order, total, int64(q.Offset), q.Limit, &msgs); err != nil {
			return err
		}
		var err error
		out, err = withAuthors(tx, accountID, msgs)
		return err
	})
	if err != nil {
		return nil, 0, wrap(fmt.Sprintf("messages of case %d", caseID), err)
	}
	return out, total, nil
}

// withAuthors pairs each message with its agent, reading the agents at once.
func withAuthors(tx *gorm.DB, accountID int64, msgs []models.Message) ([]MessageView, error) {
	out := make([]MessageView, len(msgs))
	var ids []int64
	for _, m := range msgs {
		if m.AgentID != nil {
			ids = append(ids, *m.AgentID)
		}
	}
	agents := map[int64]models.Agent{}
	if len(ids) > 0 {
		var rows []models.Agent
		if err := tx.Where("account_id = ? AND id IN ?", accountID, ids).Find(&rows).Error; err != nil {
			return nil, err
		}
		for _, a := range rows {
			agents[a.ID] = a
		}
	}
	for i, m := range msgs {
		m.CreatedAt, m.UpdatedAt = m.CreatedAt.UTC(), m.UpdatedAt.UTC()
		out[i] = MessageView{Message: m}
		if m.AgentID != nil {
			if a, ok := agents[*m.AgentID]; ok {
				out[i].Agent = &a
			}
		}
	}
	return out, nil
}

// NewMessage is the input of AddMessage.
type NewMessage struct {
	Sender models.Sender
	// AgentID is the author when Sender is SenderAgent; it must be the account's.
	AgentID *int64
	Kind    models.Kind
	Text    string
	// Markdown is the text with its mark-up, when the client sent one.
	Markdown string
	// Lang is the language to translate the message to, if any.
	Lang string
	// At is when it was written; zero means now.
	At time.Time
	// Reopen lets a message into a closed case and reopens it, as HelpCrunch
	// does; without it a closed case refuses the message, as Acquire does.
	Reopen bool
	// WithCase asks for the case as the write left it (MessageView.Case).
	WithCase bool
}

// MessageView is a message with its author when an agent wrote it.
type MessageView struct {
	models.Message
	Agent *models.Agent
	// Case is the case after the write, read in the write's transaction, when
	// the input asked for it (WithCase); nil otherwise.
	Case *CaseView
}

// AddMessage adds a message to a case in one transaction, holding the case
// row so that concurrent writers see one another. An agent's message opens a
// new case. It returns the message with its author (and with in.WithCase the
// case as the write left it), ErrNotFound for a case (or
// agent) that is not the account's, ErrCaseNotActive for a closed case (unless
// in.Reopen) and FieldErrors for bad input.
func (s *Store) AddMessage(ctx context.Context, accountID, caseID int64, in NewMessage) (MessageView, error) {
	var fe FieldErrors
	if !in.Sender.Valid() {
		fe.Add("sender", "%q is not one of agent, contact, system", in.Sender)
	}
	if !in.Kind.Valid() {
		fe.Add("kind", "%q is not one of message, note, event", in.Kind)
	}
	if strings.TrimSpace(in.Text) == "" {
		fe.Add("text", "must not be empty")
	}
	if in.Sender == models.SenderAgent && in.AgentID == nil {
		fe.Add("agent", MsgAgentNeeded)
	}
	if in.Sender != models.SenderAgent && in.AgentID != nil {
		fe.Add("agent", MsgAgentOnly)
	}
	checkBlock(&fe, "text", in.Text, models.MaxTextLen)
	checkBlock(&fe, "markdown", in.Markdown, models.MaxTextLen)
	checkLine(&fe, "lang", in.Lang, models.MaxLangLen)
	if err := fe.Err(); err != nil {
		return MessageView{}, err
	}
	if s.backend == Postgres {
		return s.addMessagePiped(ctx, accountID, caseID, in)
	}
	var v MessageView
	err := s.write(ctx, s.db, func(tx *gorm.DB) error {
		l, err := lockCaseForMessage(tx, s.backend, accountID, caseID, in.AgentID, true)
		if err != nil {
			return err
		}
		var w messageWrite
		if v, w, err = s.planMessage(l, accountID, caseID, in); err != nil {
			return err
		}
		// As on PostgreSQL, the case's view is the locked case's, read
		// before the write and with the write applied: reading the case
		// again after it cost one more statement to parse and scan.
		var views []CaseView
		if in.WithCase {
			if views, err = s.caseViews(tx, accountID, []models.Case{l.Case}); err != nil {
				return err
			}
		}
		if v.Message.ID == 0 {
			if err := insertMessage(tx, &v.Message); err != nil {
				return err
			}
			w = s.messageWrites(l.Case, v.Message, in)
		}
		if err := s.appendEventsWith(tx, w.riders, w.events...); err != nil {
			return err
		}
		if in.WithCase {
			v.Case = caseAfterMessage(views[0], w, v)
		}
		return nil
	})
	return v, wrap(fmt.Sprintf("add message to case %d", caseID), err)
}

// addMessagePiped is AddMessage on PostgreSQL, in two round trips: BEGIN
// with the case locked (with the agent and the message's id), then the
// message, the case's update and the events in one statement with COMMIT.
// With in.WithCase the case's view is read while the case is held, before
// the write, and the write's changes applied to it (caseAfterMessage): the
// account's event numbers stay locked only for the commit.
func (s *Store) addMessagePiped(ctx context.Context, accountID, caseID int64, in NewMessage) (MessageView, error) {
	var v MessageView
	err := s.writePiped(ctx, func(p *pipe) error {
		q, args := lockCaseForMessageQuery(s.backend, accountID, caseID, in.AgentID, true)
		var l lockedCase
		err := p.begin(q, args, func(r pgx.Row) error {
			var err error
			l, err = scanLockedCase(r)
			return err
		})
		if errors.Is(err, pgx.ErrNoRows) {
			return notFound("case", caseID)
		}
		if err != nil {
			return err
		}
		var w messageWrite
		if v, w, err = s.planMessage(l, accountID, caseID, in); err != nil {
			return err
		}
		if in.WithCase {
			views, err := s.caseViews(p.gorm(s.db), accountID, []models.Case{l.Case})
			if err != nil {
				return err
			}
			v.Case = caseAfterMessage(views[0], w, v)
		}
		if err := s.markApplied(ctx, p.gorm(s.db)); err != nil {
			return err
		}
		return s.commitEvents(p, w.riders, w.events)
	})
	return v, wrap(fmt.Sprintf("add message to case %d", caseID), err)
}

// messageWrite is what adding a message writes after the message: the
// case's columns, the statements (the message's INSERT when it has its id,
// the case's UPDATE) and the events.
type messageWrite struct {
	set    map[string]any
	riders []rider
	events []models.Event
}

// planMessage checks the locked case l and the agent against in and returns
// the message to write, with its author, and what the write does: with
// l.NextMessageID 0 (SQLite) the message has no id yet, and the caller
// inserts it and calls messageWrites. It returns ErrCaseNotActive for a
// closed case (unless in.Reopen) and ErrNotFound for an agent that is not
// the account's.
func (s *Store) planMessage(l lockedCase, accountID, caseID int64, in NewMessage) (MessageView, messageWrite, error) {
	var v MessageView
	c := l.Case
	if c.Status == models.StatusClosed && !in.Reopen {
		return v, messageWrite{}, fmt.Errorf("case %d: %w", caseID, ErrCaseNotActive)
	}
	if in.Sender == models.SenderAgent {
		if l.Agent == nil {
			return v, messageWrite{}, notFound("agent", *in.AgentID)
		}
		v.Agent = l.Agent
	}
	now := s.now()
	at := in.At.UTC().Truncate(time.Microsecond)
	if in.At.IsZero() {
		at = now
	}
	v.Message = models.Message{
		ID: l.NextMessageID, AccountID: accountID, CaseID: caseID, Sender: in.Sender, AgentID: in.AgentID, Kind: in.Kind,
		Text: in.Text, Markdown: in.Markdown, Lang: in.Lang, CreatedAt: at, UpdatedAt: now,
	}
	if v.Message.ID == 0 {
		return v, messageWrite{}, nil
	}
	return v, s.messageWrites(c, v.Message, in), nil
}

// messageWrites returns what adding m (with its id) to the case c writes:
// the message's INSERT when m.ID came from the sequence (PostgreSQL), the
// case's UPDATE, and the events: the message's, then the status change it
// made.
func (s *Store) messageWrites(c models.Case, m models.Message, in NewMessage) messageWrite {
	var w messageWrite
	if s.backend == Postgres {
		q, args := messageInsert(&m, true)
		w.riders = append(w.riders, rider{q, args})
	}
	w.set = map[string]any{"updated_at": m.UpdatedAt}
	status := c.Status
	switch {
	case c.Status == models.StatusClosed:
		status = models.StatusOpen
		w.set["status"], w.set["closed_at"], w.set["closed_by"] = status, nil, nil
	case in.Sender == models.SenderAgent && in.Kind == models.KindMessage && c.Status == models.StatusNew:
		status = models.StatusOpen
		w.set["status"] = status
	}
	lastMessageUpdate(c, m, w.set)
	unreadUpdate(m, w.set)
	q, args := caseUpdate(c.ID, w.set)
	w.riders = append(w.riders, rider{q, args})
	evs := []models.Event{messageEvent(c, m, string(c.Channel))}
	w.events = statusEvents(evs, c, c.Status, status, nil)
	return w
}

// caseAfterMessage returns the view pv of a case read before the message
// v was added to it, with the write w applied: the columns it set, the
// message's text when it is the last, and its agent among the case's.
func caseAfterMessage(pv CaseView, w messageWrite, v MessageView) *CaseView {
	c := &pv.Case
	for col, val := range w.set {
		switch col {
		case "updated_at":
			c.UpdatedAt = val.(time.Time)
		case "status":
			c.Status = val.(models.CaseStatus)
		case "closed_at":
			c.ClosedAt = nil
		case "closed_by":
			c.ClosedBy, pv.Closer = nil, nil
		case "last_message_id":
			id := val.(int64)
			c.LastMessageID = &id
			pv.LastMessageText = v.Message.Text
		case "last_message_at":
			t := val.(time.Time)
			c.LastMessageAt = &t
		case "last_customer_message_at":
			t := val.(time.Time)
			c.LastCustomerMessageAt = &t
		case "unread":
			c.Unread = val.(bool)
		}
	}
	if a := v.Agent; a != nil {
		i, found := slices.BinarySearchFunc(pv.Agents, a.ID, func(x models.Agent, id int64) int { return cmp.Compare(x.ID, id) })
		if !found {
			pv.Agents = slices.Insert(slices.Clone(pv.Agents), i, *a)
		}
	}
	return &pv
}

// lastMessageUpdate returns the case columns to set after adding m to c: the
// last message and, for a contact's message, the last customer message, each
// only when m is newer than what the case holds (uploads may add old
// messages). Notes are private and never a chat's last message.
func lastMessageUpdate(c models.Case, m models.Message, set map[string]any) {
	if m.Kind == models.KindNote {
		return
	}
	newer := func(t *time.Time) bool { return t == nil || !m.CreatedAt.Before(*t) }
	if newer(c.LastMessageAt) {
		set["last_message_id"], set["last_message_at"] = m.ID, m.CreatedAt
	}
	if m.Sender == models.SenderContact && newer(c.LastCustomerMessageAt) {
		set["last_customer_message_at"] = m.CreatedAt
	}
}

// unreadUpdate sets the case's unread column after adding m: a contact's
// message wants reading, and an agent's answer is read by whoever wrote it
// (as REVE's offline messages with replies show unread 0). Notes, events
// and system messages leave it as it was: they are no one's answer. It
// goes into the case's UPDATE that the write makes anyway.
func unreadUpdate(m models.Message, set map[string]any) {
	if m.Kind != models.KindMessage {
		return
	}
	switch m.Sender {
	case models.SenderContact:
		set["unread"] = true
	case models.SenderAgent:
		set["unread"] = false
	}
}
