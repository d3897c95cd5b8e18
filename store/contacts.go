package store

import (
	"context"
	"fmt"
	"strings"

	"gorm.io/gorm"

	"switchboard/models"
)

// NewContact is the input of CreateContact. Every field may be empty.
type NewContact struct {
	Name  string
	Email string
	// Phone is a number in international form (see models.ParsePhone),
	// stored in E.164.
	Phone string
	// UserID is the contact's id in the client's own system.
	UserID string
}

func (in *NewContact) validate(prefix string) FieldErrors {
	var fe FieldErrors
	in.Name = strings.TrimSpace(in.Name)
	in.Email = models.NormalizeEmail(in.Email)
	in.Phone = strings.TrimSpace(in.Phone)
	in.UserID = strings.TrimSpace(in.UserID)
	checkLine(&fe, prefix+"name", in.Name, models.MaxNameLen)
	checkLine(&fe, prefix+"user_id", in.UserID, models.MaxExtIDLen)
	if in.Email != "" && !tooLongEmail(&fe, prefix+"email", in.Email) && !models.ValidEmail(in.Email) {
		fe.Add(prefix+"email", "%q is not a valid email address", in.Email)
	}
	if in.Phone != "" {
		if p := checkPhone(&fe, prefix+"phone", in.Phone); p.E164 != "" {
			in.Phone = p.E164
		}
	}
	return fe
}

// CreateContact creates a contact in the account, its phone in E.164. It
// returns FieldErrors for a malformed email, a phone that is not a valid
// number in international form, a name or user id too long or holding
// control characters, and ErrNotFound for an unknown account.
func (s *Store) CreateContact(ctx context.Context, accountID int64, in NewContact) (models.Contact, error) {
	if err := in.validate("").Err(); err != nil {
		return models.Contact{}, err
	}
	var c models.Contact
	err := s.write(ctx, s.db, func(tx *gorm.DB) error {
		if err := accountExists(tx, accountID); err != nil {
			return err
		}
		now := s.now()
		c = models.Contact{AccountID: accountID, Name: in.Name, Email: in.Email, Phone: in.Phone, UserID: in.UserID, CreatedAt: now, UpdatedAt: now}
		if err := tx.Create(&c).Error; err != nil {
			return err
		}
		ev := newEvent(accountID, models.EventContactCreated, nil)
		ev.ContactID = c.ID
		return s.appendEvents(tx, ev)
	})
	return c, wrap("create contact", err)
}

// Contact returns the contact of the account, or ErrNotFound.
func (s *Store) Contact(ctx context.Context, accountID, id int64) (models.Contact, error) {
	var c models.Contact
	err := s.db.WithContext(ctx).Take(&c, "account_id = ? AND id = ?", accountID, id).Error
	return c, wrap(fmt.Sprintf("contact %d", id), err)
}

// The fields a contact list filters and sorts on (ContactQuery).
const (
	ContactID        = "id"
	ContactName      = "name"
	ContactEmail     = "email"
	ContactPhone     = "phone"
	ContactUserID    = "user_id"
	ContactCreatedAt = "created_at"
	ContactUpdatedAt = "updated_at"
)

var contactColumns = map[string]column{
	ContactID:        {"id", kindInt, false},
	ContactName:      {"name", kindText, false},
	ContactEmail:     {"email", kindText, false},
	ContactPhone:     {"phone", kindText, false},
	ContactUserID:    {"user_id", kindText, false},
	ContactCreatedAt: {"created_at", kindTime, false},
	ContactUpdatedAt: {"updated_at", kindTime, false},
}

// ContactQuery selects and orders a page of an account's contacts.
type ContactQuery struct {
	Filters []Filter
	// Any joins the filters with OR instead of AND.
	Any bool
	// Sort is the field to order by (default ContactCreatedAt), newest or
	// largest first unless Asc; ties go by id in the same direction.
	Sort   string
	Asc    bool
	Offset int
	// Limit is 1 to MaxLimit rows.
	Limit int
}

// ListContacts returns the page of the account's contacts that q selects and
// how many match in all: from the maintained count when unfiltered (see
// contactCount), by counting the matches otherwise. The page is read from the
// nearer end of the list (see readPage), so paging by offset sees every
// contact once while nothing is written. It returns FieldErrors for an
// unknown field, a value of the wrong type or a bad offset or limit.
func (s *Store) ListContacts(ctx context.Context, accountID int64, q ContactQuery) ([]models.Contact, int64, error) {
	if q.Sort == "" {
		q.Sort = ContactCreatedAt
	}
	sortCol, cond, args, err := listSpec(contactColumns, q.Sort, q.Filters, q.Any, q.Offset, q.Limit)
	if err != nil {
		return nil, 0, err
	}
	var rows []models.Contact
	var total int64
	err = s.readTx(ctx, func(tx *gorm.DB) error {
		var err error
		total, err = contactTotal(tx, accountID, cond, args)
		if err != nil {
			return err
		}
		return readPage(contactsWhere(tx, accountID, cond, args), sortOrder{sortCol, "id", q.Asc}, total, int64(q.Offset), q.Limit, &rows)
	})
	if err != nil {
		return nil, 0, wrap("list contacts", err)
	}
	for i := range rows {
		rows[i].CreatedAt, rows[i].UpdatedAt = rows[i].CreatedAt.UTC(), rows[i].UpdatedAt.UTC()
	}
	return rows, total, nil
}

// contactsWhere returns the query of the account's contacts that match cond.
func contactsWhere(tx *gorm.DB, accountID int64, cond string, args []any) *gorm.DB {
	d := tx.Model(&models.Contact{}).Where("account_id = ?", accountID)
	if cond != "" {
		d = d.Where(cond, args...)
	}
	return d
}

// contactTotal returns how many of the account's contacts match cond: the
// maintained count for every contact (cond empty), a count of the matches
// otherwise.
func contactTotal(tx *gorm.DB, accountID int64, cond string, args []any) (int64, error) {
	if cond == "" {
		return contactCount(tx, accountID)
	}
	var n int64
	err := contactsWhere(tx, accountID, cond, args).Count(&n).Error
	return n, err
}
