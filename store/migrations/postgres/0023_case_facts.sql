-- Facts of a case's messages that its lists show, kept in their own table
-- (one row per case that has messages; none is no messages):
--   contact_message_id      the visitor's first message (sender contact, kind
--                           message; the earliest by created_at, then id);
--   reply_count             the agents' messages and the visitor's later ones
--                           (kind message): REVE's replies;
--   first/last_agent_message_at  the first and last agent message (kind message).
-- Each list read them per row with subqueries over the case's messages, which
-- cost a REVE page two index scans a row and a chat view a scan of every
-- agent message of its case; kept here, a page costs one lookup a row,
-- whatever the cases' lengths. The trigger below keeps them (and
-- case_agents, 0022) in the transaction of every insert, delete and
-- re-homing update of messages, whatever path makes it; a case's row goes
-- with the case.
CREATE TABLE case_facts (
    case_id                BIGINT PRIMARY KEY REFERENCES cases (id) ON DELETE CASCADE,
    contact_message_id     BIGINT,
    reply_count            BIGINT NOT NULL DEFAULT 0,
    first_agent_message_at TIMESTAMPTZ,
    last_agent_message_at  TIMESTAMPTZ
);

-- The facts of the given cases computed from their messages: the backfill,
-- and a delete's or an update's (rare: an upload's resend, a case delete)
-- recomputation. A case that no longer exists gets no row.
CREATE FUNCTION case_facts_compute(ids BIGINT[]) RETURNS void LANGUAGE sql AS $$
    INSERT INTO case_facts (case_id, contact_message_id, reply_count, first_agent_message_at, last_agent_message_at)
    SELECT f.id, f.contact_message_id, f.n - CASE WHEN f.contact_message_id IS NULL THEN 0 ELSE 1 END, f.first_agent, f.last_agent
    FROM (SELECT x.id,
            (SELECT m.id FROM messages m WHERE m.case_id = x.id AND m.sender = 'contact' AND m.kind = 'message'
                ORDER BY m.created_at, m.id LIMIT 1) AS contact_message_id,
            (SELECT COUNT(*) FROM messages m WHERE m.case_id = x.id AND m.sender IN ('agent', 'contact') AND m.kind = 'message') AS n,
            (SELECT MIN(m.created_at) FROM messages m WHERE m.case_id = x.id AND m.sender = 'agent' AND m.kind = 'message') AS first_agent,
            (SELECT MAX(m.created_at) FROM messages m WHERE m.case_id = x.id AND m.sender = 'agent' AND m.kind = 'message') AS last_agent
        FROM (SELECT DISTINCT unnest(ids) AS id ORDER BY 1) x
        WHERE EXISTS (SELECT 1 FROM cases c WHERE c.id = x.id)) f
    ORDER BY f.id
    ON CONFLICT (case_id) DO UPDATE SET contact_message_id = excluded.contact_message_id, reply_count = excluded.reply_count,
        first_agent_message_at = excluded.first_agent_message_at, last_agent_message_at = excluded.last_agent_message_at;
$$;

SELECT case_facts_compute(ARRAY(SELECT DISTINCT case_id FROM messages));

-- One statement-level trigger a statement, however many rows it wrote: an
-- upload's thousands of messages cost one upsert. An insert adds to the
-- facts (only a visitor message can move the first one, found by
-- idx_messages_case from the case's start): the row written counts the new
-- messages less the first visitor one, and a case that had a first visitor
-- message already counts that one back. A delete recomputes its cases. Rows
-- are taken in key order, so that concurrent writers lock them in the same
-- order.
CREATE OR REPLACE FUNCTION case_agents_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO case_agents (case_id, agent_id)
        SELECT DISTINCT case_id, agent_id FROM case_agents_new WHERE agent_id IS NOT NULL ORDER BY case_id, agent_id
        ON CONFLICT DO NOTHING;
        INSERT INTO case_facts AS f (case_id, contact_message_id, reply_count, first_agent_message_at, last_agent_message_at)
        SELECT d.case_id,
            CASE WHEN d.visitor THEN (SELECT m.id FROM messages m WHERE m.case_id = d.case_id AND m.sender = 'contact'
                AND m.kind = 'message' ORDER BY m.created_at, m.id LIMIT 1) END,
            d.n - CASE WHEN d.visitor THEN 1 ELSE 0 END, d.first_agent, d.last_agent
        FROM (SELECT case_id, COUNT(*) AS n, bool_or(sender = 'contact') AS visitor,
                MIN(created_at) FILTER (WHERE sender = 'agent') AS first_agent,
                MAX(created_at) FILTER (WHERE sender = 'agent') AS last_agent
            FROM case_agents_new WHERE kind = 'message' AND sender IN ('agent', 'contact')
            GROUP BY case_id) d
        ORDER BY d.case_id
        ON CONFLICT (case_id) DO UPDATE SET
            reply_count = f.reply_count + excluded.reply_count
                + CASE WHEN f.contact_message_id IS NOT NULL AND excluded.contact_message_id IS NOT NULL THEN 1 ELSE 0 END,
            contact_message_id = COALESCE(excluded.contact_message_id, f.contact_message_id),
            first_agent_message_at = LEAST(f.first_agent_message_at, excluded.first_agent_message_at),
            last_agent_message_at = GREATEST(f.last_agent_message_at, excluded.last_agent_message_at);
    ELSE
        -- An agent stays while any of his messages in the case does
        -- (idx_messages_case_agent answers that).
        DELETE FROM case_agents ca
        USING (SELECT DISTINCT case_id, agent_id FROM case_agents_old WHERE agent_id IS NOT NULL) o
        WHERE ca.case_id = o.case_id AND ca.agent_id = o.agent_id
            AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.case_id = o.case_id AND m.agent_id = o.agent_id);
        PERFORM case_facts_compute(ARRAY(SELECT DISTINCT case_id FROM case_agents_old
            WHERE kind = 'message' AND sender IN ('agent', 'contact')));
    END IF;
    RETURN NULL;
END;
$$;

-- A message moved to another case, or changed to another sender, kind or
-- time, changes the facts of both cases. No write does that today, so a
-- row trigger (PostgreSQL allows no transition table with a column list)
-- keeps them right if one does.
CREATE FUNCTION case_facts_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM case_facts_compute(ARRAY[OLD.case_id, NEW.case_id]);
    RETURN NULL;
END;
$$;

CREATE TRIGGER messages_case_facts_update AFTER UPDATE OF case_id, sender, kind, created_at ON messages
    FOR EACH ROW WHEN (OLD.case_id IS DISTINCT FROM NEW.case_id OR OLD.sender IS DISTINCT FROM NEW.sender
        OR OLD.kind IS DISTINCT FROM NEW.kind OR OLD.created_at IS DISTINCT FROM NEW.created_at)
    EXECUTE FUNCTION case_facts_moved();

-- Basic auth may reuse an agent it read until the agent changes: every
-- committed change of what a login is checked against, by whatever path
-- (switchboard's own writes, or SQL typed by hand), is announced to every
-- replica (store.ListenAgents). NOTIFY is sent on commit, and not at all on
-- a rollback.
CREATE FUNCTION agents_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('switchboard_agents', '');
    RETURN NULL;
END;
$$;

CREATE TRIGGER agents_changed AFTER UPDATE OF email, password_hash, role, enabled, account_id OR DELETE ON agents
    FOR EACH STATEMENT EXECUTE FUNCTION agents_notify();
