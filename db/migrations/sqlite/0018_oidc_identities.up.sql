-- Issue 17, point 2: "Sign in with ..." external OpenID Connect providers
-- (authgw as a relying party). Kept in step with
-- ../mysql/0018_oidc_identities.up.sql.
--
-- oidc_identities: an identity at an external provider linked to a user.
-- (issuer, subject) is the identity, unique: one identity opens one
-- account. provider_id is the operator's name of the provider (its slug
-- in the settings) at link time; email the address the provider gave then
-- (shown to the user, never used to sign in). Deleted with the user.
CREATE TABLE oidc_identities (
  id          TEXT    NOT NULL PRIMARY KEY,
  user_id     TEXT    NOT NULL,
  provider_id TEXT    NOT NULL,
  issuer      TEXT    NOT NULL,
  subject     TEXT    NOT NULL,
  email       TEXT    NOT NULL DEFAULT '',
  created_ms  INTEGER NOT NULL,
  CONSTRAINT oidc_identities_id_len CHECK (length(id) <= 36),
  CONSTRAINT oidc_identities_provider_id_len CHECK (length(provider_id) <= 64),
  CONSTRAINT oidc_identities_issuer_len CHECK (length(issuer) <= 255),
  CONSTRAINT oidc_identities_subject_len CHECK (length(subject) <= 255),
  CONSTRAINT oidc_identities_email_len CHECK (length(email) <= 320),
  CONSTRAINT oidc_identities_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) STRICT;
CREATE UNIQUE INDEX oidc_identities_issuer_subject_uq ON oidc_identities (issuer, subject);
CREATE INDEX oidc_identities_user_idx ON oidc_identities (user_id);

-- oidc_rp_flows: a sign-in at an external provider in progress, keyed by
-- the SHA-256 (hex) of its state, holding the nonce, the PKCE verifier and
-- where to go afterwards. Taken once (deleted as it is read), void after
-- expires_ms; expired rows are deleted as new ones are written.
CREATE TABLE oidc_rp_flows (
  state_hash  TEXT    NOT NULL PRIMARY KEY,
  provider_id TEXT    NOT NULL,
  nonce       TEXT    NOT NULL,
  verifier    TEXT    NOT NULL,
  return_to   TEXT    NOT NULL DEFAULT '',
  created_ms  INTEGER NOT NULL,
  expires_ms  INTEGER NOT NULL,
  CONSTRAINT oidc_rp_flows_state_hash_len CHECK (length(state_hash) <= 64),
  CONSTRAINT oidc_rp_flows_provider_id_len CHECK (length(provider_id) <= 64),
  CONSTRAINT oidc_rp_flows_nonce_len CHECK (length(nonce) <= 128),
  CONSTRAINT oidc_rp_flows_verifier_len CHECK (length(verifier) <= 128),
  CONSTRAINT oidc_rp_flows_return_to_len CHECK (length(return_to) <= 2048)
) STRICT;
CREATE INDEX oidc_rp_flows_expires_idx ON oidc_rp_flows (expires_ms);
