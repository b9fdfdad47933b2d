-- authgw schema, version 1, SQLite 3.37+ dialect (STRICT tables).
-- Kept in step with ../mysql/0001_init.up.sql: same tables, columns,
-- index names, CHECK names and ON DELETE actions (TestSchema_dialectsAgree).
--
-- Conventions (see db/doc.go): IDs are UUIDv7 strings; times are UTC Unix
-- milliseconds in INTEGER columns named *_ms; booleans are 0/1; text
-- compares byte for byte (BINARY collation, like utf8mb4_bin); every
-- foreign-key column leads an index. MySQL's column widths (VARCHAR(n),
-- CHAR(n), VARBINARY(n)) are CHECKs named <table>_<column>_len here, so
-- a value too long for one dialect is refused by both. Foreign keys are
-- enforced because Open sets PRAGMA foreign_keys = ON.
--
-- The runner splits this file into statements at a ";" that ends a line;
-- no other line may end with ";".

CREATE TABLE organizations (
  id         TEXT    NOT NULL PRIMARY KEY,
  name       TEXT    NOT NULL,
  created_ms INTEGER NOT NULL,
  deleted_ms INTEGER,
  CONSTRAINT organizations_id_len CHECK (length(id) <= 36),
  CONSTRAINT organizations_name_len CHECK (length(name) <= 255)
) STRICT;

CREATE TABLE users (
  id            TEXT    NOT NULL PRIMARY KEY,
  name          TEXT    NOT NULL,
  password_hash TEXT,
  banned_ms     INTEGER,
  deleted_ms    INTEGER,
  created_ms    INTEGER NOT NULL,
  updated_ms    INTEGER NOT NULL,
  CONSTRAINT users_id_len CHECK (length(id) <= 36),
  CONSTRAINT users_name_len CHECK (length(name) <= 255),
  CONSTRAINT users_password_hash_len CHECK (length(password_hash) <= 255)
) STRICT;

-- email holds the normalized address (trimmed, domain lower-cased), so the
-- unique index is the duplicate check.
CREATE TABLE emails (
  id          TEXT    NOT NULL PRIMARY KEY,
  user_id     TEXT    NOT NULL,
  email       TEXT    NOT NULL,
  verified_ms INTEGER,
  created_ms  INTEGER NOT NULL,
  CONSTRAINT emails_id_len CHECK (length(id) <= 36),
  CONSTRAINT emails_email_len CHECK (length(email) <= 320),
  CONSTRAINT emails_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) STRICT;
CREATE UNIQUE INDEX emails_email_uq ON emails (email);
CREATE INDEX emails_user_idx ON emails (user_id);

CREATE TABLE user_roles (
  user_id TEXT NOT NULL,
  role    TEXT NOT NULL,
  PRIMARY KEY (user_id, role),
  CONSTRAINT user_roles_role_ck CHECK (role IN ('sysadmin', 'employee', 'user')),
  CONSTRAINT user_roles_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) STRICT;

-- secret_hash: SHA-256 hex of the 256-bit secret, or a legacy bcrypt hash.
-- reqs_per_sec: -1 means unlimited.
CREATE TABLE clients (
  id              TEXT    NOT NULL PRIMARY KEY,
  organization_id TEXT    NOT NULL,
  name            TEXT    NOT NULL,
  secret_hash     TEXT    NOT NULL,
  reqs_per_sec    INTEGER NOT NULL DEFAULT 10,
  created_ms      INTEGER NOT NULL,
  updated_ms      INTEGER NOT NULL,
  deleted_ms      INTEGER,
  CONSTRAINT clients_id_len CHECK (length(id) <= 36),
  CONSTRAINT clients_name_len CHECK (length(name) <= 255),
  CONSTRAINT clients_secret_hash_len CHECK (length(secret_hash) <= 255),
  CONSTRAINT clients_reqs_per_sec_ck CHECK (reqs_per_sec >= -1 AND reqs_per_sec <= 2147483647),
  CONSTRAINT clients_organization_fk FOREIGN KEY (organization_id) REFERENCES organizations (id) ON DELETE CASCADE
) STRICT;
CREATE INDEX clients_organization_idx ON clients (organization_id);

CREATE TABLE client_roles (
  client_id TEXT NOT NULL,
  role      TEXT NOT NULL,
  PRIMARY KEY (client_id, role),
  CONSTRAINT client_roles_role_ck CHECK (role IN ('system', 'internal', 'external')),
  CONSTRAINT client_roles_client_fk FOREIGN KEY (client_id) REFERENCES clients (id) ON DELETE CASCADE
) STRICT;

