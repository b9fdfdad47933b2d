-- Issue 19, point 1 (audit log). One row per security event: what
-- happened (type, outcome, reason), who did it (actor user and client),
-- to whom (subject user, organization), when (time_ms) and from where
-- (ip, the client address as the gateway judged it). data holds the
-- event's documented details as a JSON object of strings; never a
-- secret, code, token or mail address. IDs are UUIDv7, so they sort in
-- creation order. fanned_out is 0 until the webhook dispatcher has
-- queued the event's deliveries (the table is its outbox).
CREATE TABLE audit_events (
  id              VARCHAR(36)  NOT NULL,
  time_ms         BIGINT       NOT NULL,
  type            VARCHAR(64)  NOT NULL,
  outcome         VARCHAR(7)   NOT NULL,
  reason          VARCHAR(64)  NOT NULL DEFAULT '',
  actor_user_id   VARCHAR(36)  NOT NULL DEFAULT '',
  actor_client_id VARCHAR(36)  NOT NULL DEFAULT '',
  subject_user_id VARCHAR(36)  NOT NULL DEFAULT '',
  org_id          VARCHAR(36)  NOT NULL DEFAULT '',
  ip              VARCHAR(45)  NOT NULL DEFAULT '',
  data            VARCHAR(4096) NOT NULL DEFAULT '{}',
  fanned_out      TINYINT      NOT NULL DEFAULT 0,
  PRIMARY KEY (id),
  KEY audit_events_time (time_ms),
  KEY audit_events_subject (subject_user_id, id),
  KEY audit_events_actor (actor_user_id, id),
  KEY audit_events_org (org_id, id),
  KEY audit_events_type (type, id),
  KEY audit_events_fanned (fanned_out, id),
  CONSTRAINT audit_events_outcome_ck CHECK (outcome IN ('success', 'failure')),
  CONSTRAINT audit_events_fanned_ck CHECK (fanned_out IN (0, 1))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
