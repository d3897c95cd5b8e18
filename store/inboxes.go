package store

import (
	"context"
	"strings"

	"gorm.io/gorm"

	"switchboard/models"
)

// CreateInbox connects an email address or SMS number to the account; a
// number is stored in E.164. It returns FieldErrors for an unknown kind, a
// malformed email address or a number that is not a valid one in
// international form (models.ParsePhone), ErrNotFound
// for an unknown account and ErrConflict when the account already has it.
func (s *Store) CreateInbox(ctx context.Context, accountID int64, kind models.InboxKind, address string) (models.Inbox, error) {
	address = strings.TrimSpace(address)
	var fe FieldErrors
	switch kind {
	case models.InboxEmail:
		address = models.NormalizeEmail(address)
		if !tooLongEmail(&fe, "address", address) && !models.ValidEmail(address) {
			fe.Add("address", "%q is not a valid email address", address)
		}
	case models.InboxSMS:
		if p := checkPhone(&fe, "address", address); p.E164 != "" {
			address = p.E164
		}
	default:
		fe.Add("kind", "%q is not one of email, sms", kind)
	}
	if err := fe.Err(); err != nil {
		return models.Inbox{}, err
	}
	var in models.Inbox
	err := s.write(ctx, s.db, func(tx *gorm.DB) error {
		if err := accountExists(tx, accountID); err != nil {
			return err
		}
		in = models.Inbox{AccountID: accountID, Kind: kind, Address: address, CreatedAt: s.now()}
		if err := tx.Create(&in).Error; err != nil {
			return err
		}
		return s.appendEvents(tx, newEvent(accountID, models.EventInboxCreated, EventData{"kind": in.Kind, "inbox_id": in.ID}))
	})
	return in, wrap("create inbox", err)
}
