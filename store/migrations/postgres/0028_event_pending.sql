-- Events written without their number yet (seq = -id, see
-- store/event_numbering.go): a numbering round reads an account's pending
-- events here, and NumberEvents the accounts that have any. The index holds
-- only the events between a commit and its round, so it stays tiny.
CREATE INDEX idx_events_pending ON events (account_id, id) WHERE seq < 0;
