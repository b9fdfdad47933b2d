-- Issue 13, point 10 (ASVS 14.2.4). The purge clears the IP address and
-- user agent of sessions not used for longer than the personal-data
-- retention (refreshed_ms before a cutoff), in bounded batches: without
-- an index each batch would scan, and on MariaDB lock, the whole table.
CREATE INDEX sessions_refreshed_idx ON sessions (refreshed_ms);
