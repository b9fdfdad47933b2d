-- Issue 18, point 2 (host-based apps). An API version may be bound to
-- host names: any path of such a host is authorized as /<api>/v<N>/<path>.
-- A host belongs to at most one API version (the primary key); the
-- service stores it lower case, ASCII (IDNA A-labels), without port or
-- trailing dot. Removing the API removes its hosts.
CREATE TABLE api_hosts (
  host        TEXT    NOT NULL PRIMARY KEY
    CONSTRAINT api_hosts_host_len CHECK (length(host) BETWEEN 1 AND 253),
  api_name    TEXT    NOT NULL,
  api_version INTEGER NOT NULL,
  FOREIGN KEY (api_name, api_version) REFERENCES apis (name, version) ON DELETE CASCADE ON UPDATE CASCADE
);
CREATE INDEX api_hosts_api ON api_hosts (api_name, api_version);
