-- The access token each refresh produced, so ending the session can revoke it at once.
ALTER TABLE refresh_tokens ADD COLUMN access_token_jti TEXT;
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id_hash);
CREATE INDEX authorization_codes_session ON authorization_codes (session_id_hash);

-- What a client registered about itself (RFC 7591 §2, OIDC Registration §2), shown on the
-- consent page: a JSON object with client_uri, logo_uri, policy_uri, tos_uri (https) and
-- contacts (e-mail addresses). application_type is "web" or "native" (RFC 8252).
ALTER TABLE clients ADD COLUMN application_type TEXT NOT NULL DEFAULT 'web';
ALTER TABLE clients ADD COLUMN metadata TEXT NOT NULL DEFAULT '{}';

-- A person's consent to a third-party client: the scope values granted. A request within
-- them is answered without asking again; revoking deletes the row.
CREATE TABLE consents (
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id   TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    scope       TEXT NOT NULL,
    granted_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (user_id, client_id)
);
CREATE INDEX consents_client ON consents (client_id);
