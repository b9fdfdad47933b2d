-- Issue 16: passkeys (WebAuthn). Kept in step with ../mysql/0013_webauthn.up.sql.
--
-- webauthn_credentials: one row per passkey of a user. credential_id is
-- the authenticator's ID of the credential (unique across all users: an
-- assertion names it before the user is known), public_key its COSE key,
-- sign_count the last signature counter seen (a counter that goes back
-- means a cloned authenticator: clone_warning is set and the passkey is
-- refused from then on), aaguid the authenticator model, transports a
-- comma-separated list of hints, backup_eligible and backup_state the
-- flags of the authenticator data, name the user's label.
CREATE TABLE webauthn_credentials (
  id              TEXT    NOT NULL PRIMARY KEY,
  user_id         TEXT    NOT NULL,
  credential_id   BLOB    NOT NULL,
  public_key      BLOB    NOT NULL,
  sign_count      INTEGER NOT NULL DEFAULT 0,
  aaguid          BLOB    NOT NULL,
  transports      TEXT    NOT NULL DEFAULT '',
  backup_eligible INTEGER NOT NULL DEFAULT 0,
  backup_state    INTEGER NOT NULL DEFAULT 0,
  clone_warning   INTEGER NOT NULL DEFAULT 0,
  name            TEXT    NOT NULL,
  created_ms      INTEGER NOT NULL,
  last_used_ms    INTEGER,
  CONSTRAINT webauthn_credentials_id_len CHECK (length(id) <= 36),
  CONSTRAINT webauthn_credentials_credential_id_len CHECK (length(credential_id) <= 1023),
  CONSTRAINT webauthn_credentials_public_key_len CHECK (length(public_key) <= 2048),
  CONSTRAINT webauthn_credentials_aaguid_len CHECK (length(aaguid) <= 16),
  CONSTRAINT webauthn_credentials_transports_len CHECK (length(transports) <= 200),
  CONSTRAINT webauthn_credentials_name_len CHECK (length(name) <= 100),
  CONSTRAINT webauthn_credentials_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) STRICT;
CREATE UNIQUE INDEX webauthn_credentials_credential_uq ON webauthn_credentials (credential_id);
CREATE INDEX webauthn_credentials_user_idx ON webauthn_credentials (user_id);

-- webauthn_ceremonies: a registration or login in progress, keyed by what
-- it is bound to ("reg:<user id>" or "login:<login state>"), holding the
-- library's session data (the challenge). Taken once (deleted as it is
-- read), void after expires_ms; expired rows are deleted as new ones are
-- written.
CREATE TABLE webauthn_ceremonies (
  ceremony_key TEXT    NOT NULL PRIMARY KEY,
  user_id      TEXT,
  session_data BLOB    NOT NULL,
  created_ms   INTEGER NOT NULL,
  expires_ms   INTEGER NOT NULL,
  CONSTRAINT webauthn_ceremonies_ceremony_key_len CHECK (length(ceremony_key) <= 80),
  CONSTRAINT webauthn_ceremonies_session_data_len CHECK (length(session_data) <= 8192),
  CONSTRAINT webauthn_ceremonies_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) STRICT;
CREATE INDEX webauthn_ceremonies_user_idx ON webauthn_ceremonies (user_id);
CREATE INDEX webauthn_ceremonies_expires_idx ON webauthn_ceremonies (expires_ms);
