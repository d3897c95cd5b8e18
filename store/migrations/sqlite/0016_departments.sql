-- Departments (HelpCrunch's chat department{id,name}): each account names
-- its own, a name once per account. A case may be in one (department_id,
-- nullable), and a chat may be snoozed until a time (snoozed_until,
-- nullable; see store.SnoozeCase).
CREATE TABLE departments (
    id          INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    account_id  INTEGER NOT NULL REFERENCES accounts (id),
    name        TEXT NOT NULL,
    created_at  DATETIME NOT NULL
);
CREATE UNIQUE INDEX idx_departments_name ON departments (account_id, name);
ALTER TABLE cases ADD COLUMN department_id INTEGER REFERENCES departments (id);
ALTER TABLE cases ADD COLUMN snoozed_until DATETIME;
