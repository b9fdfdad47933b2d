-- Issue 15, point 2. login_redirect: a browser's GET or HEAD that the
-- gateway would refuse 401 for want of a valid token (none, expired,
-- invalid) is sent to the sign-in page (303 with return_to) instead.
-- 0 for every existing API: the upgrade changes no answer.
ALTER TABLE apis
  ADD COLUMN login_redirect BOOLEAN NOT NULL DEFAULT 0,
  ADD CONSTRAINT apis_login_redirect_ck CHECK (login_redirect IN (0, 1));
