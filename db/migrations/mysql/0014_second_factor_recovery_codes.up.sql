-- Issue 16: single-use recovery codes of the second factor, shown once
-- when TOTP is confirmed (or regenerated) and typed at login in place of
-- a TOTP code. Only the SHA-256 of each code is kept (code_hash, 64 hex
-- characters); a used code keeps its row with used_ms set, so that the
-- user sees how many are left. Regenerating replaces all of a user's
-- rows; deleting the user deletes them (ON DELETE CASCADE).
CREATE TABLE factor_recovery_codes (
  user_id    CHAR(36)    NOT NULL,
  code_hash  VARCHAR(64) NOT NULL,
  created_ms BIGINT      NOT NULL,
  used_ms    BIGINT      NULL,
  PRIMARY KEY (user_id, code_hash),
  CONSTRAINT factor_recovery_codes_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
