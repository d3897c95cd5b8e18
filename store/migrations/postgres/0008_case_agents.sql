-- The agents of a case are the agents who wrote in it: every view of a case
-- reads them with SELECT DISTINCT agent_id. With only idx_messages_case that
-- read visits every message of the case (3.7 ms at 2,000 messages); this index
-- holds the agents' messages alone, by case, and answers it from the index.
CREATE INDEX idx_messages_case_agent ON messages (case_id, agent_id) WHERE agent_id IS NOT NULL;
