-- REVE's chat list filtered by agent pages like the unfiltered one: each
-- account keeps a count of every agent's assigned chats per UTC day.
CREATE TABLE assignee_day_counts (
    account_id  BIGINT NOT NULL REFERENCES accounts (id),
    agent_id    BIGINT NOT NULL,
    day         BIGINT NOT NULL,
    n           BIGINT NOT NULL,
    PRIMARY KEY (account_id, agent_id, day)
);
INSERT INTO assignee_day_counts (account_id, agent_id, day, n)
SELECT account_id, assignee_id, floor(extract(epoch FROM started_at) / 86400)::bigint AS day, count(*)
FROM cases WHERE channel = 'chat' AND assignee_id IS NOT NULL
GROUP BY account_id, assignee_id, day;
