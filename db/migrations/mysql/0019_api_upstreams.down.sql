-- Reverts 0019_api_upstreams.up.sql.
ALTER TABLE apis DROP CONSTRAINT apis_connect_timeout_ck;
ALTER TABLE apis DROP CONSTRAINT apis_header_timeout_ck;
ALTER TABLE apis DROP CONSTRAINT apis_timeout_ck;
ALTER TABLE apis DROP CONSTRAINT apis_upstream_h2c_ck;
ALTER TABLE apis DROP COLUMN upstream_h2c;
ALTER TABLE apis DROP COLUMN timeout_ms;
ALTER TABLE apis DROP COLUMN header_timeout_ms;
ALTER TABLE apis DROP COLUMN connect_timeout_ms;
ALTER TABLE apis DROP COLUMN upstreams;
