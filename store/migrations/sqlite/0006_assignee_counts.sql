-- REVE's chat list filtered by agent pages like the unfiltered one: each
-- account keeps a count of every agent's assigned chats per UTC day.
CREATE TABLE assignee_day_counts (
    account_id  INTEGER NOT NULL REFERENCES accounts (id),
    agent_id    INTEGER NOT NULL,
    day         INTEGER NOT NULL,
    n           INTEGER NOT NULL,
    PRIMARY KEY (account_id, agent_id, day)
);
INSERT INTO assignee_day_counts (account_id, agent_id, day, n)
SELECT account_id, assignee_id, CAST(floor(unixepoch(started_at) / 86400.0) AS INTEGER) AS day, count(*)
FROM cases WHERE channel = 'chat' AND assignee_id IS NOT NULL
GROUP BY account_id, assignee_id, day;
