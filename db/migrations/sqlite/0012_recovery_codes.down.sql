-- Back to the code kinds of 0001: recovery codes go.
CREATE TABLE verification_codes_new (
  id             TEXT    NOT NULL PRIMARY KEY,
  code_hash      TEXT    NOT NULL,
  kind           TEXT    NOT NULL,
  user_id        TEXT,
  email_id       TEXT,
  state          TEXT,
  created_ms     INTEGER NOT NULL,
  expires_ms     INTEGER NOT NULL,
  attempts       INTEGER NOT NULL DEFAULT 0,
  consumed_ms    INTEGER,
  invalidated_ms INTEGER,
  CONSTRAINT verification_codes_id_len CHECK (length(id) <= 36),
  CONSTRAINT verification_codes_code_hash_len CHECK (length(code_hash) <= 64),
  CONSTRAINT verification_codes_state_len CHECK (length(state) <= 32),
  CONSTRAINT verification_codes_kind_ck CHECK (kind IN ('login', 'email-verification', 'totp-flow')),
  CONSTRAINT verification_codes_attempts_ck CHECK (attempts >= 0 AND attempts <= 2147483647),
  CONSTRAINT verification_codes_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
  CONSTRAINT verification_codes_email_fk FOREIGN KEY (email_id) REFERENCES emails (id) ON DELETE CASCADE
) STRICT;
INSERT INTO verification_codes_new (id, code_hash, kind, user_id, email_id, state, created_ms, expires_ms, attempts, consumed_ms, invalidated_ms)
  SELECT id, code_hash, kind, user_id, email_id, state, created_ms, expires_ms, attempts, consumed_ms, invalidated_ms FROM verification_codes
  WHERE kind IN ('login', 'email-verification', 'totp-flow');
DROP TABLE verification_codes;
ALTER TABLE verification_codes_new RENAME TO verification_codes;
CREATE UNIQUE INDEX verification_codes_code_hash_uq ON verification_codes (code_hash);
CREATE INDEX verification_codes_state_idx ON verification_codes (state);
CREATE INDEX verification_codes_user_idx ON verification_codes (user_id, kind);
CREATE INDEX verification_codes_email_idx ON verification_codes (email_id);
CREATE INDEX verification_codes_expires_idx ON verification_codes (expires_ms);
