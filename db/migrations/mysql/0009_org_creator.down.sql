-- Reverts 0009_org_creator.up.sql.
DROP INDEX organizations_created_by ON organizations;
ALTER TABLE organizations DROP COLUMN created_by;
