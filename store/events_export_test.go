package store

import (
	"context"

	"gorm.io/gorm"

	"switchboard/models"
)

// AppendThenForTest runs a write (Store.write) that appends an event of
// type t to the account and then runs then in the same transaction: with a
// then that fails, the tests see a transaction roll back after appending.
func (s *Store) AppendThenForTest(ctx context.Context, accountID int64, t models.EventType, then func(tx *gorm.DB) error) error {
	return s.write(ctx, s.db, func(tx *gorm.DB) error {
		if err := s.appendEvents(tx, newEvent(accountID, t, nil)); err != nil {
			return err
		}
		return then(tx)
	})
}
