ALTER TABLE authorization_codes DROP COLUMN access_token_jti;
DROP TABLE revoked_access_tokens;
