-- Issue 12, points 7, 9 and 15.
--
-- Regulation gets three more subject kinds: account-ip (failures of one
-- account from one source: these ban), mail and mail-ip (login-code
-- requests per address and per source, counted apart from failures).
-- Account rows of regulation_bans become holds: checks of the account
-- wait until then (capped at a few seconds) and are never refused.
ALTER TABLE regulation_failures DROP CONSTRAINT regulation_failures_subject_kind_ck;
ALTER TABLE regulation_failures ADD CONSTRAINT regulation_failures_subject_kind_ck
  CHECK (subject_kind IN ('account', 'ip', 'account-ip', 'mail', 'mail-ip'));
ALTER TABLE regulation_bans DROP CONSTRAINT regulation_bans_subject_kind_ck;
ALTER TABLE regulation_bans ADD CONSTRAINT regulation_bans_subject_kind_ck
  CHECK (subject_kind IN ('account', 'ip', 'account-ip', 'mail', 'mail-ip'));
