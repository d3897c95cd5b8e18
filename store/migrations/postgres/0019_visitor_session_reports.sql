-- CallGear's get.visitor_sessions_report reads an account's sessions by the
-- time they started, within a window of at most three months, and counts
-- them there: both walk this index instead of the table. Its communications
-- are the cases naming each session, found by the second index.
CREATE INDEX idx_visitor_sessions_started ON visitor_sessions (account_id, started_at, id);
CREATE INDEX idx_cases_visitor_session ON cases (visitor_session_id);
