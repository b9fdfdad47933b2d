-- A membership made by an organization's manager for an ordinary user is
-- an invitation until that user accepts it: pending = 1 grants nothing
-- (no organization access, nothing in tokens). Existing memberships stay
-- what they were (pending = 0), so the upgrade changes no one's access.
ALTER TABLE org_memberships
  ADD COLUMN pending BOOLEAN NOT NULL DEFAULT 0,
  ADD CONSTRAINT org_memberships_pending_ck CHECK (pending IN (0, 1));
