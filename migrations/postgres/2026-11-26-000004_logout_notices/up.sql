-- Back-channel logout notices: an outbox like mail_outbox. A notice is committed with the
-- session end that causes it and delivered (retried) by a worker, so a crash or a relying
-- party that is down loses nothing. The logout token is signed at delivery time.
CREATE TABLE logout_notices (
    id                TEXT PRIMARY KEY,
    client_id         TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    uri               TEXT NOT NULL,
    user_id           TEXT NOT NULL,
    session_id_hash   TEXT NOT NULL,
    created_at        BIGINT NOT NULL,
    attempts          INTEGER NOT NULL DEFAULT 0,
    next_attempt_at   BIGINT NOT NULL,
    claimed_until     BIGINT,
    delivered_at      BIGINT,
    given_up_at       BIGINT,
    last_error        TEXT
);
CREATE INDEX logout_notices_due ON logout_notices (delivered_at, next_attempt_at);
