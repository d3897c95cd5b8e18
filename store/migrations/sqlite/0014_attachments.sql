-- Files sent with an email message (models.Attachment): kept with the
-- message, so that every delivery attempt sends the same bytes.
CREATE TABLE attachments (
    id            INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    account_id    INTEGER NOT NULL REFERENCES accounts (id),
    message_id    INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    content_type  TEXT NOT NULL,
    size          INTEGER NOT NULL,
    content       BLOB NOT NULL,
    source_url    TEXT NOT NULL,
    created_at    DATETIME NOT NULL
);
CREATE INDEX idx_attachments_message ON attachments (message_id);
