-- Issue 16, item 3. sessions.amr and auth_time_ms remember how (RFC 8176
-- values separated by spaces: pwd, otp, hwk, mail, mfa) and when the
-- login that made the session happened, so that a refresh, which is no
-- new authentication, mints the same amr and auth-time caveats. Existing
-- sessions get amr '' (unknown: their tokens carry no amr caveat, as
-- before) and their creation time, which is when their login happened.
-- verification_codes.amr keeps, on the flow code of a login's second
-- step, the first factor that step follows.
-- organizations.require_second_factor: members of such an organization
-- must sign in with a second factor (TOTP or passkey), and enrol one at
-- their next sign-in when they have none.
ALTER TABLE sessions ADD COLUMN amr TEXT NOT NULL DEFAULT ''
  CONSTRAINT sessions_amr_len CHECK (length(amr) <= 136);
ALTER TABLE sessions ADD COLUMN auth_time_ms INTEGER NOT NULL DEFAULT 0;
UPDATE sessions SET auth_time_ms = created_ms;
ALTER TABLE verification_codes ADD COLUMN amr TEXT NOT NULL DEFAULT ''
  CONSTRAINT verification_codes_amr_len CHECK (length(amr) <= 136);
ALTER TABLE organizations ADD COLUMN require_second_factor INTEGER NOT NULL DEFAULT 0
  CONSTRAINT organizations_require_second_factor_ck CHECK (require_second_factor IN (0, 1));
