-- Email and SMS replies: per-account hourly quotas on the paid channels, the
-- count behind them, and the due rows the delivery worker claims.
ALTER TABLE accounts ADD COLUMN emails_per_hour INTEGER NOT NULL DEFAULT 1000;
ALTER TABLE accounts ADD COLUMN sms_per_hour INTEGER NOT NULL DEFAULT 200;
CREATE INDEX idx_deliveries_quota ON deliveries (account_id, kind, created_at);
