-- authgw schema, version 1, MySQL 8.0.16+ / MariaDB 10.2.2+ dialect.
-- Kept in step with ../sqlite/0001_init.up.sql: same tables, columns,
-- index names, CHECK names and ON DELETE actions (TestSchema_dialectsAgree).
--
-- Conventions (see db/doc.go): IDs are UUIDv7 strings in CHAR(36); times
-- are UTC Unix milliseconds in BIGINT columns named *_ms; booleans are
-- 0/1; every table is InnoDB, utf8mb4 with the binary collation
-- utf8mb4_bin (case-sensitive: hashes, IDs and normalized emails compare
-- byte for byte); every foreign-key column leads an index.
--
-- The runner splits this file into statements at a ";" that ends a line;
-- no other line may end with ";".

CREATE TABLE organizations (
  id         CHAR(36)     NOT NULL,
  name       VARCHAR(255) NOT NULL,
  created_ms BIGINT       NOT NULL,
  deleted_ms BIGINT       NULL,
  PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE users (
  id            CHAR(36)     NOT NULL,
  name          VARCHAR(255) NOT NULL,
  password_hash VARCHAR(255) NULL,
  banned_ms     BIGINT       NULL,
  deleted_ms    BIGINT       NULL,
  created_ms    BIGINT       NOT NULL,
  updated_ms    BIGINT       NOT NULL,
  PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- email holds the normalized address (trimmed, domain lower-cased), so the
-- unique index is the duplicate check.
CREATE TABLE emails (
  id          CHAR(36)     NOT NULL,
  user_id     CHAR(36)     NOT NULL,
  email       VARCHAR(320) NOT NULL,
  verified_ms BIGINT       NULL,
  created_ms  BIGINT       NOT NULL,
  PRIMARY KEY (id),
  UNIQUE INDEX emails_email_uq (email),
  INDEX emails_user_idx (user_id),
  CONSTRAINT emails_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE user_roles (
  user_id CHAR(36)    NOT NULL,
  role    VARCHAR(32) NOT NULL,
  PRIMARY KEY (user_id, role),
  CONSTRAINT user_roles_role_ck CHECK (role IN ('sysadmin', 'employee', 'user')),
  CONSTRAINT user_roles_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- secret_hash: SHA-256 hex of the 256-bit secret, or a legacy bcrypt hash.
-- reqs_per_sec: -1 means unlimited.
CREATE TABLE clients (
  id              CHAR(36)     NOT NULL,
  organization_id CHAR(36)     NOT NULL,
  name            VARCHAR(255) NOT NULL,
  secret_hash     VARCHAR(255) NOT NULL,
  reqs_per_sec    INT          NOT NULL DEFAULT 10,
  created_ms      BIGINT       NOT NULL,
  updated_ms      BIGINT       NOT NULL,
  deleted_ms      BIGINT       NULL,
  PRIMARY KEY (id),
  INDEX clients_organization_idx (organization_id),
  CONSTRAINT clients_reqs_per_sec_ck CHECK (reqs_per_sec >= -1),
  CONSTRAINT clients_organization_fk FOREIGN KEY (organization_id) REFERENCES organizations (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE client_roles (
  client_id CHAR(36)    NOT NULL,
  role      VARCHAR(32) NOT NULL,
  PRIMARY KEY (client_id, role),
  CONSTRAINT client_roles_role_ck CHECK (role IN ('system', 'internal', 'external')),
  CONSTRAINT client_roles_client_fk FOREIGN KEY (client_id) REFERENCES clients (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- The unique index leads with client_id, so it also serves the lookups by
-- client and the foreign key: no separate client_id index.
CREATE TABLE client_access_restrictions (
  id         CHAR(36)     NOT NULL,
  client_id  CHAR(36)     NOT NULL,
  type       VARCHAR(8)   NOT NULL,
  value      VARCHAR(255) NOT NULL,
  created_ms BIGINT       NOT NULL,
  PRIMARY KEY (id),
  UNIQUE INDEX client_access_restrictions_uq (client_id, type, value),
  CONSTRAINT client_access_restrictions_type_ck CHECK (type IN ('ip', 'host', 'api')),
  CONSTRAINT client_access_restrictions_client_fk FOREIGN KEY (client_id) REFERENCES clients (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE org_memberships (
  id              CHAR(36) NOT NULL,
  organization_id CHAR(36) NOT NULL,
  user_id         CHAR(36) NOT NULL,
  can_read        BOOLEAN  NOT NULL DEFAULT 0,
  can_edit        BOOLEAN  NOT NULL DEFAULT 0,
  can_manage      BOOLEAN  NOT NULL DEFAULT 0,
  can_delete      BOOLEAN  NOT NULL DEFAULT 0,
  created_ms      BIGINT   NOT NULL,
  PRIMARY KEY (id),
  UNIQUE INDEX org_memberships_organization_user_uq (organization_id, user_id),
  INDEX org_memberships_user_idx (user_id),
  CONSTRAINT org_memberships_can_read_ck CHECK (can_read IN (0, 1)),
  CONSTRAINT org_memberships_can_edit_ck CHECK (can_edit IN (0, 1)),
  CONSTRAINT org_memberships_can_manage_ck CHECK (can_manage IN (0, 1)),
  CONSTRAINT org_memberships_can_delete_ck CHECK (can_delete IN (0, 1)),
  CONSTRAINT org_memberships_organization_fk FOREIGN KEY (organization_id) REFERENCES organizations (id) ON DELETE CASCADE,
  CONSTRAINT org_memberships_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- One row per backend API version: requests to /<name>/v<version>/... go
-- to url while active.
CREATE TABLE apis (
  name               VARCHAR(64)   NOT NULL,
  version            INT           NOT NULL,
  url                VARCHAR(2048) NOT NULL,
  allow_unidentified BOOLEAN       NOT NULL DEFAULT 0,
  active             BOOLEAN       NOT NULL DEFAULT 1,
  created_ms         BIGINT        NOT NULL,
  updated_ms         BIGINT        NOT NULL,
  PRIMARY KEY (name, version),
  CONSTRAINT apis_version_ck CHECK (version >= 0),
  CONSTRAINT apis_allow_unidentified_ck CHECK (allow_unidentified IN (0, 1)),
  CONSTRAINT apis_active_ck CHECK (active IN (0, 1))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- invalidated_ms feeds the gateways' revocation sets (SPEC 7.6): they poll
-- for sessions invalidated since their last poll.
CREATE TABLE sessions (
  id                 CHAR(36)     NOT NULL,
  user_id            CHAR(36)     NOT NULL,
  client_id          CHAR(36)     NULL,
  ip                 VARCHAR(45)  NOT NULL DEFAULT '',
  user_agent         VARCHAR(512) NOT NULL DEFAULT '',
  created_ms         BIGINT       NOT NULL,
  expires_ms         BIGINT       NOT NULL,
  refreshed_ms       BIGINT       NOT NULL,
  invalidated_ms     BIGINT       NULL,
  invalidated_reason VARCHAR(32)  NULL,
  PRIMARY KEY (id),
  INDEX sessions_user_idx (user_id),
  INDEX sessions_client_idx (client_id),
  INDEX sessions_invalidated_idx (invalidated_ms),
  INDEX sessions_expires_idx (expires_ms),
  CONSTRAINT sessions_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
  CONSTRAINT sessions_client_fk FOREIGN KEY (client_id) REFERENCES clients (id) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Refresh tokens, stored as the SHA-256 hex of the token. Rotation sets
-- consumed_ms and replaced_by (the successor's hash, deliberately without a
-- foreign key: the successor may be pruned first); presenting a consumed
-- token again revokes its family (reuse detection).
CREATE TABLE session_tokens (
  token_hash  CHAR(64)    NOT NULL,
  session_id  CHAR(36)    NOT NULL,
  family      VARCHAR(36) NOT NULL,
  created_ms  BIGINT      NOT NULL,
  expires_ms  BIGINT      NOT NULL,
  consumed_ms BIGINT      NULL,
  replaced_by CHAR(64)    NULL,
  PRIMARY KEY (token_hash),
  INDEX session_tokens_session_idx (session_id),
  INDEX session_tokens_family_idx (family),
  INDEX session_tokens_expires_idx (expires_ms),
  CONSTRAINT session_tokens_session_fk FOREIGN KEY (session_id) REFERENCES sessions (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Login codes, email-verification codes and TOTP flow codes, stored as the
-- SHA-256 (or HMAC-SHA256) hex of the code. state binds a login code to
-- the login that asked for it.
CREATE TABLE verification_codes (
  id             CHAR(36)    NOT NULL,
  code_hash      CHAR(64)    NOT NULL,
  kind           VARCHAR(32) NOT NULL,
  user_id        CHAR(36)    NULL,
  email_id       CHAR(36)    NULL,
  state          CHAR(32)    NULL,
  created_ms     BIGINT      NOT NULL,
  expires_ms     BIGINT      NOT NULL,
  attempts       INT         NOT NULL DEFAULT 0,
  consumed_ms    BIGINT      NULL,
  invalidated_ms BIGINT      NULL,
  PRIMARY KEY (id),
  UNIQUE INDEX verification_codes_code_hash_uq (code_hash),
  INDEX verification_codes_state_idx (state),
  INDEX verification_codes_user_idx (user_id, kind),
  INDEX verification_codes_email_idx (email_id),
  INDEX verification_codes_expires_idx (expires_ms),
  CONSTRAINT verification_codes_kind_ck CHECK (kind IN ('login', 'email-verification', 'totp-flow')),
  CONSTRAINT verification_codes_attempts_ck CHECK (attempts >= 0),
  CONSTRAINT verification_codes_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
  CONSTRAINT verification_codes_email_fk FOREIGN KEY (email_id) REFERENCES emails (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- secret_ciphertext: the TOTP secret sealed with AES-GCM (nonce included).
-- last_used_step: the last accepted 30 s step; a step is never accepted twice.
CREATE TABLE totp_secrets (
  user_id           CHAR(36)       NOT NULL,
  secret_ciphertext VARBINARY(255) NOT NULL,
  confirmed_ms      BIGINT         NULL,
  last_used_step    BIGINT         NOT NULL DEFAULT 0,
  created_ms        BIGINT         NOT NULL,
  PRIMARY KEY (user_id),
  CONSTRAINT totp_secrets_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Brute-force regulation (SPEC 7.3): one row per failed step, counted over
-- a window per subject; a ban row per banned subject.
CREATE TABLE regulation_failures (
  id           CHAR(36)     NOT NULL,
  subject_kind VARCHAR(16)  NOT NULL,
  subject      VARCHAR(320) NOT NULL,
  step         VARCHAR(16)  NOT NULL,
  failed_ms    BIGINT       NOT NULL,
  PRIMARY KEY (id),
  INDEX regulation_failures_subject_idx (subject_kind, subject, failed_ms),
  INDEX regulation_failures_failed_idx (failed_ms),
  CONSTRAINT regulation_failures_subject_kind_ck CHECK (subject_kind IN ('account', 'ip'))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE regulation_bans (
  subject_kind VARCHAR(16)  NOT NULL,
  subject      VARCHAR(320) NOT NULL,
  until_ms     BIGINT       NOT NULL,
  PRIMARY KEY (subject_kind, subject),
  INDEX regulation_bans_until_idx (until_ms),
  CONSTRAINT regulation_bans_subject_kind_ck CHECK (subject_kind IN ('account', 'ip'))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- The revocation feed (SPEC 7.6): gateways poll for rows with id above
-- their cursor. kind session: subject is a session ID; kind user: every
-- token of the user issued before not_before_ms is refused. A row is
-- useless after expires_ms (the longest token lifetime has passed).
CREATE TABLE revocations (
  id            BIGINT      NOT NULL AUTO_INCREMENT,
  kind          VARCHAR(16) NOT NULL,
  subject       VARCHAR(36) NOT NULL,
  not_before_ms BIGINT      NOT NULL,
  expires_ms    BIGINT      NOT NULL,
  created_ms    BIGINT      NOT NULL,
  PRIMARY KEY (id),
  INDEX revocations_created_idx (created_ms),
  INDEX revocations_expires_idx (expires_ms),
  CONSTRAINT revocations_kind_ck CHECK (kind IN ('session', 'user'))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
