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

// AppendManyForTest runs a write that appends n events of type t to the
// account, all with one appendEvents call.
func (s *Store) AppendManyForTest(ctx context.Context, accountID int64, t models.EventType, n int) error {
	evs := make([]models.Event, n)
	for i := range evs {
		evs[i] = newEvent(accountID, t, EventData{"i": i})
	}
	return s.write(ctx, s.db, func(tx *gorm.DB) error { return s.appendEvents(tx, evs...) })
}
