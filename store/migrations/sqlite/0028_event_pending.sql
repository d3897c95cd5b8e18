-- On SQLite a write numbers its events itself and none is ever pending
-- (store/event_numbering.go); the index keeps the two schemas alike.
CREATE INDEX idx_events_pending ON events (account_id, id) WHERE seq < 0;