-- The unique index leads with client_id, so it also serves the lookups by
-- client and the foreign key: no separate client_id index.
CREATE TABLE client_access_restrictions (
  id         TEXT    NOT NULL PRIMARY KEY,
  client_id  TEXT    NOT NULL,
  type       TEXT    NOT NULL,
  value      TEXT    NOT NULL,
  created_ms INTEGER NOT NULL,
  CONSTRAINT client_access_restrictions_id_len CHECK (length(id) <= 36),
  CONSTRAINT client_access_restrictions_value_len CHECK (length(value) <= 255),
  CONSTRAINT client_access_restrictions_type_ck CHECK (type IN ('ip', 'host', 'api')),
  CONSTRAINT client_access_restrictions_client_fk FOREIGN KEY (client_id) REFERENCES clients (id) ON DELETE CASCADE
) STRICT;
CREATE UNIQUE INDEX client_access_restrictions_uq ON client_access_restrictions (client_id, type, value);

CREATE TABLE org_memberships (
  id              TEXT    NOT NULL PRIMARY KEY,
  organization_id TEXT    NOT NULL,
  user_id         TEXT    NOT NULL,
  can_read        INTEGER NOT NULL DEFAULT 0,
  can_edit        INTEGER NOT NULL DEFAULT 0,
  can_manage      INTEGER NOT NULL DEFAULT 0,
  can_delete      INTEGER NOT NULL DEFAULT 0,
  created_ms      INTEGER NOT NULL,
  CONSTRAINT org_memberships_id_len CHECK (length(id) <= 36),
  CONSTRAINT org_memberships_can_read_ck CHECK (can_read IN (0, 1)),
  CONSTRAINT org_memberships_can_edit_ck CHECK (can_edit IN (0, 1)),
  CONSTRAINT org_memberships_can_manage_ck CHECK (can_manage IN (0, 1)),
  CONSTRAINT org_memberships_can_delete_ck CHECK (can_delete IN (0, 1)),
  CONSTRAINT org_memberships_organization_fk FOREIGN KEY (organization_id) REFERENCES organizations (id) ON DELETE CASCADE,
  CONSTRAINT org_memberships_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) STRICT;
CREATE UNIQUE INDEX org_memberships_organization_user_uq ON org_memberships (organization_id, user_id);
CREATE INDEX org_memberships_user_idx ON org_memberships (user_id);

-- One row per backend API version: requests to /<name>/v<version>/... go
-- to url while active.
CREATE TABLE apis (
  name               TEXT    NOT NULL,
  version            INTEGER NOT NULL,
  url                TEXT    NOT NULL,
  allow_unidentified INTEGER NOT NULL DEFAULT 0,
  active             INTEGER NOT NULL DEFAULT 1,
  created_ms         INTEGER NOT NULL,
  updated_ms         INTEGER NOT NULL,
  PRIMARY KEY (name, version),
  CONSTRAINT apis_name_len CHECK (length(name) <= 64),
  CONSTRAINT apis_url_len CHECK (length(url) <= 2048),
  CONSTRAINT apis_version_ck CHECK (version >= 0 AND version <= 2147483647),
  CONSTRAINT apis_allow_unidentified_ck CHECK (allow_unidentified IN (0, 1)),
  CONSTRAINT apis_active_ck CHECK (active IN (0, 1))
) STRICT;

-- invalidated_ms feeds the gateways' revocation sets (SPEC 7.6): they poll
-- for sessions invalidated since their last poll.
CREATE TABLE sessions (
  id                 TEXT    NOT NULL PRIMARY KEY,
  user_id            TEXT    NOT NULL,
  client_id          TEXT,
  ip                 TEXT    NOT NULL DEFAULT '',
  user_agent         TEXT    NOT NULL DEFAULT '',
  created_ms         INTEGER NOT NULL,
  expires_ms         INTEGER NOT NULL,
  refreshed_ms       INTEGER NOT NULL,
  invalidated_ms     INTEGER,
  invalidated_reason TEXT,
  CONSTRAINT sessions_id_len CHECK (length(id) <= 36),
  CONSTRAINT sessions_ip_len CHECK (length(ip) <= 45),
  CONSTRAINT sessions_user_agent_len CHECK (length(user_agent) <= 512),
  CONSTRAINT sessions_invalidated_reason_len CHECK (length(invalidated_reason) <= 32),
  CONSTRAINT sessions_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
  CONSTRAINT sessions_client_fk FOREIGN KEY (client_id) REFERENCES clients (id) ON DELETE SET NULL
) STRICT;
CREATE INDEX sessions_user_idx ON sessions (user_id);
CREATE INDEX sessions_client_idx ON sessions (client_id);
CREATE INDEX sessions_invalidated_idx ON sessions (invalidated_ms);
CREATE INDEX sessions_expires_idx ON sessions (expires_ms);

