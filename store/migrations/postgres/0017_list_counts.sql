-- Every list pages from whichever end is nearer, so each sort key of a
-- HelpCrunch list has an index ending in id, the tie-break. A NULL time
-- sorts as the smallest value (first ascending, last descending), so that
-- one index read either way serves both orders.
CREATE INDEX idx_cases_last_message_id ON cases (account_id, last_message_at NULLS FIRST, id);
CREATE INDEX idx_cases_last_customer_message ON cases (account_id, last_customer_message_at NULLS FIRST, id);
CREATE INDEX idx_cases_closed ON cases (account_id, closed_at NULLS FIRST, id);
CREATE INDEX idx_contacts_created ON contacts (account_id, created_at, id);
CREATE INDEX idx_contacts_updated ON contacts (account_id, updated_at, id);

-- An unfiltered contact list's total is the sum of a few maintained counts,
-- not a COUNT(*) over every contact. The triggers below keep them in the
-- transaction of every insert and delete, whatever path makes it. Each
-- transaction adds to one of 16 rows of its account (by transaction id), so
-- that concurrent writers of one account seldom wait on the same row, and
-- one transaction never holds two of them.
CREATE TABLE contact_counts (
    account_id  BIGINT NOT NULL REFERENCES accounts (id),
    shard       INTEGER NOT NULL,
    n           BIGINT NOT NULL,
    PRIMARY KEY (account_id, shard)
);
INSERT INTO contact_counts (account_id, shard, n)
SELECT account_id, 0, count(*) FROM contacts GROUP BY account_id;

CREATE FUNCTION contact_counts_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO contact_counts (account_id, shard, n)
        SELECT account_id, (txid_current() % 16)::integer, count(*) FROM contact_counts_new GROUP BY account_id ORDER BY account_id
        ON CONFLICT (account_id, shard) DO UPDATE SET n = contact_counts.n + excluded.n;
    ELSE
        INSERT INTO contact_counts (account_id, shard, n)
        SELECT account_id, (txid_current() % 16)::integer, -count(*) FROM contact_counts_old GROUP BY account_id ORDER BY account_id
        ON CONFLICT (account_id, shard) DO UPDATE SET n = contact_counts.n + excluded.n;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER contacts_counted_insert AFTER INSERT ON contacts
    REFERENCING NEW TABLE AS contact_counts_new
    FOR EACH STATEMENT EXECUTE FUNCTION contact_counts_add();
CREATE TRIGGER contacts_counted_delete AFTER DELETE ON contacts
    REFERENCING OLD TABLE AS contact_counts_old
    FOR EACH STATEMENT EXECUTE FUNCTION contact_counts_add();
