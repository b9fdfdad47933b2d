-- Reverts 0008_session_secret.up.sql.
ALTER TABLE sessions DROP CONSTRAINT sessions_secret_verified_ck;
ALTER TABLE sessions DROP COLUMN secret_verified;
