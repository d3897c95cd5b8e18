package store

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"switchboard/models"
)

// ChatQuery selects a page of an account's chats (cases on the chat
// channel), newest first by start time and then id.
type ChatQuery struct {
	// From and To bound the start time to [From, To); a zero bound is open.
	From, To time.Time
	// AgentID and AgentEmail, when set, keep the chats assigned to that agent
	// (an email no agent of the account has matches nothing).
	AgentID    *int64
	AgentEmail string
	// Page is 1-based; Size rows per page.
	Page int64
	Size int
}

// ChatView is a chat (a case on the chat channel) with its contact, its
// assignee and when agents first and last answered.
type ChatView struct {
	models.Case
	Contact models.Contact
	Agent   *models.Agent
	// FirstAgentMessageAt is the time of the first agent message (notes and
	// events are not answers), nil when no agent wrote.
	FirstAgentMessageAt *time.Time
	// LastAgentMessageAt is the time of the last agent message, nil when no
	// agent wrote.
	LastAgentMessageAt *time.Time
}

// ListChats returns the page of the account's chats that q selects. Deep
// pages cost about as much as the first: the per-day counts of the account's
// chats, or of the agent's, locate the page. It returns FieldErrors for a page or
// size below 1 or a To before From.
func (s *Store) ListChats(ctx context.Context, accountID int64, q ChatQuery) ([]ChatView, error) {
	offset, ok, err := pageOffset(q.Page, q.Size)
	if err == nil && !q.From.IsZero() && !q.To.IsZero() && q.To.Before(q.From) {
		err = FieldErrors{{Field: "to", Message: "must not be before from"}}
	}
	if err != nil || !ok {
		return []ChatView{}, err
	}
	from, to := q.From.UTC(), q.To.UTC()
	var rows []ChatView
	err = s.readTx(ctx, func(tx *gorm.DB) error {
		agentID := q.AgentID
		if q.AgentEmail != "" {
			if !storable(q.AgentEmail) {
				return nil // no agent's email is such a string
			}
			var ids []int64
			if err := tx.Model(&models.Agent{}).Where("account_id = ? AND email = ?", accountID, models.NormalizeEmail(q.AgentEmail)).
				Pluck("id", &ids).Error; err != nil {
				return err
			}
			if len(ids) == 0 || (agentID != nil && *agentID != ids[0]) {
				return nil
			}
			agentID = &ids[0]
		}
		d := tx.Model(&models.Case{}).Where("account_id = ? AND channel = ?", accountID, models.ChannelChat)
		if !from.IsZero() {
			d = d.Where("started_at >= ?", from)
		}
		if agentID != nil {
			d = d.Where("assignee_id = ?", *agentID)
		}
		before, skip, ok, err := chatPageStart(tx, accountID, agentID, from, to, offset)
		if err != nil || !ok {
			return err
		}
		if before != nil {
			d = d.Where("started_at < ?", *before)
		}
		var cases []models.Case
		if err := d.Order("started_at DESC, id DESC").Offset(int(skip)).Limit(q.Size).Find(&cases).Error; err != nil {
			return err
		}
		rows, err = chatViews(tx, accountID, cases)
		return err
	})
	if err != nil {
		return nil, wrap("list chats", err)
	}
	return rows, nil
}

// chatPageStart locates row offset (0-based, newest first) of the account's
// chats (or, with agentID, the agent's) started in [from, to) (a zero bound
// is open). It returns the exclusive upper bound on started_at the page
// query starts from (nil: to, or none) and the rows to skip below it, and
// ok=false past the last chat.
//
// The per-day counts are by UTC day, and to need not fall on a UTC midnight
// (it is the end of a day in the account's time zone), so the rows of to's
// own UTC day are counted by the index first; the days below come from the
// counts. Rows of from's day that are older than from are counted too, but
// they come last in the order, so they only shorten the final page.
func chatPageStart(tx *gorm.DB, accountID int64, agentID *int64, from, to time.Time, offset int64) (*time.Time, int64, bool, error) {
	var upper *time.Time
	if !to.IsZero() {
		upper = &to
	}
	if offset == 0 {
		return upper, 0, true, nil
	}
	below := int64(1 << 62)
	if upper != nil {
		top := dayOf(to)
		below = top
		dayStart := time.Unix(top*secondsPerDay, 0).UTC()
		if dayStart.Before(to) {
			var n int64
			q := tx.Model(&models.Case{}).Where("account_id = ? AND channel = ? AND started_at >= ? AND started_at < ?",
				accountID, models.ChannelChat, dayStart, to)
			if !from.IsZero() {
				q = q.Where("started_at >= ?", from)
			}
			if agentID != nil {
				q = q.Where("assignee_id = ?", *agentID)
			}
			if err := q.Count(&n).Error; err != nil {
				return nil, 0, false, err
			}
			if offset < n {
				return upper, offset, true, nil
			}
			offset -= n
			if offset == 0 {
				return &dayStart, 0, true, nil
			}
		}
	}
	before, skip, ok, err := pageStartBelow(tx, accountID, dayCounts{channel: models.ChannelChat, agentID: agentID}, offset, below)
	if err != nil || !ok {
		return nil, 0, ok, err
	}
	if before == nil {
		return upper, skip, true, nil
	}
	return before, skip, true, nil
}

