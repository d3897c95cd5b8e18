-- CallGear's get.chat_messages_report reads an account's messages by the
-- time they were sent (a window of at most 30 days): this index bounds
-- both its page and its total to the window's rows.
CREATE INDEX idx_messages_account_time ON messages (account_id, created_at, id);
