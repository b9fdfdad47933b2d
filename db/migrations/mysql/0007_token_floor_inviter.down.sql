-- Reverts 0007_token_floor_inviter.up.sql.
ALTER TABLE users DROP COLUMN tokens_floor_ms;
ALTER TABLE org_memberships DROP COLUMN invited_by;
