-- Issue 19, point 1 (audit log). One row per security event: what
-- happened (type, outcome, reason), who did it (actor user and client),
-- to whom (subject user, organization), when (time_ms) and from where
-- (ip, the client address as the gateway judged it). data holds the
-- event's documented details as a JSON object of strings; never a
-- secret, code, token or mail address. IDs are UUIDv7, so they sort in
-- creation order. fanned_out is 0 until the webhook dispatcher has
-- queued the event's deliveries (the table is its outbox).
CREATE TABLE audit_events (
  id              TEXT    NOT NULL PRIMARY KEY
    CONSTRAINT audit_events_id_len CHECK (length(id) BETWEEN 1 AND 36),
  time_ms         INTEGER NOT NULL,
  type            TEXT    NOT NULL
    CONSTRAINT audit_events_type_len CHECK (length(type) BETWEEN 1 AND 64),
  outcome         TEXT    NOT NULL
    CONSTRAINT audit_events_outcome_ck CHECK (outcome IN ('success', 'failure')),
  reason          TEXT    NOT NULL DEFAULT ''
    CONSTRAINT audit_events_reason_len CHECK (length(reason) <= 64),
  actor_user_id   TEXT    NOT NULL DEFAULT ''
    CONSTRAINT audit_events_actor_len CHECK (length(actor_user_id) <= 36),
  actor_client_id TEXT    NOT NULL DEFAULT ''
    CONSTRAINT audit_events_client_len CHECK (length(actor_client_id) <= 36),
  subject_user_id TEXT    NOT NULL DEFAULT ''
    CONSTRAINT audit_events_subject_len CHECK (length(subject_user_id) <= 36),
  org_id          TEXT    NOT NULL DEFAULT ''
    CONSTRAINT audit_events_org_len CHECK (length(org_id) <= 36),
  ip              TEXT    NOT NULL DEFAULT ''
    CONSTRAINT audit_events_ip_len CHECK (length(ip) <= 45),
  data            TEXT    NOT NULL DEFAULT '{}'
    CONSTRAINT audit_events_data_len CHECK (length(data) <= 4096),
  fanned_out      INTEGER NOT NULL DEFAULT 0
    CONSTRAINT audit_events_fanned_ck CHECK (fanned_out IN (0, 1))
);
CREATE INDEX audit_events_time ON audit_events (time_ms);
CREATE INDEX audit_events_subject ON audit_events (subject_user_id, id);
CREATE INDEX audit_events_actor ON audit_events (actor_user_id, id);
CREATE INDEX audit_events_org ON audit_events (org_id, id);
CREATE INDEX audit_events_type ON audit_events (type, id);
CREATE INDEX audit_events_fanned ON audit_events (fanned_out, id);
