-- Issue 18, point 5 (upstreams). upstreams: every upstream URL of the
-- API version, in order, separated by single spaces (a URL holds no
-- space); '' for a row written before this migration, read as url
-- alone. url stays the first upstream, for old readers. The timeouts
-- are milliseconds, 0 for the gateway's default: connect (dial and TLS
-- handshake), response headers, and the whole exchange. upstream_h2c
-- speaks HTTP/2 without TLS (prior knowledge) to http:// upstreams.
-- Every existing API keeps its one URL and the defaults: the upgrade
-- changes no answer.
ALTER TABLE apis ADD COLUMN upstreams TEXT NOT NULL DEFAULT ''
  CONSTRAINT apis_upstreams_len CHECK (length(upstreams) <= 33000);
ALTER TABLE apis ADD COLUMN connect_timeout_ms INTEGER NOT NULL DEFAULT 0
  CONSTRAINT apis_connect_timeout_ck CHECK (connect_timeout_ms >= 0);
ALTER TABLE apis ADD COLUMN header_timeout_ms INTEGER NOT NULL DEFAULT 0
  CONSTRAINT apis_header_timeout_ck CHECK (header_timeout_ms >= 0);
ALTER TABLE apis ADD COLUMN timeout_ms INTEGER NOT NULL DEFAULT 0
  CONSTRAINT apis_timeout_ck CHECK (timeout_ms >= 0);
ALTER TABLE apis ADD COLUMN upstream_h2c INTEGER NOT NULL DEFAULT 0
  CONSTRAINT apis_upstream_h2c_ck CHECK (upstream_h2c IN (0, 1));
