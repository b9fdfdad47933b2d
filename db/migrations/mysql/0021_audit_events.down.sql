-- Reverts 0021_audit_events.up.sql.
DROP TABLE audit_events;
