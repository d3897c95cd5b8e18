package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"strings"

	"gorm.io/gorm"

	"switchboard/models"
)

// CreateInbox connects an email address or SMS number to the account; a
// number is stored in E.164. It returns FieldErrors for an unknown kind, a
// malformed email address or a number that is not a valid one in
// international form (models.ParsePhone), ErrNotFound
// for an unknown account and ErrConflict when the account already has it.
// The inbox comes with its Secret (see RotateInboxSecret), shown once.
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
		in.Secret, in.SecretHash = newInboxSecret()
		if err := tx.Create(&in).Error; err != nil {
			return err
		}
		return s.appendEvents(tx, newEvent(accountID, models.EventInboxCreated, EventData{"kind": in.Kind, "inbox_id": in.ID}))
	})
	return in, wrap("create inbox", err)
}

// newInboxSecret returns a new secret for an inbox and its hash.
func newInboxSecret() (secret, hash string) {
	secret = "sbin_" + strings.ToLower(rand.Text())
	return secret, secretHash(secret)
}

func secretHash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// RotateInboxSecret gives the account's inbox a new secret for mail
// forwarded over HTTP; the old one stops working at once. It returns the
// inbox with its Secret, shown once, and ErrNotFound for an inbox that is
// not the account's.
func (s *Store) RotateInboxSecret(ctx context.Context, accountID, id int64) (models.Inbox, error) {
	var in models.Inbox
	err := s.write(ctx, s.db, func(tx *gorm.DB) error {
		if err := tx.Take(&in, "account_id = ? AND id = ?", accountID, id).Error; err != nil {
			return notFoundOr(err, "inbox", id)
		}
		in.Secret, in.SecretHash = newInboxSecret()
		return tx.Model(&models.Inbox{}).Where("id = ?", id).Update("secret_hash", in.SecretHash).Error
	})
	if err != nil {
		return models.Inbox{}, wrap(fmt.Sprintf("rotate secret of inbox %d", id), err)
	}
	return in, nil
}

// InboxBySecret returns the inbox id if secret is its secret. It returns
// ErrNotFound alike for an unknown inbox, one without a secret and a wrong
// secret, so that the answer does not tell which inboxes exist.
func (s *Store) InboxBySecret(ctx context.Context, id int64, secret string) (models.Inbox, error) {
	var in models.Inbox
	if err := s.db.WithContext(ctx).Take(&in, "id = ?", id).Error; err != nil {
		return models.Inbox{}, wrap(fmt.Sprintf("inbox %d", id), notFoundOr(err, "inbox", id))
	}
	if in.SecretHash == "" || subtle.ConstantTimeCompare([]byte(in.SecretHash), []byte(secretHash(secret))) != 1 {
		return models.Inbox{}, fmt.Errorf("inbox %d: %w", id, ErrNotFound)
	}
	return in, nil
}
