package store

import (
	"context"
	"strings"
	"time"

	"gorm.io/gorm"

	"switchboard/models"
)

// InboxQuery selects a page of the web console's inbox: an account's cases,
// the one with the newest activity (its last message that is not a note)
// first, cases without a message last, ties by id, newest first.
type InboxQuery struct {
	// Channel, Status keep only cases of that channel or status ("": all).
	Channel models.Channel
	Status  models.CaseStatus
	// AssigneeID keeps only cases assigned to that agent; Unassigned keeps
	// only cases assigned to no one.
	AssigneeID *int64
	Unassigned bool
	// Search keeps only cases whose contact's name, email or phone holds it,
	// letter case aside.
	Search string
	// After is the last case of the previous page: the page starts after it
	// (keyset paging, as fast on the ten-thousandth page as on the first).
	After *InboxCursor
	// Limit is 1 to MaxLimit cases.
	Limit int
}

// InboxCursor is where an inbox page ends: its last case's activity time
// (nil for a case without messages) and id.
type InboxCursor struct {
	At *time.Time
	ID int64
}

// CursorOf returns the cursor that starts the page after the case c.
func CursorOf(c models.Case) InboxCursor {
	cur := InboxCursor{ID: c.ID}
	if c.LastMessageAt != nil {
		t := c.LastMessageAt.UTC()
		cur.At = &t
	}
	return cur
}

// Inbox returns the page of the account's cases that q selects, each with
// its contact and agents, and whether more follow. It returns FieldErrors
// for an unknown channel or status, a search over its limit or a bad limit.
func (s *Store) Inbox(ctx context.Context, accountID int64, q InboxQuery) ([]CaseView, bool, error) {
	var fe FieldErrors
	if q.Channel != "" && !q.Channel.Valid() {
		fe.Add("channel", "%q is not one of chat, email, sms, offline", q.Channel)
	}
	if q.Status != "" && !q.Status.Valid() {
		fe.Add("status", "%q is not a case status", q.Status)
	}
	q.Search = strings.TrimSpace(q.Search)
	if len(q.Search) > models.MaxNameLen {
		fe.Add("q", "must be at most %d bytes", models.MaxNameLen)
	}
	checkPage(&fe, 0, q.Limit)
	if err := fe.Err(); err != nil {
		return nil, false, err
	}
	var views []CaseView
	more := false
	err := s.readTx(ctx, func(tx *gorm.DB) error {
		base := func() *gorm.DB {
			d := tx.Table("cases").Where("account_id = ?", accountID)
			if q.Channel != "" {
				d = d.Where("channel = ?", q.Channel)
			}
			if q.Status != "" {
				d = d.Where("status = ?", q.Status)
			}
			switch {
			case q.Unassigned:
				d = d.Where("assignee_id IS NULL")
			case q.AssigneeID != nil:
				d = d.Where("assignee_id = ?", *q.AssigneeID)
			}
			if q.Search != "" {
				like := "%" + escapeLike(strings.ToLower(q.Search)) + "%"
				d = d.Where(`contact_id IN (SELECT id FROM contacts WHERE account_id = ? AND
				(LOWER(name) LIKE ? ESCAPE '\' OR LOWER(email) LIKE ? ESCAPE '\' OR phone LIKE ? ESCAPE '\'))`,
					accountID, like, like, like)
			}
			return d.Select(caseFields)
		}
		// Cases with activity come first, then those without: two reads,
		// each a plain range of the index (account_id, last_message_at,
		// id) read backwards, rather than one whose OR the planner cannot
		// walk as a range.
		var cases []models.Case
		a := q.After
		if a == nil || a.At != nil {
			d := base().Where("last_message_at IS NOT NULL")
			if a != nil {
				d = d.Where("(last_message_at, id) < (?, ?)", a.At.UTC(), a.ID)
			}
			var err error
			if cases, err = scanAll(d.Order("last_message_at DESC, id DESC").Limit(q.Limit+1), scanCase); err != nil {
				return err
			}
		}
		if len(cases) <= q.Limit {
			d := base().Where("last_message_at IS NULL")
			if a != nil && a.At == nil {
				d = d.Where("id < ?", a.ID)
			}
			rest, err := scanAll(d.Order("id DESC").Limit(q.Limit+1-len(cases)), scanCase)
			if err != nil {
				return err
			}
			cases = append(cases, rest...)
		}
		if len(cases) > q.Limit {
			cases, more = cases[:q.Limit], true
		}
		var err error
		views, err = s.caseViews(tx, accountID, cases)
		return err
	})
	if err != nil {
		return nil, false, wrap("inbox", err)
	}
	return views, more, nil
}

// AccountInboxes returns the account's email addresses and SMS numbers, by
// kind then address: the console's choices of a reply's From.
func (s *Store) AccountInboxes(ctx context.Context, accountID int64) ([]models.Inbox, error) {
	var out []models.Inbox
	err := s.db.WithContext(ctx).Where("account_id = ?", accountID).Order("kind, address").Find(&out).Error
	return out, wrap("inboxes", err)
}
