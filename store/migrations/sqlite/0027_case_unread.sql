-- The console's unread counts (store.UnreadCounts): an account's unread
-- cases of one channel, read as a range of this index alone. Only unread
-- cases are in it, so it stays small however many cases are read, and a
-- count of one channel stops at store.UnreadCap entries.
CREATE INDEX idx_cases_unread ON cases (account_id, channel) WHERE unread;
