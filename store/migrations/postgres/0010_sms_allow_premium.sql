-- Whether an account's agents may text numbers that can cost more than an
-- ordinary SMS (premium-rate, shared-cost, UAN, unknown type): off, so that a
-- leaked key cannot run up a bill on such numbers unless an admin allows it.
ALTER TABLE accounts ADD COLUMN sms_allow_premium BOOLEAN NOT NULL DEFAULT false;
