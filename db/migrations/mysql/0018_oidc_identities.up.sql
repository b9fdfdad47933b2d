-- Issue 17, point 2: "Sign in with ..." external OpenID Connect providers.
-- Kept in step with ../sqlite/0018_oidc_identities.up.sql, which says what
-- the columns hold.
CREATE TABLE oidc_identities (
  id          CHAR(36)     NOT NULL,
  user_id     CHAR(36)     NOT NULL,
  provider_id VARCHAR(64)  NOT NULL,
  issuer      VARCHAR(255) NOT NULL,
  subject     VARCHAR(255) NOT NULL,
  email       VARCHAR(320) NOT NULL DEFAULT '',
  created_ms  BIGINT       NOT NULL,
  PRIMARY KEY (id),
  UNIQUE INDEX oidc_identities_issuer_subject_uq (issuer, subject),
  INDEX oidc_identities_user_idx (user_id),
  CONSTRAINT oidc_identities_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE oidc_rp_flows (
  state_hash  CHAR(64)      NOT NULL,
  provider_id VARCHAR(64)   NOT NULL,
  nonce       VARCHAR(128)  NOT NULL,
  verifier    VARCHAR(128)  NOT NULL,
  return_to   VARCHAR(2048) NOT NULL DEFAULT '',
  created_ms  BIGINT        NOT NULL,
  expires_ms  BIGINT        NOT NULL,
  PRIMARY KEY (state_hash),
  INDEX oidc_rp_flows_expires_idx (expires_ms)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
