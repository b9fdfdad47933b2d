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
  id                    TEXT    NOT NULL PRIMARY KEY,
  client_id             TEXT    NOT NULL,
  redirect_uri          TEXT    NOT NULL,
  scopes                TEXT    NOT NULL,
  state                 TEXT    NOT NULL DEFAULT '',
  nonce                 TEXT    NOT NULL DEFAULT '',
  response_type         TEXT    NOT NULL,
  response_mode         TEXT    NOT NULL DEFAULT '',
  code_challenge        TEXT    NOT NULL DEFAULT '',
  code_challenge_method TEXT    NOT NULL DEFAULT '',
  prompt                TEXT    NOT NULL DEFAULT '',
  max_age_s             INTEGER NOT NULL DEFAULT -1,
  created_ms            INTEGER NOT NULL,
  expires_ms            INTEGER NOT NULL,
  user_id               TEXT,
  auth_time_ms          INTEGER NOT NULL DEFAULT 0,
  amr                   TEXT    NOT NULL DEFAULT '',
  code_hash             TEXT,
  code_expires_ms       INTEGER NOT NULL DEFAULT 0,
  used_ms               INTEGER NOT NULL DEFAULT 0,
  issued_session_id     TEXT    NOT NULL DEFAULT '',
  replayed_ms           INTEGER NOT NULL DEFAULT 0,
  browser_hash          TEXT    NOT NULL DEFAULT '',
  CONSTRAINT oidc_auth_requests_len CHECK (length(id) <= 36 AND length(client_id) <= 36 AND length(redirect_uri) <= 512
    AND length(scopes) <= 2000 AND length(state) <= 1024 AND length(nonce) <= 1024 AND length(response_type) <= 64
    AND length(response_mode) <= 32 AND length(code_challenge) <= 128 AND length(code_challenge_method) <= 16
    AND length(prompt) <= 64 AND length(amr) <= 136 AND length(code_hash) <= 64 AND length(issued_session_id) <= 36 AND length(browser_hash) <= 64),
  CONSTRAINT oidc_auth_requests_client_fk FOREIGN KEY (client_id) REFERENCES clients (id) ON DELETE CASCADE,
  CONSTRAINT oidc_auth_requests_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) STRICT;
CREATE INDEX oidc_auth_requests_expires_idx ON oidc_auth_requests (expires_ms);
CREATE UNIQUE INDEX oidc_auth_requests_code_idx ON oidc_auth_requests (code_hash);
CREATE INDEX oidc_auth_requests_client_idx ON oidc_auth_requests (client_id);
CREATE INDEX oidc_auth_requests_user_idx ON oidc_auth_requests (user_id);

-- oidc_grants: the sessions made by the token endpoint, with the scopes
-- granted, so that a refresh mints again with the same filter and only
-- for the client that holds the grant.
CREATE TABLE oidc_grants (
  session_id TEXT NOT NULL PRIMARY KEY,
  client_id  TEXT NOT NULL,
  scopes     TEXT NOT NULL,
  nonce      TEXT NOT NULL DEFAULT '',
  CONSTRAINT oidc_grants_len CHECK (length(scopes) <= 2000 AND length(nonce) <= 1024),
  CONSTRAINT oidc_grants_session_fk FOREIGN KEY (session_id) REFERENCES sessions (id) ON DELETE CASCADE
) STRICT;
CREATE INDEX oidc_grants_client_idx ON oidc_grants (client_id);

-- oidc_consents: the scopes a user allowed a client, remembered so the
-- consent page is skipped when asked again for no more than these.
CREATE TABLE oidc_consents (
  user_id    TEXT    NOT NULL,
  client_id  TEXT    NOT NULL,
  scopes     TEXT    NOT NULL,
  created_ms INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL,
  PRIMARY KEY (user_id, client_id),
  CONSTRAINT oidc_consents_len CHECK (length(scopes) <= 2000),
  CONSTRAINT oidc_consents_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
  CONSTRAINT oidc_consents_client_fk FOREIGN KEY (client_id) REFERENCES clients (id) ON DELETE CASCADE
) STRICT;
CREATE INDEX oidc_consents_client_idx ON oidc_consents (client_id);
