package store

import (
	"context"
	"fmt"
	"strings"

	"gorm.io/gorm"

	"switchboard/models"
)

// NewContact is the input of CreateContact. Email and Phone may be empty.
type NewContact struct {
	Name  string
	Email string
	Phone string
}

func (in *NewContact) validate(prefix string) FieldErrors {
	var fe FieldErrors
	in.Name = strings.TrimSpace(in.Name)
	in.Email = models.NormalizeEmail(in.Email)
	in.Phone = strings.TrimSpace(in.Phone)
	if in.Email != "" && !models.ValidEmail(in.Email) {
		fe.Add(prefix+"email", "%q is not a valid email address", in.Email)
	}
	if in.Phone != "" && !models.ValidE164(in.Phone) {
		fe.Add(prefix+"phone", "%q is not an E.164 phone number", in.Phone)
	}
	return fe
}

// CreateContact creates a contact in the account. It returns FieldErrors for a
// malformed email or phone and ErrNotFound for an unknown account.
func (s *Store) CreateContact(ctx context.Context, accountID int64, in NewContact) (models.Contact, error) {
	if err := in.validate("").Err(); err != nil {
		return models.Contact{}, err
	}
	var c models.Contact
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := accountExists(tx, accountID); err != nil {
			return err
		}
		now := s.now()
		c = models.Contact{AccountID: accountID, Name: in.Name, Email: in.Email, Phone: in.Phone, CreatedAt: now, UpdatedAt: now}
		return tx.Create(&c).Error
	})
	return c, wrap("create contact", err)
}

// Contact returns the contact of the account, or ErrNotFound.
func (s *Store) Contact(ctx context.Context, accountID, id int64) (models.Contact, error) {
	var c models.Contact
	err := s.db.WithContext(ctx).Take(&c, "account_id = ? AND id = ?", accountID, id).Error
	return c, wrap(fmt.Sprintf("contact %d", id), err)
}
