ALTER TABLE mail_outbox DROP COLUMN given_up_at;
