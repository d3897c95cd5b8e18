-- The whole model of DESIGN.md. Every table carries account_id.
CREATE TABLE accounts (
    id          INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    name        TEXT NOT NULL,
    timezone    TEXT NOT NULL,
    created_at  DATETIME NOT NULL,
    updated_at  DATETIME NOT NULL
);

CREATE TABLE agents (
    id                     INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    account_id             INTEGER NOT NULL REFERENCES accounts (id),
    email                  TEXT NOT NULL,
    password_hash          TEXT NOT NULL,
    first_name             TEXT NOT NULL,
    last_name              TEXT NOT NULL,
    phone                  TEXT NOT NULL,
    role                   TEXT NOT NULL CHECK (role IN ('superadmin', 'admin', 'agent')),
    enabled                BOOLEAN NOT NULL,
    designation            TEXT NOT NULL,
    concurrent_chat_limit  INTEGER NOT NULL,
    last_login_at          DATETIME,
    created_at             DATETIME NOT NULL,
    updated_at             DATETIME NOT NULL
);
CREATE UNIQUE INDEX idx_agents_email ON agents (email);
CREATE INDEX idx_agents_account ON agents (account_id);

CREATE TABLE api_keys (
    id            TEXT NOT NULL PRIMARY KEY,
    account_id    INTEGER NOT NULL REFERENCES accounts (id),
    agent_id      INTEGER NOT NULL REFERENCES agents (id),
    name          TEXT NOT NULL,
    scopes        TEXT NOT NULL,
    expires_at    DATETIME,
    revoked_at    DATETIME,
    last_used_at  DATETIME,
    created_at    DATETIME NOT NULL
);
CREATE INDEX idx_api_keys_account ON api_keys (account_id);

CREATE TABLE contacts (
    id          INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    account_id  INTEGER NOT NULL REFERENCES accounts (id),
    name        TEXT NOT NULL,
    email       TEXT NOT NULL,
    phone       TEXT NOT NULL,
    created_at  DATETIME NOT NULL,
    updated_at  DATETIME NOT NULL
);
CREATE INDEX idx_contacts_email ON contacts (account_id, email);
CREATE INDEX idx_contacts_phone ON contacts (account_id, phone);

CREATE TABLE sites (
    id          INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    account_id  INTEGER NOT NULL REFERENCES accounts (id),
    domain      TEXT NOT NULL,
    created_at  DATETIME NOT NULL
);
CREATE INDEX idx_sites_account ON sites (account_id);

CREATE TABLE campaigns (
    id          INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    account_id  INTEGER NOT NULL REFERENCES accounts (id),
    site_id     INTEGER NOT NULL REFERENCES sites (id),
    name        TEXT NOT NULL,
    created_at  DATETIME NOT NULL
);
CREATE INDEX idx_campaigns_account ON campaigns (account_id);

CREATE TABLE visitor_sessions (
    id               INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    account_id       INTEGER NOT NULL REFERENCES accounts (id),
    contact_id       INTEGER REFERENCES contacts (id),
    site_id          INTEGER NOT NULL REFERENCES sites (id),
    campaign_id      INTEGER REFERENCES campaigns (id),
    started_at       DATETIME NOT NULL,
    ip_address       TEXT NOT NULL,
    platform         TEXT NOT NULL,
    browser          TEXT NOT NULL,
    browser_version  TEXT NOT NULL,
    country          TEXT NOT NULL,
    region           TEXT NOT NULL,
    city             TEXT NOT NULL,
    latitude         TEXT NOT NULL,
    longitude        TEXT NOT NULL,
    isp              TEXT NOT NULL,
    referrer_url     TEXT NOT NULL,
    page_views       INTEGER NOT NULL,
    created_at       DATETIME NOT NULL
);
CREATE INDEX idx_visitor_sessions_contact ON visitor_sessions (account_id, contact_id);

