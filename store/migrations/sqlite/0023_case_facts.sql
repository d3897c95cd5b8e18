-- Facts of a case's messages that its lists show, kept in their own table
-- (one row per case that has messages; none is no messages):
--   contact_message_id      the visitor's first message (sender contact, kind
--                           message; the earliest by created_at, then id);
--   reply_count             the agents' messages and the visitor's later ones
--                           (kind message): REVE's replies;
--   first/last_agent_message_at  the first and last agent message (kind message).
-- Each list read them per row with subqueries over the case's messages; kept
-- here, a page costs one lookup a row, whatever the cases' lengths. The
-- triggers below keep them in the transaction of every insert, delete and
-- re-homing update of messages, whatever path makes it; a case's row goes
-- with the case.
CREATE TABLE case_facts (
    case_id                INTEGER PRIMARY KEY REFERENCES cases (id) ON DELETE CASCADE,
    contact_message_id     INTEGER,
    reply_count            INTEGER NOT NULL DEFAULT 0,
    first_agent_message_at DATETIME,
    last_agent_message_at  DATETIME
);

INSERT INTO case_facts (case_id, contact_message_id, reply_count, first_agent_message_at, last_agent_message_at)
SELECT c.id,
    (SELECT m.id FROM messages m WHERE m.case_id = c.id AND m.sender = 'contact' AND m.kind = 'message'
        ORDER BY m.created_at, m.id LIMIT 1),
    (SELECT COUNT(*) - COALESCE(MAX(CASE WHEN m.sender = 'contact' THEN 1 ELSE 0 END), 0) FROM messages m
        WHERE m.case_id = c.id AND m.sender IN ('agent', 'contact') AND m.kind = 'message'),
    (SELECT m.created_at FROM messages m WHERE m.case_id = c.id AND m.sender = 'agent' AND m.kind = 'message'
        ORDER BY m.created_at, m.id LIMIT 1),
    (SELECT m.created_at FROM messages m WHERE m.case_id = c.id AND m.sender = 'agent' AND m.kind = 'message'
        ORDER BY m.created_at DESC, m.id DESC LIMIT 1)
FROM cases c WHERE EXISTS (SELECT 1 FROM messages m WHERE m.case_id = c.id);

-- An insert adds to the facts: a visitor message may be the first one (the
-- others count as replies), an agent message may move the first or last
-- agent time. The first and last are found down idx_messages_case from the
-- case's ends, which a new message is at.
CREATE TRIGGER messages_case_facts_insert AFTER INSERT ON messages
WHEN NEW.kind = 'message' AND NEW.sender IN ('agent', 'contact')
BEGIN
    INSERT INTO case_facts (case_id) VALUES (NEW.case_id) ON CONFLICT (case_id) DO NOTHING;
    UPDATE case_facts SET
        reply_count = reply_count + CASE WHEN NEW.sender = 'contact' AND contact_message_id IS NULL THEN 0 ELSE 1 END,
        contact_message_id = CASE WHEN NEW.sender = 'contact' THEN
            (SELECT m.id FROM messages m WHERE m.case_id = NEW.case_id AND m.sender = 'contact' AND m.kind = 'message'
                ORDER BY m.created_at, m.id LIMIT 1) ELSE contact_message_id END,
        first_agent_message_at = CASE WHEN NEW.sender = 'agent' THEN
            (SELECT m.created_at FROM messages m WHERE m.case_id = NEW.case_id AND m.sender = 'agent' AND m.kind = 'message'
                ORDER BY m.created_at, m.id LIMIT 1) ELSE first_agent_message_at END,
        last_agent_message_at = CASE WHEN NEW.sender = 'agent' THEN
            (SELECT m.created_at FROM messages m WHERE m.case_id = NEW.case_id AND m.sender = 'agent' AND m.kind = 'message'
                ORDER BY m.created_at DESC, m.id DESC LIMIT 1) ELSE last_agent_message_at END
    WHERE case_id = NEW.case_id;
END;

-- A delete takes one from the replies, or, deleting the visitor's first
-- message, makes the next one (no longer a reply) the first.
CREATE TRIGGER messages_case_facts_delete AFTER DELETE ON messages
WHEN OLD.kind = 'message' AND OLD.sender IN ('agent', 'contact')
BEGIN
    UPDATE case_facts SET
        reply_count = reply_count - CASE WHEN contact_message_id IS NOT OLD.id THEN 1
            WHEN EXISTS (SELECT 1 FROM messages m WHERE m.case_id = OLD.case_id AND m.sender = 'contact' AND m.kind = 'message') THEN 1
            ELSE 0 END,
        contact_message_id = CASE WHEN contact_message_id IS OLD.id THEN
            (SELECT m.id FROM messages m WHERE m.case_id = OLD.case_id AND m.sender = 'contact' AND m.kind = 'message'
                ORDER BY m.created_at, m.id LIMIT 1) ELSE contact_message_id END,
        first_agent_message_at = CASE WHEN OLD.sender = 'agent' THEN
            (SELECT m.created_at FROM messages m WHERE m.case_id = OLD.case_id AND m.sender = 'agent' AND m.kind = 'message'
                ORDER BY m.created_at, m.id LIMIT 1) ELSE first_agent_message_at END,
        last_agent_message_at = CASE WHEN OLD.sender = 'agent' THEN
            (SELECT m.created_at FROM messages m WHERE m.case_id = OLD.case_id AND m.sender = 'agent' AND m.kind = 'message'
                ORDER BY m.created_at DESC, m.id DESC LIMIT 1) ELSE last_agent_message_at END
    WHERE case_id = OLD.case_id;
END;

-- A message moved to another case, or changed to another sender, kind or
-- time, changes the facts of both cases: no write does that today; if one
-- does, they are computed again.
CREATE TRIGGER messages_case_facts_update AFTER UPDATE OF case_id, sender, kind, created_at ON messages
WHEN OLD.case_id IS NOT NEW.case_id OR OLD.sender IS NOT NEW.sender OR OLD.kind IS NOT NEW.kind
    OR OLD.created_at IS NOT NEW.created_at
BEGIN
    INSERT INTO case_facts (case_id) VALUES (NEW.case_id) ON CONFLICT (case_id) DO NOTHING;
    UPDATE case_facts SET
        contact_message_id = (SELECT m.id FROM messages m WHERE m.case_id = case_facts.case_id AND m.sender = 'contact' AND m.kind = 'message'
            ORDER BY m.created_at, m.id LIMIT 1),
        reply_count = (SELECT COUNT(*) - COALESCE(MAX(CASE WHEN m.sender = 'contact' THEN 1 ELSE 0 END), 0) FROM messages m
            WHERE m.case_id = case_facts.case_id AND m.sender IN ('agent', 'contact') AND m.kind = 'message'),
        first_agent_message_at = (SELECT m.created_at FROM messages m WHERE m.case_id = case_facts.case_id AND m.sender = 'agent' AND m.kind = 'message'
            ORDER BY m.created_at, m.id LIMIT 1),
        last_agent_message_at = (SELECT m.created_at FROM messages m WHERE m.case_id = case_facts.case_id AND m.sender = 'agent' AND m.kind = 'message'
            ORDER BY m.created_at DESC, m.id DESC LIMIT 1)
    WHERE case_id IN (OLD.case_id, NEW.case_id);
END;
