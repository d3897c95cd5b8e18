-- The web console's sign-ins (store/console_sessions.go). The cookie holds a
-- random token; only its SHA-256 is kept, so a copy of the table signs no one
-- in. password_fingerprint is a digest of the agent's password hash at sign-in:
-- a session whose agent's password has changed since is refused and deleted.
CREATE TABLE console_sessions (
    id                    BIGSERIAL PRIMARY KEY,
    token_hash            TEXT NOT NULL,
    account_id            BIGINT NOT NULL REFERENCES accounts (id),
    agent_id              BIGINT NOT NULL REFERENCES agents (id),
    csrf_token            TEXT NOT NULL,
    password_fingerprint  TEXT NOT NULL,
    created_at            TIMESTAMPTZ NOT NULL,
    expires_at            TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX idx_console_sessions_token ON console_sessions (token_hash);
CREATE INDEX idx_console_sessions_agent ON console_sessions (agent_id);
CREATE INDEX idx_console_sessions_expires ON console_sessions (expires_at);
