-- Reverts 0001_init.up.sql: drops its tables, children before parents.
-- IF EXISTS makes this safe on a half-applied up (MySQL cannot roll back
-- DDL, so a failed up can leave some of the tables behind).

DROP TABLE IF EXISTS revocations;
DROP TABLE IF EXISTS regulation_bans;
DROP TABLE IF EXISTS regulation_failures;
DROP TABLE IF EXISTS totp_secrets;
DROP TABLE IF EXISTS verification_codes;
DROP TABLE IF EXISTS session_tokens;
DROP TABLE IF EXISTS sessions;
DROP TABLE IF EXISTS apis;
DROP TABLE IF EXISTS org_memberships;
DROP TABLE IF EXISTS client_access_restrictions;
DROP TABLE IF EXISTS client_roles;
DROP TABLE IF EXISTS clients;
DROP TABLE IF EXISTS user_roles;
DROP TABLE IF EXISTS emails;
DROP TABLE IF EXISTS users;
DROP TABLE IF EXISTS organizations;