-- Refresh tokens, stored as the SHA-256 hex of the token. Rotation sets
-- consumed_ms and replaced_by (the successor's hash, deliberately without a
-- foreign key: the successor may be pruned first); presenting a consumed
-- token again revokes its family (reuse detection).
CREATE TABLE session_tokens (
  token_hash  TEXT    NOT NULL PRIMARY KEY,
  session_id  TEXT    NOT NULL,
  family      TEXT    NOT NULL,
  created_ms  INTEGER NOT NULL,
  expires_ms  INTEGER NOT NULL,
  consumed_ms INTEGER,
  replaced_by TEXT,
  CONSTRAINT session_tokens_token_hash_len CHECK (length(token_hash) <= 64),
  CONSTRAINT session_tokens_family_len CHECK (length(family) <= 36),
  CONSTRAINT session_tokens_replaced_by_len CHECK (length(replaced_by) <= 64),
  CONSTRAINT session_tokens_session_fk FOREIGN KEY (session_id) REFERENCES sessions (id) ON DELETE CASCADE
) STRICT;
CREATE INDEX session_tokens_session_idx ON session_tokens (session_id);
CREATE INDEX session_tokens_family_idx ON session_tokens (family);
CREATE INDEX session_tokens_expires_idx ON session_tokens (expires_ms);

-- Login codes, email-verification codes and TOTP flow codes, stored as the
-- SHA-256 (or HMAC-SHA256) hex of the code. state binds a login code to
-- the login that asked for it.
CREATE TABLE verification_codes (
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
CREATE UNIQUE INDEX verification_codes_code_hash_uq ON verification_codes (code_hash);
CREATE INDEX verification_codes_state_idx ON verification_codes (state);
CREATE INDEX verification_codes_user_idx ON verification_codes (user_id, kind);
CREATE INDEX verification_codes_email_idx ON verification_codes (email_id);
CREATE INDEX verification_codes_expires_idx ON verification_codes (expires_ms);

-- secret_ciphertext: the TOTP secret sealed with AES-GCM (nonce included).
-- last_used_step: the last accepted 30 s step; a step is never accepted twice.
CREATE TABLE totp_secrets (
  user_id           TEXT    NOT NULL PRIMARY KEY,
  secret_ciphertext BLOB    NOT NULL,
  confirmed_ms      INTEGER,
  last_used_step    INTEGER NOT NULL DEFAULT 0,
  created_ms        INTEGER NOT NULL,
  CONSTRAINT totp_secrets_secret_ciphertext_len CHECK (length(secret_ciphertext) <= 255),
  CONSTRAINT totp_secrets_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) STRICT;

-- Brute-force regulation (SPEC 7.3): one row per failed step, counted over
-- a window per subject; a ban row per banned subject.
CREATE TABLE regulation_failures (
  id           TEXT    NOT NULL PRIMARY KEY,
  subject_kind TEXT    NOT NULL,
  subject      TEXT    NOT NULL,
  step         TEXT    NOT NULL,
  failed_ms    INTEGER NOT NULL,
  CONSTRAINT regulation_failures_id_len CHECK (length(id) <= 36),
  CONSTRAINT regulation_failures_subject_len CHECK (length(subject) <= 320),
  CONSTRAINT regulation_failures_step_len CHECK (length(step) <= 16),
  CONSTRAINT regulation_failures_subject_kind_ck CHECK (subject_kind IN ('account', 'ip'))
) STRICT;
CREATE INDEX regulation_failures_subject_idx ON regulation_failures (subject_kind, subject, failed_ms);
CREATE INDEX regulation_failures_failed_idx ON regulation_failures (failed_ms);

CREATE TABLE regulation_bans (
  subject_kind TEXT    NOT NULL,
  subject      TEXT    NOT NULL,
  until_ms     INTEGER NOT NULL,
  PRIMARY KEY (subject_kind, subject),
  CONSTRAINT regulation_bans_subject_len CHECK (length(subject) <= 320),
  CONSTRAINT regulation_bans_subject_kind_ck CHECK (subject_kind IN ('account', 'ip'))
) STRICT;
CREATE INDEX regulation_bans_until_idx ON regulation_bans (until_ms);

-- The revocation feed (SPEC 7.6): gateways poll for rows with id above
-- their cursor. kind session: subject is a session ID; kind user: every
-- token of the user issued before not_before_ms is refused. A row is
-- useless after expires_ms (the longest token lifetime has passed).
-- AUTOINCREMENT, not a plain rowid: pruning the newest row must never let
-- its id be handed out again, or a gateway past that cursor would miss it.
CREATE TABLE revocations (
  id            INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
  kind          TEXT    NOT NULL,
  subject       TEXT    NOT NULL,
  not_before_ms INTEGER NOT NULL,
  expires_ms    INTEGER NOT NULL,
  created_ms    INTEGER NOT NULL,
  CONSTRAINT revocations_subject_len CHECK (length(subject) <= 36),
  CONSTRAINT revocations_kind_ck CHECK (kind IN ('session', 'user'))
) STRICT;
CREATE INDEX revocations_created_idx ON revocations (created_ms);
CREATE INDEX revocations_expires_idx ON revocations (expires_ms);
