-- Brute-force and abuse counters, kept in the database so limits hold across IdP nodes.
-- Keys name what is counted: 'pwd:acct:<sha256 of address>', 'pwd:ip:<address>',
-- 'otp:acct:<user id>', 'mail:acct:<sha256>', … Separate keys for the password and the
-- one-time-code stage: a wrong password never counts against the code, and vice versa.
CREATE TABLE throttle_counters (
    key               TEXT PRIMARY KEY,
    failures          INTEGER NOT NULL,
    first_failure_at  BIGINT NOT NULL,
    last_failure_at   BIGINT NOT NULL,
    locked_until      BIGINT
);
CREATE INDEX throttle_counters_last ON throttle_counters (last_failure_at);
