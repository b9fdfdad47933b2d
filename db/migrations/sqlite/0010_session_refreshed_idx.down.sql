-- Reverts 0010_session_refreshed_idx.up.sql.
DROP INDEX sessions_refreshed_idx;
