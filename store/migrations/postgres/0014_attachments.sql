-- Files sent with an email message (models.Attachment): kept with the
-- message, so that every delivery attempt sends the same bytes.
CREATE TABLE attachments (
    id            BIGSERIAL PRIMARY KEY,
    account_id    BIGINT NOT NULL REFERENCES accounts (id),
    message_id    BIGINT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    content_type  TEXT NOT NULL,
    size          BIGINT NOT NULL,
    content       BYTEA NOT NULL,
    source_url    TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX idx_attachments_message ON attachments (message_id);
