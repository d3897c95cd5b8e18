-- Every list pages from whichever end is nearer, so each sort key of a
-- HelpCrunch list has an index ending in id, the tie-break. A NULL time
-- sorts as the smallest value (first ascending, last descending), SQLite's
-- own order, so that one index read either way serves both orders.
CREATE INDEX idx_cases_last_message_id ON cases (account_id, last_message_at, id);
CREATE INDEX idx_cases_last_customer_message ON cases (account_id, last_customer_message_at, id);
CREATE INDEX idx_cases_closed ON cases (account_id, closed_at, id);
CREATE INDEX idx_contacts_created ON contacts (account_id, created_at, id);
CREATE INDEX idx_contacts_updated ON contacts (account_id, updated_at, id);

-- An unfiltered contact list's total is the sum of a few maintained counts,
-- not a COUNT(*) over every contact. The triggers below keep them in the
-- transaction of every insert and delete, whatever path makes it. SQLite has
-- one writer at a time, so one row per account (shard 0) is enough; the
-- shards are PostgreSQL's.
CREATE TABLE contact_counts (
    account_id  INTEGER NOT NULL REFERENCES accounts (id),
    shard       INTEGER NOT NULL,
    n           INTEGER NOT NULL,
    PRIMARY KEY (account_id, shard)
);
INSERT INTO contact_counts (account_id, shard, n)
SELECT account_id, 0, count(*) FROM contacts WHERE true GROUP BY account_id;

CREATE TRIGGER contacts_counted_insert AFTER INSERT ON contacts
BEGIN
    INSERT INTO contact_counts (account_id, shard, n) VALUES (NEW.account_id, 0, 1)
    ON CONFLICT (account_id, shard) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER contacts_counted_delete AFTER DELETE ON contacts
BEGIN
    INSERT INTO contact_counts (account_id, shard, n) VALUES (OLD.account_id, 0, -1)
    ON CONFLICT (account_id, shard) DO UPDATE SET n = n - 1;
END;
