-- The person's own account page: recovery codes (ten single-use codes, stored only as keyed
-- hashes; generating new ones voids the old), and when each authenticator was last used.
CREATE TABLE recovery_codes (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash   TEXT NOT NULL UNIQUE,           -- HMAC-SHA256 of the person and the code
    created_at  BIGINT NOT NULL,
    used_at     BIGINT                          -- NULL while the code can still be used
);
CREATE INDEX recovery_codes_user ON recovery_codes (user_id);
ALTER TABLE otp_credentials ADD COLUMN last_used_at BIGINT;
