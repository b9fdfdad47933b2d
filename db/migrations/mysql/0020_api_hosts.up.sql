-- Issue 18, point 2 (host-based apps). An API version may be bound to
-- host names: any path of such a host is authorized as /<api>/v<N>/<path>.
-- A host belongs to at most one API version (the primary key); the
-- service stores it lower case, ASCII (IDNA A-labels), without port or
-- trailing dot. Removing the API removes its hosts.
CREATE TABLE api_hosts (
  host        VARCHAR(253) NOT NULL,
  api_name    VARCHAR(64)  NOT NULL,
  api_version INT          NOT NULL,
  PRIMARY KEY (host),
  KEY api_hosts_api (api_name, api_version),
  CONSTRAINT api_hosts_api_fk FOREIGN KEY (api_name, api_version) REFERENCES apis (name, version) ON DELETE CASCADE ON UPDATE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
