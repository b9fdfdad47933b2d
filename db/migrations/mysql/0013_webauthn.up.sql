-- Issue 16: passkeys (WebAuthn). Kept in step with ../sqlite/0013_webauthn.up.sql,
-- which says what the columns hold.
CREATE TABLE webauthn_credentials (
  id              CHAR(36)        NOT NULL,
  user_id         CHAR(36)        NOT NULL,
  credential_id   VARBINARY(1023) NOT NULL,
  public_key      VARBINARY(2048) NOT NULL,
  sign_count      BIGINT          NOT NULL DEFAULT 0,
  aaguid          VARBINARY(16)   NOT NULL,
  transports      VARCHAR(200)    NOT NULL DEFAULT '',
  backup_eligible TINYINT         NOT NULL DEFAULT 0,
  backup_state    TINYINT         NOT NULL DEFAULT 0,
  clone_warning   TINYINT         NOT NULL DEFAULT 0,
  name            VARCHAR(100)    NOT NULL,
  created_ms      BIGINT          NOT NULL,
  last_used_ms    BIGINT          NULL,
  PRIMARY KEY (id),
  UNIQUE INDEX webauthn_credentials_credential_uq (credential_id),
  INDEX webauthn_credentials_user_idx (user_id),
  CONSTRAINT webauthn_credentials_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE webauthn_ceremonies (
  ceremony_key VARCHAR(80)     NOT NULL,
  user_id      CHAR(36)        NULL,
  session_data VARBINARY(8192) NOT NULL,
  created_ms   BIGINT          NOT NULL,
  expires_ms   BIGINT          NOT NULL,
  PRIMARY KEY (ceremony_key),
  INDEX webauthn_ceremonies_user_idx (user_id),
  INDEX webauthn_ceremonies_expires_idx (expires_ms),
  CONSTRAINT webauthn_ceremonies_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
