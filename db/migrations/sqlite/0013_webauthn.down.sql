-- Reverts 0013_webauthn.up.sql: passkeys and ceremonies in progress go.
DROP TABLE IF EXISTS webauthn_ceremonies;
DROP TABLE IF EXISTS webauthn_credentials;
