ALTER TABLE otp_credentials DROP COLUMN last_used_at;
DROP INDEX recovery_codes_user;
DROP TABLE recovery_codes;
