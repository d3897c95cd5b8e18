-- Every case gets a timeline id of its own: a second handle of the case,
-- numbered apart from the case's id (Acquire shows it as the case's
-- timelineId). SQLite has no sequences: the table timelines holds no rows,
-- only its AUTOINCREMENT counter in sqlite_sequence, which the store moves
-- on inside the transaction that writes the cases (reserveIDs' "timelines",
-- under the database's write lock), so no two cases share an id. Existing
-- cases are numbered in id order from 100000, as on PostgreSQL.
CREATE TABLE timelines (id INTEGER PRIMARY KEY AUTOINCREMENT);
ALTER TABLE cases ADD COLUMN timeline_id INTEGER NOT NULL DEFAULT 0;
UPDATE cases SET timeline_id = t.n
FROM (SELECT id, 99999 + ROW_NUMBER() OVER (ORDER BY id) AS n FROM cases) t
WHERE cases.id = t.id;
INSERT INTO sqlite_sequence (name, seq) SELECT 'timelines', 99999 + COUNT(*) FROM cases;
CREATE UNIQUE INDEX idx_cases_timeline ON cases (timeline_id);
