-- The access token a code produced, so a replayed code can revoke it (RFC 6749 §4.1.2).
-- JWT access tokens are self-contained; revocation (RFC 7009) and introspection (RFC 7662)
-- consult this list of revoked token ids until the tokens would have expired anyway.
CREATE TABLE revoked_access_tokens (
    jti         TEXT PRIMARY KEY,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX revoked_access_tokens_expiry ON revoked_access_tokens (expires_at);
ALTER TABLE authorization_codes ADD COLUMN access_token_jti TEXT;
