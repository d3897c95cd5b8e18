-- applied_at: the write a request made under its Idempotency-Key committed
-- (set in the write's own transaction). released_at: the request then failed
-- to answer, so the key answers "applied, response lost" instead of running
-- the write again.
ALTER TABLE idempotency_keys ADD COLUMN applied_at TIMESTAMPTZ;
ALTER TABLE idempotency_keys ADD COLUMN released_at TIMESTAMPTZ;
