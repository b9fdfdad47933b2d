-- Reverts 0002_membership_invitations.up.sql. Pending invitations were
-- never accepted: they are deleted rather than turned into memberships.
DELETE FROM org_memberships WHERE pending = 1;
ALTER TABLE org_memberships DROP COLUMN pending;
