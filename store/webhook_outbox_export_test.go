package store

// ClaimHeadsForTest is the query ClaimWebhookDeliveries finds the heads of
// the queues with on PostgreSQL, for the plan test.
const ClaimHeadsForTest = claimHeads
