-- Reverts 0003_email_keys.up.sql. It fails when two accounts now hold one
-- address (unverified), which the old unique index on email forbade:
-- delete the extra rows first.

DROP TABLE IF EXISTS mail_sends;

ALTER TABLE emails DROP INDEX emails_email_uq, DROP INDEX emails_user_key_uq, DROP INDEX emails_email_key_idx, ADD UNIQUE INDEX emails_email_uq (email);

ALTER TABLE emails DROP COLUMN verified_key, DROP COLUMN email_key;
