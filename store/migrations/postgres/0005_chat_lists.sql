-- REVE's chat list filters by agent; newest first within the agent's cases.
CREATE INDEX idx_cases_assignee ON cases (account_id, assignee_id, started_at DESC, id DESC);
