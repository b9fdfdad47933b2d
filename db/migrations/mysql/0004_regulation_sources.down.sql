DROP TABLE IF EXISTS shared_material;

-- Back to the two subject kinds of 0001: rows of the other kinds go.
DELETE FROM regulation_failures WHERE subject_kind NOT IN ('account', 'ip');
DELETE FROM regulation_bans WHERE subject_kind NOT IN ('account', 'ip');
ALTER TABLE regulation_failures DROP CONSTRAINT regulation_failures_subject_kind_ck;
ALTER TABLE regulation_failures ADD CONSTRAINT regulation_failures_subject_kind_ck
  CHECK (subject_kind IN ('account', 'ip'));
ALTER TABLE regulation_bans DROP CONSTRAINT regulation_bans_subject_kind_ck;
ALTER TABLE regulation_bans ADD CONSTRAINT regulation_bans_subject_kind_ck
  CHECK (subject_kind IN ('account', 'ip'));
