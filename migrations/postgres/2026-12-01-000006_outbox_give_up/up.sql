-- Both outboxes (mail_outbox, logout_notices) are worked by one mechanism (src/outbox.rs):
-- a mail can be given up, as a notice can, when the policy says so.
ALTER TABLE mail_outbox ADD COLUMN given_up_at BIGINT;
