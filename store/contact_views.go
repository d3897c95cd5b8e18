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

// ContactPageQuery selects a page of an account's contacts, newest (highest
// id) first.
type ContactPageQuery struct {
	// Filters are ANDed; their fields are the Contact* names.
	Filters []Filter
	// Offset is the rows to skip, 0 or more.
	Offset int64
	// Limit is 1 to MaxLimit rows.
	Limit int
}

// ContactPage returns the page of the account's contacts that q selects,
// newest id first, and how many match in all: the maintained count when
// unfiltered (see contactCount), a count of the matches otherwise. An offset
// past the end gives an empty page. It returns FieldErrors for an unknown
// field, a value of the wrong type, or a bad offset or limit.
//
// The page is read from whichever end of the list is nearer, so the last
// page skips no more rows than the first; only pages near the middle skip
// up to half the matching rows.
func (s *Store) ContactPage(ctx context.Context, accountID int64, q ContactPageQuery) ([]models.Contact, int64, error) {
	var fe FieldErrors
	if q.Offset < 0 {
		fe.Add("offset", "must be 0 or more")
	}
	checkPage(&fe, 0, q.Limit)
	cond, args, err := where(contactColumns, q.Filters, false)
	if err != nil {
		fe = append(fe, err.(FieldErrors)...)
	}
	if err := fe.Err(); err != nil {
		return nil, 0, err
	}
	rows := []models.Contact{}
	var total int64
	err = s.readTx(ctx, func(tx *gorm.DB) error {
		var err error
		total, err = contactTotal(tx, accountID, cond, args)
		if err != nil {
			return err
		}
		newest := sortOrder{col: contactColumns[ContactID], id: "id"}
		return readPage(contactsWhere(tx, accountID, cond, args), newest, total, q.Offset, q.Limit, &rows)
	})
	if err != nil {
		return nil, 0, wrap("list contacts", err)
	}
	for i := range rows {
		rows[i].CreatedAt, rows[i].UpdatedAt = rows[i].CreatedAt.UTC(), rows[i].UpdatedAt.UTC()
	}
	return rows, total, nil
}
