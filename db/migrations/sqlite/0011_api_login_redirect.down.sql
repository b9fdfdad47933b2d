-- Reverts 0011_api_login_redirect.up.sql.
ALTER TABLE apis DROP COLUMN login_redirect;
