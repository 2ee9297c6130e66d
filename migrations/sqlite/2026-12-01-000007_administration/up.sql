-- Organisation administration (portal and admin API): when a person last logged in (the
-- "Laatst ingelogd" column), and whether HCC staff blocked the account (a superuser may not
-- unblock it then).
ALTER TABLE users ADD COLUMN last_login_at INTEGER;
ALTER TABLE users ADD COLUMN blocked_by_staff BOOLEAN NOT NULL DEFAULT 0;
CREATE INDEX users_organisation_created ON users (organisation_id, created_at, id);
CREATE INDEX invitations_organisation_created ON invitations (organisation_id, created_at, id);
CREATE INDEX audit_events_organisation_time ON audit_events (organisation_id, occurred_at, id);
