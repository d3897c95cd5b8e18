package store

import (
	"context"

	"gorm.io/gorm"
)

// WriteForTest runs fn as the store runs its writes (Store.write), for the
// tests of what every write shares: retries, idempotency claims, a context
// that ends.
func (s *Store) WriteForTest(ctx context.Context, fn func(tx *gorm.DB) error) error {
	return s.write(ctx, s.db, fn)
}

// UnreadCountsCapped is UnreadCounts counting at most limit cases a channel,
// for tests of the cap that do not write a thousand cases.
func (s *Store) UnreadCountsCapped(ctx context.Context, accountID int64, limit int) (UnreadCounts, error) {
	return s.unreadCounts(ctx, accountID, limit)
}

// QueuedWritesForTest returns how many SQLite writes wait for a batch and
// how many batches have run, for the tests of group commit that line writes
// up behind one another.
func (s *Store) QueuedWritesForTest() (queued int, batches int64) {
	return s.batch.queued()
}
