-- Reverts 0015_second_factor_required.up.sql.
ALTER TABLE organizations DROP CONSTRAINT organizations_require_second_factor_ck;
ALTER TABLE organizations DROP COLUMN require_second_factor;
ALTER TABLE verification_codes DROP COLUMN amr;
ALTER TABLE sessions DROP COLUMN auth_time_ms, DROP COLUMN amr;
