-- The event log (store/events.go): one row per change, appended in the
-- change's own transaction, numbered per account by event_seqs; webhook
-- subscriptions and their deliveries (store/webhooks.go).
CREATE TABLE event_seqs (
    account_id  INTEGER NOT NULL PRIMARY KEY REFERENCES accounts (id),
    seq         INTEGER NOT NULL
);
CREATE TABLE events (
    id          INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    account_id  INTEGER NOT NULL,
    seq         INTEGER NOT NULL,
    type        TEXT NOT NULL,
    case_id     INTEGER NOT NULL,
    contact_id  INTEGER NOT NULL,
    message_id  INTEGER NOT NULL,
    agent_id    INTEGER NOT NULL,
    data        TEXT NOT NULL,
    created_at  DATETIME NOT NULL
);
CREATE UNIQUE INDEX idx_events_seq ON events (account_id, seq);
CREATE INDEX idx_events_created ON events (created_at);

CREATE TABLE webhooks (
    id               INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    account_id       INTEGER NOT NULL REFERENCES accounts (id),
    url              TEXT NOT NULL,
    format           TEXT NOT NULL CHECK (format IN ('helpcrunch', 'acquire', 'standard')),
    events           TEXT NOT NULL,
    types            TEXT NOT NULL,
    secret           TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('active', 'disabled')),
    disabled_reason  TEXT NOT NULL,
    cursor           INTEGER NOT NULL,
    created_at       DATETIME NOT NULL,
    updated_at       DATETIME NOT NULL
);
CREATE INDEX idx_webhooks_account ON webhooks (account_id);

CREATE TABLE webhook_deliveries (
    id               INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    account_id       INTEGER NOT NULL,
    webhook_id       INTEGER NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_id         INTEGER NOT NULL,
    event_seq        INTEGER NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'failed')),
    attempts         INTEGER NOT NULL,
    next_attempt_at  DATETIME NOT NULL,
    last_attempt_at  DATETIME,
    last_error       TEXT NOT NULL,
    response_status  INTEGER NOT NULL,
    reference        TEXT NOT NULL,
    created_at       DATETIME NOT NULL,
    updated_at       DATETIME NOT NULL
);
CREATE UNIQUE INDEX idx_webhook_deliveries_seq ON webhook_deliveries (webhook_id, event_seq);
CREATE INDEX idx_webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
-- The heads of the subscriptions' queues: the claim reads each
-- subscription's lowest unsent event here, however many sent rows there are.
CREATE INDEX idx_webhook_deliveries_pending ON webhook_deliveries (webhook_id, event_seq) WHERE status IN ('queued', 'sending');
