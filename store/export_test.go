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
