-- Back to the subject kinds of 0004: rows of the new kinds go.
DELETE FROM regulation_failures WHERE subject_kind IN ('factor', 'mail-pair');
DELETE FROM regulation_bans WHERE subject_kind IN ('factor', 'mail-pair');
ALTER TABLE regulation_failures DROP CONSTRAINT regulation_failures_subject_kind_ck;
ALTER TABLE regulation_failures ADD CONSTRAINT regulation_failures_subject_kind_ck
  CHECK (subject_kind IN ('account', 'ip', 'account-ip', 'mail', 'mail-ip'));
ALTER TABLE regulation_bans DROP CONSTRAINT regulation_bans_subject_kind_ck;
ALTER TABLE regulation_bans ADD CONSTRAINT regulation_bans_subject_kind_ck
  CHECK (subject_kind IN ('account', 'ip', 'account-ip', 'mail', 'mail-ip'));
