-- The event log (store/events.go): one row per change, appended in the
-- change's own transaction, numbered per account by event_seqs; webhook
-- subscriptions and their deliveries (store/webhooks.go).
CREATE TABLE event_seqs (
    account_id  BIGINT PRIMARY KEY REFERENCES accounts (id),
    seq         BIGINT NOT NULL
);
CREATE TABLE events (
    id          BIGSERIAL PRIMARY KEY,
    account_id  BIGINT NOT NULL,
    seq         BIGINT NOT NULL,
    type        TEXT NOT NULL,
    case_id     BIGINT NOT NULL,
    contact_id  BIGINT NOT NULL,
    message_id  BIGINT NOT NULL,
    agent_id    BIGINT NOT NULL,
    data        TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX idx_events_seq ON events (account_id, seq);
CREATE INDEX idx_events_created ON events (created_at);

CREATE TABLE webhooks (
    id               BIGSERIAL PRIMARY KEY,
    account_id       BIGINT NOT NULL REFERENCES accounts (id),
    url              TEXT NOT NULL,
    format           TEXT NOT NULL CHECK (format IN ('helpcrunch', 'acquire', 'standard')),
    events           TEXT NOT NULL,
    types            TEXT NOT NULL,
    secret           TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('active', 'disabled')),
    disabled_reason  TEXT NOT NULL,
    cursor           BIGINT NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL
);
CREATE INDEX idx_webhooks_account ON webhooks (account_id);

CREATE TABLE webhook_deliveries (
    id               BIGSERIAL PRIMARY KEY,
    account_id       BIGINT NOT NULL,
    webhook_id       BIGINT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_id         BIGINT NOT NULL,
    event_seq        BIGINT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'failed')),
    attempts         INTEGER NOT NULL,
    next_attempt_at  TIMESTAMPTZ NOT NULL,
    last_attempt_at  TIMESTAMPTZ,
    last_error       TEXT NOT NULL,
    response_status  INTEGER NOT NULL,
    reference        TEXT NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX idx_webhook_deliveries_seq ON webhook_deliveries (webhook_id, event_seq);
CREATE INDEX idx_webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
-- The heads of the subscriptions' queues: the claim reads each
-- subscription's lowest unsent event here, however many sent rows there are.
CREATE INDEX idx_webhook_deliveries_pending ON webhook_deliveries (webhook_id, event_seq) WHERE status IN ('queued', 'sending');
