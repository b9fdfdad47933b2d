-- Issue 12 review, findings 2 and 4.
--
-- Regulation gets two more subject kinds: factor (failures of an account
-- at the steps only someone past its first factor reaches: the TOTP login
-- step and the proofs of an authenticated user; these ban the account at
-- those steps) and mail-pair (login-code requests per address and source).
ALTER TABLE regulation_failures DROP CONSTRAINT regulation_failures_subject_kind_ck;
ALTER TABLE regulation_failures ADD CONSTRAINT regulation_failures_subject_kind_ck
  CHECK (subject_kind IN ('account', 'ip', 'account-ip', 'mail', 'mail-ip', 'factor', 'mail-pair'));
ALTER TABLE regulation_bans DROP CONSTRAINT regulation_bans_subject_kind_ck;
ALTER TABLE regulation_bans ADD CONSTRAINT regulation_bans_subject_kind_ck
  CHECK (subject_kind IN ('account', 'ip', 'account-ip', 'mail', 'mail-ip', 'factor', 'mail-pair'));
