-- Every case gets a timeline id of its own: a second handle of the case,
-- numbered by its own sequence, apart from the case's id (Acquire shows it as
-- the case's timelineId). The store takes the ids from timelines_id_seq when
-- it writes cases (reserveIDs' "timelines"); the default covers rows written
-- by plain SQL. Existing cases are numbered in id order.
CREATE SEQUENCE timelines_id_seq START WITH 100000;
ALTER TABLE cases ADD COLUMN timeline_id BIGINT;
UPDATE cases SET timeline_id = t.timeline_id
FROM (SELECT id, nextval('timelines_id_seq') AS timeline_id FROM (SELECT id FROM cases ORDER BY id) o) t
WHERE cases.id = t.id;
ALTER TABLE cases ALTER COLUMN timeline_id SET DEFAULT nextval('timelines_id_seq'),
    ALTER COLUMN timeline_id SET NOT NULL;
ALTER SEQUENCE timelines_id_seq OWNED BY cases.timeline_id;
CREATE UNIQUE INDEX idx_cases_timeline ON cases (timeline_id);
