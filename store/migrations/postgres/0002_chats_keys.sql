-- Bearer keys need a server secret that survives restarts; HelpCrunch and
-- Acquire show a chat's last message and who closed it, and sort by them.
CREATE TABLE settings (
    name        TEXT NOT NULL PRIMARY KEY,
    value       TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);

ALTER TABLE contacts ADD COLUMN user_id TEXT NOT NULL DEFAULT '';

ALTER TABLE cases ADD COLUMN closed_by BIGINT REFERENCES agents (id);
ALTER TABLE cases ADD COLUMN rating TEXT;
ALTER TABLE cases ADD COLUMN last_message_id BIGINT;
ALTER TABLE cases ADD COLUMN last_message_at TIMESTAMPTZ;
ALTER TABLE cases ADD COLUMN last_customer_message_at TIMESTAMPTZ;
-- Lists of every channel at once (HelpCrunch chats, Acquire cases).
CREATE INDEX idx_cases_started ON cases (account_id, started_at DESC, id DESC);
CREATE INDEX idx_cases_last_message ON cases (account_id, last_message_at);

ALTER TABLE messages ADD COLUMN lang TEXT NOT NULL DEFAULT '';

CREATE INDEX idx_api_keys_agent ON api_keys (agent_id);

-- Cases written before this migration get their last messages now. Notes are
-- private to agents and never count as a chat's last message.
UPDATE cases SET
    last_message_id = (SELECT m.id FROM messages m WHERE m.case_id = cases.id AND m.kind <> 'note'
        ORDER BY m.created_at DESC, m.id DESC LIMIT 1),
    last_message_at = (SELECT max(m.created_at) FROM messages m WHERE m.case_id = cases.id AND m.kind <> 'note'),
    last_customer_message_at = (SELECT max(m.created_at) FROM messages m WHERE m.case_id = cases.id
        AND m.kind <> 'note' AND m.sender = 'contact');
