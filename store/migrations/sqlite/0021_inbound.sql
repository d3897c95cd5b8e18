-- Mail and SMS coming in (store/inbound.go): an inbox's secret for mail
-- forwarded over HTTP; a received message's own name (Message-ID, SMS sid),
-- one message per name in an account; the HTML of a received email as it
-- arrived; the lookups that thread replies, bounces and delivery receipts to
-- what was sent; and the numbers that texted STOP.
ALTER TABLE inboxes ADD COLUMN secret_hash TEXT NOT NULL DEFAULT '';
CREATE INDEX idx_inboxes_lookup ON inboxes (kind, address);

ALTER TABLE messages ADD COLUMN html_original TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN source_ref TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX idx_messages_source_ref ON messages (account_id, source_ref) WHERE source_ref <> '';

CREATE INDEX idx_deliveries_reference ON deliveries (account_id, reference) WHERE reference <> '';
CREATE INDEX idx_deliveries_provider_ref ON deliveries (provider_ref) WHERE provider_ref <> '';

CREATE TABLE sms_opt_outs (
    account_id  INTEGER NOT NULL REFERENCES accounts (id),
    number      TEXT NOT NULL,
    created_at  DATETIME NOT NULL,
    PRIMARY KEY (account_id, number)
);
