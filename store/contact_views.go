package store

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"switchboard/models"
)

// Visitor is a contact as REVE's visitors show it: with the time of its first
// visit (its first visitor session, else when it was created) and its latest
// visitor session, if any.
type Visitor struct {
	models.Contact
	FirstVisitAt time.Time
	Last         *models.VisitorSession
}

// VisitorDetail is one visitor with its totals.
type VisitorDetail struct {
	Visitor
	TotalVisits int64
	TotalViews  int64
	TotalChats  int64
	// TotalChatDuration sums, over the visitor's closed chats, closing time
	// minus start time.
	TotalChatDuration time.Duration
	LastChatStartedAt *time.Time
}

// ListVisitors returns page (1-based) of the account's visitors, size per
// page, newest first by id. A page past the end is empty. It returns
// FieldErrors for a page or size below 1.
func (s *Store) ListVisitors(ctx context.Context, accountID, page int64, size int) ([]Visitor, error) {
	offset, ok, err := pageOffset(page, size)
	if err != nil || !ok {
		return []Visitor{}, err
	}
	var out []Visitor
	err = s.readTx(ctx, func(tx *gorm.DB) error {
		var contacts []models.Contact
		if err := tx.Where("account_id = ?", accountID).Order("id DESC").Offset(int(offset)).Limit(size).Find(&contacts).Error; err != nil {
			return err
		}
		var err error
		out, err = visitors(tx, accountID, contacts)
		return err
	})
	if err != nil {
		return nil, wrap("list visitors", err)
	}
	return out, nil
}

// visitors adds to contacts their first visit and latest session, reading
// the sessions of all of them at once.
func visitors(tx *gorm.DB, accountID int64, contacts []models.Contact) ([]Visitor, error) {
	out := make([]Visitor, len(contacts))
	if len(contacts) == 0 {
		return out, nil
	}
	ids := make([]int64, len(contacts))
	for i, c := range contacts {
		ids[i] = c.ID
	}
	var sessions []models.VisitorSession
	if err := tx.Where("account_id = ? AND contact_id IN ?", accountID, ids).Order("started_at, id").Find(&sessions).Error; err != nil {
		return nil, err
	}
	firstAt := map[int64]time.Time{}
	latest := map[int64]models.VisitorSession{}
	for _, v := range sessions {
		if _, ok := firstAt[*v.ContactID]; !ok {
			firstAt[*v.ContactID] = v.StartedAt.UTC()
		}
		latest[*v.ContactID] = v
	}
	for i, c := range contacts {
		c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
		v := Visitor{Contact: c, FirstVisitAt: c.CreatedAt}
		if t, ok := firstAt[c.ID]; ok && t.Before(v.FirstVisitAt) {
			v.FirstVisitAt = t
		}
		if l, ok := latest[c.ID]; ok {
			l.StartedAt = l.StartedAt.UTC()
			v.Last = &l
		}
		out[i] = v
	}
	return out, nil
}

// VisitorByID returns one visitor of the account with its totals, or
// ErrNotFound.
func (s *Store) VisitorByID(ctx context.Context, accountID, id int64) (VisitorDetail, error) {
	var d VisitorDetail
	err := s.readTx(ctx, func(tx *gorm.DB) error {
		var contacts []models.Contact
		if err := tx.Where("account_id = ? AND id = ?", accountID, id).Limit(1).Find(&contacts).Error; err != nil {
			return err
		}
		if len(contacts) == 0 {
			return notFound("visitor", id)
		}
		vs, err := visitors(tx, accountID, contacts)
		if err != nil {
			return err
		}
		d.Visitor = vs[0]
		var totals struct {
			Visits int64
			Views  int64
		}
		if err := tx.Model(&models.VisitorSession{}).Select("COUNT(*) AS visits, COALESCE(SUM(page_views), 0) AS views").
			Where("account_id = ? AND contact_id = ?", accountID, id).Scan(&totals).Error; err != nil {
			return err
		}
		d.TotalVisits, d.TotalViews = totals.Visits, totals.Views
		var chats []models.Case
		if err := tx.Select("started_at, closed_at").Where("account_id = ? AND contact_id = ? AND channel = ?", accountID, id, models.ChannelChat).
			Find(&chats).Error; err != nil {
			return err
		}
		d.TotalChats = int64(len(chats))
		for _, c := range chats {
			started := c.StartedAt.UTC()
			if d.LastChatStartedAt == nil || started.After(*d.LastChatStartedAt) {
				d.LastChatStartedAt = &started
			}
			if c.ClosedAt != nil && c.ClosedAt.After(c.StartedAt) {
				d.TotalChatDuration += c.ClosedAt.Sub(c.StartedAt)
			}
		}
		return nil
	})
	return d, wrap(fmt.Sprintf("visitor %d", id), err)
}
