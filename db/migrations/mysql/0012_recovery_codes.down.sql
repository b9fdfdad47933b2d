-- Back to the code kinds of 0001: recovery codes go.
DELETE FROM verification_codes WHERE kind = 'recovery';
ALTER TABLE verification_codes DROP CONSTRAINT verification_codes_kind_ck;
ALTER TABLE verification_codes ADD CONSTRAINT verification_codes_kind_ck
  CHECK (kind IN ('login', 'email-verification', 'totp-flow'));
