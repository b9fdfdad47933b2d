-- Reverts 0019_api_upstreams.up.sql.
ALTER TABLE apis DROP COLUMN upstream_h2c;
ALTER TABLE apis DROP COLUMN timeout_ms;
ALTER TABLE apis DROP COLUMN header_timeout_ms;
ALTER TABLE apis DROP COLUMN connect_timeout_ms;
ALTER TABLE apis DROP COLUMN upstreams;
