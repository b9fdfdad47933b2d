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

-- Fingerprints of the key material every instance on this database must
-- share (server ID, TOTP key, request-info key, each key of the ring by
-- its ID): HMAC-SHA256 of the material under a fixed label, never the
-- material. The first instance records them; every later start compares.
CREATE TABLE shared_material (
  name        VARCHAR(80) NOT NULL,
  fingerprint CHAR(64)    NOT NULL,
  created_ms  BIGINT      NOT NULL,
  PRIMARY KEY (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
