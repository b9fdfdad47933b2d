-- Issue 15: password recovery. A recovery code is a row of
-- verification_codes of the new kind 'recovery', bound to the user and to
-- the verified address it was mailed to (user_id, email_id): deleting the
-- address or the account deletes the code with it (ON DELETE CASCADE).
ALTER TABLE verification_codes DROP CONSTRAINT verification_codes_kind_ck;
ALTER TABLE verification_codes ADD CONSTRAINT verification_codes_kind_ck
  CHECK (kind IN ('login', 'email-verification', 'totp-flow', 'recovery'));
