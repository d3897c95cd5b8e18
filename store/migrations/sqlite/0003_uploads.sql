-- CallGear deletes only what was uploaded through its API, so a case records
-- that it was.
ALTER TABLE cases ADD COLUMN uploaded BOOLEAN NOT NULL DEFAULT false;
