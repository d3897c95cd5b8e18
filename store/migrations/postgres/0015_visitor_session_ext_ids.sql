-- A visitor session's number as the account's own systems know it
-- (models.VisitorSession.ExtID): an upload that names an unknown session
-- records it under the uploader's number, in its account only, so that no
-- client-chosen number ever enters the global id sequence. The sessions
-- created before keep being named by their id.
ALTER TABLE visitor_sessions ADD COLUMN ext_id BIGINT;
UPDATE visitor_sessions SET ext_id = id;
CREATE UNIQUE INDEX idx_visitor_sessions_ext ON visitor_sessions (account_id, ext_id);
