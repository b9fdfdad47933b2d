-- Reverts 0020_api_hosts.up.sql.
DROP TABLE api_hosts;
