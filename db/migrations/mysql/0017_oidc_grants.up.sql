-- Issue 17 (OpenID Connect provider): the provider's state lives in the
-- database, so that instances behind one database share it.
--
-- oidc_auth_requests: one authorization request from /authorize until
-- its code is exchanged (or it expires, 10 minutes). Once the user
-- approves, user_id, auth_time_ms and amr are those of the browser's
-- session. The code is kept as its SHA-256 (code_hash), never itself,
-- and lives 60 s (code_expires_ms); used_ms marks it exchanged and
-- issued_session_id names the session it made, which a second exchange
-- of the same code revokes. browser_hash is the SHA-256 of the random
-- value the browser that started the request was given (a cookie): only
-- that browser may decide the request. replayed_ms marks a second
-- exchange of the code, so that a first exchange still under way revokes
-- what it issues.
CREATE TABLE oidc_auth_requests (
  id                    CHAR(36)      NOT NULL PRIMARY KEY,
  client_id             CHAR(36)      NOT NULL,
  redirect_uri          VARCHAR(512)  NOT NULL,
  scopes                VARCHAR(2000) NOT NULL,
  state                 VARCHAR(1024) NOT NULL DEFAULT '',
  nonce                 VARCHAR(1024) NOT NULL DEFAULT '',
  response_type         VARCHAR(64)   NOT NULL,
  response_mode         VARCHAR(32)   NOT NULL DEFAULT '',
  code_challenge        VARCHAR(128)  NOT NULL DEFAULT '',
  code_challenge_method VARCHAR(16)   NOT NULL DEFAULT '',
  prompt                VARCHAR(64)   NOT NULL DEFAULT '',
  max_age_s             BIGINT        NOT NULL DEFAULT -1,
  created_ms            BIGINT        NOT NULL,
  expires_ms            BIGINT        NOT NULL,
  user_id               CHAR(36)      NULL,
  auth_time_ms          BIGINT        NOT NULL DEFAULT 0,
  amr                   VARCHAR(136)  NOT NULL DEFAULT '',
  code_hash             CHAR(64)      NULL,
  code_expires_ms       BIGINT        NOT NULL DEFAULT 0,
  used_ms               BIGINT        NOT NULL DEFAULT 0,
  issued_session_id     VARCHAR(36)   NOT NULL DEFAULT '',
  replayed_ms           BIGINT        NOT NULL DEFAULT 0,
  browser_hash          VARCHAR(64)   NOT NULL DEFAULT '',
  INDEX oidc_auth_requests_expires_idx (expires_ms),
  UNIQUE INDEX oidc_auth_requests_code_idx (code_hash),
  INDEX oidc_auth_requests_client_idx (client_id),
  INDEX oidc_auth_requests_user_idx (user_id),
  CONSTRAINT oidc_auth_requests_client_fk FOREIGN KEY (client_id) REFERENCES clients (id) ON DELETE CASCADE,
  CONSTRAINT oidc_auth_requests_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- oidc_grants: the sessions made by the token endpoint, with the scopes
-- granted, so that a refresh mints again with the same filter and only
-- for the client that holds the grant.
CREATE TABLE oidc_grants (
  session_id CHAR(36)      NOT NULL PRIMARY KEY,
  client_id             CHAR(36)      NOT NULL,
  scopes     VARCHAR(2000) NOT NULL,
  nonce      VARCHAR(1024) NOT NULL DEFAULT '',
  INDEX oidc_grants_client_idx (client_id),
  CONSTRAINT oidc_grants_session_fk FOREIGN KEY (session_id) REFERENCES sessions (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- oidc_consents: the scopes a user allowed a client, remembered so the
-- consent page is skipped when asked again for no more than these.
CREATE TABLE oidc_consents (
  user_id    CHAR(36)      NOT NULL,
  client_id             CHAR(36)      NOT NULL,
  scopes     VARCHAR(2000) NOT NULL,
  created_ms BIGINT        NOT NULL,
  updated_ms BIGINT        NOT NULL,
  PRIMARY KEY (user_id, client_id),
  INDEX oidc_consents_client_idx (client_id),
  CONSTRAINT oidc_consents_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
  CONSTRAINT oidc_consents_client_fk FOREIGN KEY (client_id) REFERENCES clients (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
