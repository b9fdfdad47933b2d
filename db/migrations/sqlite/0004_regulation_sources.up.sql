-- Issue 12, points 7, 9 and 15.
--
-- Regulation gets three more subject kinds: account-ip (failures of one
-- account from one source: these ban), mail and mail-ip (login-code
-- requests per address and per source, counted apart from failures).
-- SQLite cannot alter a CHECK constraint: the two tables are rebuilt,
-- their rows kept.
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
  SELECT id, subject_kind, subject, step, failed_ms FROM regulation_failures;
DROP TABLE regulation_failures;
ALTER TABLE regulation_failures_new RENAME TO regulation_failures;
CREATE INDEX regulation_failures_subject_idx ON regulation_failures (subject_kind, subject, failed_ms);
CREATE INDEX regulation_failures_failed_idx ON regulation_failures (failed_ms);

-- Account rows of regulation_bans are no longer bans but holds: until
-- then, checks of the account wait (at most a few seconds); they are
-- never refused. An old 15-minute account ban would be read as a hold
-- too (the wait is capped), so nothing needs converting.
CREATE TABLE regulation_bans_new (
  subject_kind TEXT    NOT NULL,
  subject      TEXT    NOT NULL,
  until_ms     INTEGER NOT NULL,
  PRIMARY KEY (subject_kind, subject),
  CONSTRAINT regulation_bans_subject_len CHECK (length(subject) <= 320),
  CONSTRAINT regulation_bans_subject_kind_ck CHECK (subject_kind IN ('account', 'ip', 'account-ip', 'mail', 'mail-ip'))
) STRICT;
INSERT INTO regulation_bans_new (subject_kind, subject, until_ms)
  SELECT subject_kind, subject, until_ms FROM regulation_bans;
DROP TABLE regulation_bans;
ALTER TABLE regulation_bans_new RENAME TO regulation_bans;
CREATE INDEX regulation_bans_until_idx ON regulation_bans (until_ms);

-- Fingerprints of the key material every instance on this database must
-- share (server ID, TOTP key, request-info key, each key of the ring by
-- its ID): HMAC-SHA256 of the material under a fixed label, never the
-- material. The first instance records them; every later start compares.
CREATE TABLE shared_material (
  name        TEXT    NOT NULL PRIMARY KEY,
  fingerprint TEXT    NOT NULL,
  created_ms  INTEGER NOT NULL,
  CONSTRAINT shared_material_name_len CHECK (length(name) <= 80),
  CONSTRAINT shared_material_fingerprint_len CHECK (length(fingerprint) = 64)
) STRICT;
