package store

import (
	"context"
	"time"
)

// ClaimHeadsForTest is the query ClaimWebhookDeliveries finds the heads of
// the queues with on PostgreSQL, for the plan test.
const ClaimHeadsForTest = claimHeads

// PruneWebhookDeliveriesInBatches is PruneWebhookDeliveries with batch ids
// a statement, so that a test of a few rows crosses several ranges.
func (s *Store) PruneWebhookDeliveriesInBatches(ctx context.Context, before time.Time, batch int64) (int64, error) {
	return s.pruneWebhookDeliveries(ctx, before, batch)
}
