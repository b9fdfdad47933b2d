-- Reverts 0007_token_floor.up.sql.
ALTER TABLE users DROP COLUMN tokens_floor_ms;
