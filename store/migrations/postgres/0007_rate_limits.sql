-- Per-account request limits: how many requests each key (or each agent
-- signing in with a password) may make a minute and a day.
ALTER TABLE accounts ADD COLUMN rate_limit INTEGER NOT NULL DEFAULT 120;
ALTER TABLE accounts ADD COLUMN daily_rate_limit INTEGER NOT NULL DEFAULT 100000;
