-- Issue 13, point 5. secret_verified records whether the login that made
-- the session came with its client's secret: such a session refreshes
-- only with that secret again, so a client ID alone (public for a browser
-- app) cannot keep it going. 0 for every existing session: the upgrade
-- ends or changes none of them (they still refresh as before).
ALTER TABLE sessions ADD COLUMN secret_verified INTEGER NOT NULL DEFAULT 0
  CONSTRAINT sessions_secret_verified_ck CHECK (secret_verified IN (0, 1));