// Chat returns one chat of the account, or ErrNotFound (also for a case on
// another channel).
func (s *Store) Chat(ctx context.Context, accountID, id int64) (ChatView, error) {
	var row ChatView
	err := s.readTx(ctx, func(tx *gorm.DB) error {
		var cases []models.Case
		if err := tx.Where("account_id = ? AND id = ? AND channel = ?", accountID, id, models.ChannelChat).
			Limit(1).Find(&cases).Error; err != nil {
			return err
		}
		if len(cases) == 0 {
			return notFound("chat", id)
		}
		rows, err := chatViews(tx, accountID, cases)
		if err != nil {
			return err
		}
		row = rows[0]
		return nil
	})
	return row, wrap(fmt.Sprintf("chat %d", id), err)
}

// chatViews adds to cases their contacts, assignees and agent message times,
// with one query each.
func chatViews(tx *gorm.DB, accountID int64, cases []models.Case) ([]ChatView, error) {
	rows := make([]ChatView, len(cases))
	if len(cases) == 0 {
		return rows, nil
	}
	var caseIDs, contactIDs, agentIDs []int64
	for _, c := range cases {
		caseIDs = append(caseIDs, c.ID)
		contactIDs = append(contactIDs, c.ContactID)
		if c.AssigneeID != nil {
			agentIDs = append(agentIDs, *c.AssigneeID)
		}
	}
	var contacts []models.Contact
	if err := tx.Where(inAccountByIDs, accountID, contactIDs).Find(&contacts).Error; err != nil {
		return nil, err
	}
	var agents []models.Agent
	if len(agentIDs) > 0 {
		if err := tx.Where("account_id = ? AND id IN ?", accountID, agentIDs).Find(&agents).Error; err != nil {
			return nil, err
		}
	}
	// The agents' first and last message times are kept in case_facts
	// (migration 0023): read there, they cost the same for a chat of ten
	// messages or ten thousand.
	var times []struct {
		CaseID              int64
		FirstAgentMessageAt *time.Time
		LastAgentMessageAt  *time.Time
	}
	if err := tx.Raw(`SELECT case_id, first_agent_message_at, last_agent_message_at FROM case_facts
		WHERE case_id IN ? AND first_agent_message_at IS NOT NULL AND last_agent_message_at IS NOT NULL`, caseIDs).
		Scan(&times).Error; err != nil {
		return nil, err
	}
	type agentTimes struct{ first, last time.Time }
	timesOf := make(map[int64]agentTimes, len(times))
	for _, t := range times {
		timesOf[t.CaseID] = agentTimes{t.FirstAgentMessageAt.UTC(), t.LastAgentMessageAt.UTC()}
	}
	byContact := map[int64]models.Contact{}
	for _, c := range contacts {
		byContact[c.ID] = c
	}
	byAgent := map[int64]models.Agent{}
	for _, a := range agents {
		byAgent[a.ID] = a
	}
	for i, c := range cases {
		c.StartedAt = c.StartedAt.UTC()
		r := ChatView{Case: c, Contact: byContact[c.ContactID]}
		if c.AssigneeID != nil {
			if a, ok := byAgent[*c.AssigneeID]; ok {
				r.Agent = &a
			}
		}
		if t, ok := timesOf[c.ID]; ok {
			r.FirstAgentMessageAt, r.LastAgentMessageAt = &t.first, &t.last
		}
		rows[i] = r
	}
	return rows, nil
}
