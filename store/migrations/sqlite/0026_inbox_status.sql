-- The console's inbox filtered by status (store.Inbox): the newest activity
-- of an account's open (or closed) cases, read as one backward range instead
-- of a walk of every case's activity until a page of that status is found.
CREATE INDEX idx_cases_status_activity ON cases (account_id, status, last_message_at, id);