CREATE TABLE cases (
    id                  INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    account_id          INTEGER NOT NULL REFERENCES accounts (id),
    contact_id          INTEGER NOT NULL REFERENCES contacts (id),
    channel             TEXT NOT NULL CHECK (channel IN ('chat', 'email', 'sms', 'offline')),
    status              TEXT NOT NULL CHECK (status IN ('new', 'open', 'pending', 'on_hold', 'closed')),
    outcome             TEXT CHECK (outcome IN ('lost', 'succeeded', 'refused')),
    initiator           TEXT NOT NULL,
    subject             TEXT NOT NULL,
    assignee_id         INTEGER REFERENCES agents (id),
    unread              BOOLEAN NOT NULL,
    started_at          DATETIME NOT NULL,
    closed_at           DATETIME,
    ext_id              TEXT,
    site_id             INTEGER REFERENCES sites (id),
    campaign_id         INTEGER REFERENCES campaigns (id),
    visitor_session_id  INTEGER REFERENCES visitor_sessions (id),
    form_name           TEXT NOT NULL,
    created_at          DATETIME NOT NULL,
    updated_at          DATETIME NOT NULL
);
-- The paging path of every case list: newest first within an account and channel.
CREATE INDEX idx_cases_list ON cases (account_id, channel, started_at DESC, id DESC);
CREATE INDEX idx_cases_contact ON cases (account_id, contact_id);
CREATE UNIQUE INDEX idx_cases_ext ON cases (account_id, channel, ext_id);

CREATE TABLE case_day_counts (
    account_id  INTEGER NOT NULL REFERENCES accounts (id),
    channel     TEXT NOT NULL,
    day         INTEGER NOT NULL,
    n           INTEGER NOT NULL,
    PRIMARY KEY (account_id, channel, day)
);

CREATE TABLE messages (
    id               INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    account_id       INTEGER NOT NULL REFERENCES accounts (id),
    case_id          INTEGER NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    sender           TEXT NOT NULL CHECK (sender IN ('agent', 'contact', 'system')),
    agent_id         INTEGER REFERENCES agents (id),
    kind             TEXT NOT NULL CHECK (kind IN ('message', 'note', 'event')),
    text             TEXT NOT NULL,
    markdown         TEXT NOT NULL,
    email_from       TEXT NOT NULL,
    email_to         TEXT NOT NULL,
    email_cc         TEXT NOT NULL,
    email_bcc        TEXT NOT NULL,
    email_subject    TEXT NOT NULL,
    html_body        TEXT NOT NULL,
    sms_from         TEXT NOT NULL,
    sms_to           TEXT NOT NULL,
    read             BOOLEAN NOT NULL,
    edited           BOOLEAN NOT NULL,
    delivery_status  TEXT NOT NULL,
    delivered_at     DATETIME,
    failed_at        DATETIME,
    fail_reason      TEXT NOT NULL,
    created_at       DATETIME NOT NULL,
    updated_at       DATETIME NOT NULL
);
CREATE INDEX idx_messages_case ON messages (case_id, created_at, id);

CREATE TABLE inboxes (
    id          INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    account_id  INTEGER NOT NULL REFERENCES accounts (id),
    kind        TEXT NOT NULL CHECK (kind IN ('email', 'sms')),
    address     TEXT NOT NULL,
    created_at  DATETIME NOT NULL
);
CREATE UNIQUE INDEX idx_inboxes_address ON inboxes (account_id, kind, address);

CREATE TABLE deliveries (
    id               INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    account_id       INTEGER NOT NULL REFERENCES accounts (id),
    message_id       INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    kind             TEXT NOT NULL CHECK (kind IN ('email', 'sms')),
    status           TEXT NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'failed')),
    attempts         INTEGER NOT NULL,
    next_attempt_at  DATETIME NOT NULL,
    last_error       TEXT NOT NULL,
    provider_ref     TEXT NOT NULL,
    reference        TEXT NOT NULL,
    created_at       DATETIME NOT NULL,
    updated_at       DATETIME NOT NULL
);
CREATE UNIQUE INDEX idx_deliveries_message ON deliveries (message_id);
CREATE INDEX idx_deliveries_due ON deliveries (status, next_attempt_at);

CREATE TABLE idempotency_keys (
    id            INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    account_id    INTEGER NOT NULL REFERENCES accounts (id),
    key           TEXT NOT NULL,
    request_hash  TEXT NOT NULL,
    status        INTEGER NOT NULL,
    body          BLOB,
    headers       TEXT NOT NULL,
    created_at    DATETIME NOT NULL,
    expires_at    DATETIME NOT NULL
);
CREATE UNIQUE INDEX idx_idempotency_key ON idempotency_keys (account_id, key);
CREATE INDEX idx_idempotency_expires ON idempotency_keys (expires_at);
