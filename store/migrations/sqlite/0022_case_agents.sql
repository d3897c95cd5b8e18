-- The agents of a case are the agents who wrote in it. Every view of a case
-- showed them by SELECT DISTINCT over the case's agent messages, which grows
-- with the case; this table holds each pair once, so that the read costs the
-- same for a case of 10 messages or 10,000. The triggers below keep it in
-- the transaction of every insert and delete of messages, whatever path
-- makes it, and a case's rows go with the case.
CREATE TABLE case_agents (
    case_id   INTEGER NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    agent_id  INTEGER NOT NULL REFERENCES agents (id),
    PRIMARY KEY (case_id, agent_id)
);
INSERT INTO case_agents (case_id, agent_id)
SELECT DISTINCT case_id, agent_id FROM messages WHERE agent_id IS NOT NULL;

CREATE TRIGGER messages_case_agents_insert AFTER INSERT ON messages
WHEN NEW.agent_id IS NOT NULL
BEGIN
    INSERT INTO case_agents (case_id, agent_id) VALUES (NEW.case_id, NEW.agent_id)
    ON CONFLICT DO NOTHING;
END;
-- An agent stays while any of his messages in the case does
-- (idx_messages_case_agent answers that).
CREATE TRIGGER messages_case_agents_delete AFTER DELETE ON messages
WHEN OLD.agent_id IS NOT NULL
BEGIN
    DELETE FROM case_agents WHERE case_id = OLD.case_id AND agent_id = OLD.agent_id
        AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.case_id = OLD.case_id AND m.agent_id = OLD.agent_id);
END;
