-- The whole product's data model. Identifiers are UUIDs as text and times are unix seconds
-- (BIGINT) so that one Diesel model serves PostgreSQL and SQLite alike.
-- Every token column holds a SHA-256 hash (hex), never the token itself.

CREATE TABLE organisations (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    name_key    TEXT NOT NULL UNIQUE,          -- lower-case name, for case-insensitive lookups
    created_at  BIGINT NOT NULL
);

CREATE TABLE users (
    id               TEXT PRIMARY KEY,
    organisation_id  TEXT REFERENCES organisations (id),   -- NULL for HCC staff
    email            TEXT NOT NULL UNIQUE,                  -- normalised: lower case
    first_name       TEXT,
    last_name        TEXT,
    status           TEXT NOT NULL CHECK (status IN ('invited', 'pending_otp', 'active', 'disabled')),
    role             TEXT NOT NULL CHECK (role IN ('hcc_staff', 'superuser', 'member')),
    language         TEXT NOT NULL DEFAULT 'nl',
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);
CREATE INDEX users_organisation ON users (organisation_id);

CREATE TABLE password_credentials (
    user_id      TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    hash         TEXT NOT NULL,                 -- argon2id PHC string
    changed_at   BIGINT NOT NULL
);

CREATE TABLE otp_credentials (
    id              TEXT PRIMARY KEY,
    user_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    device_name     TEXT,
    secret_sealed   BYTEA NOT NULL,             -- AES-256-GCM: nonce || ciphertext
    created_at      BIGINT NOT NULL,
    confirmed_at    BIGINT,                     -- NULL while the user is still setting it up
    last_used_step  BIGINT                      -- highest TOTP step accepted: replay guard
);
CREATE INDEX otp_credentials_user ON otp_credentials (user_id);

CREATE TABLE invitations (
    id               TEXT PRIMARY KEY,
    user_id          TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    organisation_id  TEXT REFERENCES organisations (id),
    token_hash       TEXT NOT NULL UNIQUE,
    invited_by       TEXT REFERENCES users (id),  -- NULL when HCC staff used the CLI
    created_at       BIGINT NOT NULL,
    expires_at       BIGINT NOT NULL,
    used_at          BIGINT,
    revoked_at       BIGINT                       -- replaced by a newer invitation
);
CREATE INDEX invitations_user ON invitations (user_id);

CREATE TABLE password_resets (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash   TEXT NOT NULL UNIQUE,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    used_at      BIGINT,
    revoked_at   BIGINT
);
CREATE INDEX password_resets_user ON password_resets (user_id);

-- A browser's sign-in with the IdP. The cookie holds a random id; this row is keyed by its hash.
CREATE TABLE sessions (
    id_hash        TEXT PRIMARY KEY,
    user_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    stage          TEXT NOT NULL CHECK (stage IN ('otp_setup', 'otp', 'authenticated')),
    amr            TEXT NOT NULL,               -- space-separated RFC 8176 values: pwd otp
    auth_time      BIGINT NOT NULL,
    created_at     BIGINT NOT NULL,
    last_seen_at   BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    ip_address     TEXT,
    user_agent     TEXT
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE clients (
    client_id                   TEXT PRIMARY KEY,
    secret_hash                 TEXT,           -- NULL for public clients
    name                        TEXT NOT NULL,
    redirect_uris               TEXT NOT NULL,  -- JSON array
    post_logout_redirect_uris   TEXT NOT NULL,  -- JSON array
    backchannel_logout_uri      TEXT,
    grant_types                 TEXT NOT NULL,  -- JSON array
    token_endpoint_auth_method  TEXT NOT NULL,
    scope                       TEXT NOT NULL,
    first_party                 BOOLEAN NOT NULL,
    created_at                  BIGINT NOT NULL
);

-- An authorization request waiting for the person to finish logging in (or registering).
CREATE TABLE authorization_requests (
    id_hash      TEXT PRIMARY KEY,
    client_id    TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    parameters   TEXT NOT NULL,                 -- JSON of the validated request
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);

CREATE TABLE authorization_codes (
    code_hash              TEXT PRIMARY KEY,
    client_id              TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    user_id                TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    session_id_hash        TEXT,
    redirect_uri           TEXT NOT NULL,
    scope                  TEXT NOT NULL,
    nonce                  TEXT,
    code_challenge         TEXT,
    code_challenge_method  TEXT,
    auth_time              BIGINT NOT NULL,
    amr                    TEXT NOT NULL,
    created_at             BIGINT NOT NULL,
    expires_at             BIGINT NOT NULL,
    used_at                BIGINT
);

CREATE TABLE refresh_tokens (
    token_hash        TEXT PRIMARY KEY,
    family_id         TEXT NOT NULL,
    client_id         TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    user_id           TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    session_id_hash   TEXT,
    code_hash         TEXT,                      -- the code that started the family
    scope             TEXT NOT NULL,
    auth_time         BIGINT NOT NULL,
    amr               TEXT NOT NULL,
    created_at        BIGINT NOT NULL,
    expires_at        BIGINT NOT NULL,
    rotated_at        BIGINT,
    revoked_at        BIGINT
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);

CREATE TABLE signing_keys (
    kid              TEXT PRIMARY KEY,
    algorithm        TEXT NOT NULL,
    private_sealed   BYTEA NOT NULL,            -- AES-256-GCM sealed PKCS#8 DER
    public_jwk       TEXT NOT NULL,             -- JSON
    created_at       BIGINT NOT NULL,
    retired_at       BIGINT,                    -- no longer signs from this time on
    publish_until    BIGINT                     -- dropped from JWKS after this time
);

-- Transactional outbox: a mail is committed with the row that caused it and sent afterwards.
CREATE TABLE mail_outbox (
    id               TEXT PRIMARY KEY,
    kind             TEXT NOT NULL,
    recipient        TEXT NOT NULL,
    subject          TEXT NOT NULL,
    body_text        TEXT NOT NULL,
    body_html        TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  BIGINT NOT NULL,
    claimed_until    BIGINT,                    -- a worker owns the row until then
    sent_at          BIGINT,
    last_error       TEXT
);
CREATE INDEX mail_outbox_due ON mail_outbox (sent_at, next_attempt_at);

CREATE TABLE audit_events (
    id               TEXT PRIMARY KEY,
    occurred_at      BIGINT NOT NULL,
    event            TEXT NOT NULL,
    outcome          TEXT NOT NULL,
    user_id          TEXT,
    organisation_id  TEXT,
    client_id        TEXT,
    ip_address       TEXT,
    details          TEXT NOT NULL              -- JSON object, never a secret
);
CREATE INDEX audit_events_user_time ON audit_events (user_id, occurred_at);
CREATE INDEX audit_events_time ON audit_events (occurred_at);
