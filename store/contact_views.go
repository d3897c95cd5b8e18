package store

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"switchboard/models"
)

// ContactView is a contact with the time of its first
// visit (its first visitor session, else when it was created) and its latest
// visitor session, if any.
type ContactView struct {
	models.Contact
	FirstVisitAt time.Time
	Last         *models.VisitorSession
}

// ContactViewDetail is one contact with its totals of visits, page views and chats.
type ContactViewDetail struct {
	ContactView
	TotalVisits int64
	TotalViews  int64
	TotalChats  int64
	// TotalChatDuration sums, over the contact's closed chats, closing time
	// minus start time.
	TotalChatDuration time.Duration
	LastChatStartedAt *time.Time
}

// ListContactViews returns page (1-based) of the account's contacts, size per
// page, newest first by id. A page past the end is empty. It returns
// FieldErrors for a page or size below 1.
func (s *Store) ListContactViews(ctx context.Context, accountID, page int64, size int) ([]ContactView, error) {
	offset, ok, err := pageOffset(page, size)
	if err != nil || !ok {
		return []ContactView{}, err
	}
	var out []ContactView
	err = s.readTx(ctx, func(tx *gorm.DB) error {
		var contacts []models.Contact
		if err := tx.Where("account_id = ?", accountID).Order("id DESC").Offset(int(offset)).Limit(size).Find(&contacts).Error; err != nil {
			return err
		}
		var err error
		out, err = contactViews(tx, accountID, contacts)
		return err
	})
	if err != nil {
		return nil, wrap("list contact views", err)
	}
	return out, nil
}

// contactViews adds to contacts their first visit and latest session, reading
// the sessions of all of them at once.
func contactViews(tx *gorm.DB, accountID int64, contacts []models.Contact) ([]ContactView, error) {
	out := make([]ContactView, len(contacts))
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
		v := ContactView{Contact: c, FirstVisitAt: c.CreatedAt}
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

// ContactView returns one contact of the account with its totals, or
// ErrNotFound.
func (s *Store) ContactView(ctx context.Context, accountID, id int64) (ContactViewDetail, error) {
	var d ContactViewDetail
	err := s.readTx(ctx, func(tx *gorm.DB) error {
		var contacts []models.Contact
		if err := tx.Where("account_id = ? AND id = ?", accountID, id).Limit(1).Find(&contacts).Error; err != nil {
			return err
		}
		if len(contacts) == 0 {
			return notFound("contact", id)
		}
		vs, err := contactViews(tx, accountID, contacts)
		if err != nil {
			return err
		}
		d.ContactView = vs[0]
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
	return d, wrap(fmt.Sprintf("contact %d", id), err)
}
