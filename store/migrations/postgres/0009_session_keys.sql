-- A key is either an API key made by `key create` (kind 'api') or a session
-- that a password login issued (kind 'session'): a session is valid only on the
-- endpoint that issued it, so its kind is stored, not guessed from its name.
ALTER TABLE api_keys ADD COLUMN kind TEXT NOT NULL DEFAULT 'api' CHECK (kind IN ('api', 'session'));
UPDATE api_keys SET kind = 'session' WHERE name = 'login.user session';
