-- Back to the subject kinds of 0004: rows of the new kinds go.
CREATE TABLE regulation_failures_new (
  id           TEXT    NOT NULL PRIMARY KEY,
  subject_kind TEXT    NOT NULL,
  subject      TEXT    NOT NULL,
  step         TEXT    NOT NULL,
  failed_ms    INTEGER NOT NULL,
  CONSTRAINT regulation_failures_id_len CHECK (length(id) <= 36),
  CONSTRAINT regulation_failures_subject_len CHECK (length(subject) <= 320),
  CONSTRAINT regulation_failures_step_len CHECK (length(step) <= 16),
  CONSTRAINT regulation_failures_subject_kind_ck CHECK (subject_kind IN ('account', 'ip', 'account-ip', 'mail', 'mail-ip'))
) STRICT;
INSERT INTO regulation_failures_new (id, subject_kind, subject, step, failed_ms)
  SELECT id, subject_kind, subject, step, failed_ms FROM regulation_failures WHERE subject_kind IN ('account', 'ip', 'account-ip', 'mail', 'mail-ip');
DROP TABLE regulation_failures;
ALTER TABLE regulation_failures_new RENAME TO regulation_failures;
CREATE INDEX regulation_failures_subject_idx ON regulation_failures (subject_kind, subject, failed_ms);
CREATE INDEX regulation_failures_failed_idx ON regulation_failures (failed_ms);

CREATE TABLE regulation_bans_new (
  subject_kind TEXT    NOT NULL,
  subject      TEXT    NOT NULL,
  until_ms     INTEGER NOT NULL,
  PRIMARY KEY (subject_kind, subject),
  CONSTRAINT regulation_bans_subject_len CHECK (length(subject) <= 320),
  CONSTRAINT regulation_bans_subject_kind_ck CHECK (subject_kind IN ('account', 'ip', 'account-ip', 'mail', 'mail-ip'))
) STRICT;
INSERT INTO regulation_bans_new (subject_kind, subject, until_ms)
  SELECT subject_kind, subject, until_ms FROM regulation_bans WHERE subject_kind IN ('account', 'ip', 'account-ip', 'mail', 'mail-ip');
DROP TABLE regulation_bans;
ALTER TABLE regulation_bans_new RENAME TO regulation_bans;
CREATE INDEX regulation_bans_until_idx ON regulation_bans (until_ms);
