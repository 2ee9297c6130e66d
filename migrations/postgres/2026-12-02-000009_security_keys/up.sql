-- Passkeys and security keys (WebAuthn) as a second factor beside the authenticator apps, and
-- the state of a WebAuthn ceremony between its two requests (single use, short-lived).
CREATE TABLE security_keys (
    id               TEXT PRIMARY KEY,
    user_id          TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name             TEXT,
    credential_id    TEXT NOT NULL UNIQUE,   -- base64url of the authenticator's credential id
    credential       TEXT NOT NULL,          -- the public key, counter and flags (webauthn-rs JSON)
    counter          BIGINT NOT NULL,        -- the signature counter last accepted (0: it does not count)
    backup_eligible  BOOLEAN NOT NULL,       -- a synced passkey (amr swk) rather than a device-bound key (hwk)
    created_at       BIGINT NOT NULL,
    last_used_at     BIGINT
);
CREATE INDEX security_keys_user ON security_keys (user_id);

CREATE TABLE webauthn_ceremonies (
    session_id_hash  TEXT NOT NULL,
    purpose          TEXT NOT NULL,          -- 'register' or 'authenticate'
    state            TEXT NOT NULL,          -- the challenge and what it allows (webauthn-rs JSON)
    expires_at       BIGINT NOT NULL,
    PRIMARY KEY (session_id_hash, purpose)
);
