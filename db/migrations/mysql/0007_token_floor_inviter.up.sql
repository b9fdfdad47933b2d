-- Issue 12 review, finding 1. tokens_floor_ms orders a user's token mints
-- against the changes that shrink what their tokens may carry (a lowered
-- or removed membership). Every mint reads the user's roles and
-- memberships under the user's row lock, stamps its tokens with
-- max(now, tokens_floor_ms) as their issue time and stores that stamp
-- here; a lowering change, under the same lock, revokes the user's tokens
-- issued before max(now, tokens_floor_ms) + 1 ms and stores that. So a
-- token minted from inputs read before the change is refused, and one
-- minted after it passes, whatever the instances' clocks. 0 for every
-- existing user: nothing is refused by the upgrade.
ALTER TABLE users ADD COLUMN tokens_floor_ms BIGINT NOT NULL DEFAULT 0;

-- Review finding 7. invited_by is the user who made a pending invitation
-- (NULL for memberships made directly, and for invitations made before
-- this migration). One inviter may have at most a few invitations
-- pending for the same user, and an inviter's pending invitations of an
-- organization are withdrawn when the inviter leaves it or loses its
-- manage flag: a stranger can no longer fill a user's invitation bound by
-- creating organizations, inviting and leaving.
ALTER TABLE org_memberships ADD COLUMN invited_by CHAR(36) NULL;
