-- Departments (HelpCrunch's chat department{id,name}): each account names
-- its own, a name once per account. A case may be in one (department_id,
-- nullable), and a chat may be snoozed until a time (snoozed_until,
-- nullable; see store.SnoozeCase).
CREATE TABLE departments (
    id          BIGSERIAL PRIMARY KEY,
    account_id  BIGINT NOT NULL REFERENCES accounts (id),
    name        TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX idx_departments_name ON departments (account_id, name);
ALTER TABLE cases ADD COLUMN department_id BIGINT REFERENCES departments (id);
ALTER TABLE cases ADD COLUMN snoozed_until TIMESTAMPTZ;
