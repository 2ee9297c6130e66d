DROP INDEX audit_events_organisation_time;
DROP INDEX invitations_organisation_created;
DROP INDEX users_organisation_created;
ALTER TABLE users DROP COLUMN blocked_by_staff;
ALTER TABLE users DROP COLUMN last_login_at;
