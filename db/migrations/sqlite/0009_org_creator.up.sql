-- Issue 13, point 9 (ASVS 6.3.1). created_by is the user who created an
-- organization through the API: a user may have at most
-- accounts.Config.MaxOrganizationsPerUser standing organizations of
-- their own creation, whether or not they are still a member (leaving
-- frees nothing; deleting the organization does). Existing organizations
-- are given the member whose membership was written with the
-- organization (same time, accepted: the creator), or NULL when that
-- member has left; NULL counts for nobody.
ALTER TABLE organizations ADD COLUMN created_by TEXT NULL;
UPDATE organizations SET created_by = (SELECT m.user_id FROM org_memberships m
  WHERE m.organization_id = organizations.id AND m.created_ms = organizations.created_ms AND m.pending = 0
  ORDER BY m.id LIMIT 1);
CREATE INDEX organizations_created_by ON organizations (created_by);
