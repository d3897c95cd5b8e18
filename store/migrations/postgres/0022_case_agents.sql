-- The agents of a case are the agents who wrote in it. Every view of a case
-- showed them by SELECT DISTINCT over the case's agent messages, which grows
-- with the case (25-40 ms at 1,600 messages); this table holds each pair once,
-- so that the read costs the same for a case of 10 messages or 10,000. The
-- triggers below keep it in the transaction of every insert and delete of
-- messages, whatever path makes it (a message, a sent email or SMS, an
-- inbound one, an upload's COPY), and a case's rows go with the case.
CREATE TABLE case_agents (
    case_id   BIGINT NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    agent_id  BIGINT NOT NULL REFERENCES agents (id),
    PRIMARY KEY (case_id, agent_id)
);
INSERT INTO case_agents (case_id, agent_id)
SELECT DISTINCT case_id, agent_id FROM messages WHERE agent_id IS NOT NULL;

-- One statement-level trigger a statement, however many rows it wrote: an
-- upload's thousands of messages cost one INSERT here. The pairs are taken
-- in key order, so that concurrent writers lock them in the same order.
CREATE FUNCTION case_agents_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO case_agents (case_id, agent_id)
        SELECT DISTINCT case_id, agent_id FROM case_agents_new WHERE agent_id IS NOT NULL ORDER BY case_id, agent_id
        ON CONFLICT DO NOTHING;
    ELSE
        -- An agent stays while any of his messages in the case does
        -- (idx_messages_case_agent answers that).
        DELETE FROM case_agents ca
        USING (SELECT DISTINCT case_id, agent_id FROM case_agents_old WHERE agent_id IS NOT NULL) o
        WHERE ca.case_id = o.case_id AND ca.agent_id = o.agent_id
            AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.case_id = o.case_id AND m.agent_id = o.agent_id);
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER messages_case_agents_insert AFTER INSERT ON messages
    REFERENCING NEW TABLE AS case_agents_new
    FOR EACH STATEMENT EXECUTE FUNCTION case_agents_keep();
CREATE TRIGGER messages_case_agents_delete AFTER DELETE ON messages
    REFERENCING OLD TABLE AS case_agents_old
    FOR EACH STATEMENT EXECUTE FUNCTION case_agents_keep();
