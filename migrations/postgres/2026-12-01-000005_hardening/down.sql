DROP TABLE consents;
ALTER TABLE clients DROP COLUMN metadata;
ALTER TABLE clients DROP COLUMN application_type;
DROP INDEX authorization_codes_session;
DROP INDEX refresh_tokens_session;
ALTER TABLE refresh_tokens DROP COLUMN access_token_jti;
