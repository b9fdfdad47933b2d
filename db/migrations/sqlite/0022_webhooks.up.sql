-- Issue 19, point 2 (webhooks). A subscription sends the audit events of
-- the types it lists ("*": every type) to its URL, signed with its own
-- secret (Standard Webhooks). The secret must be read back to sign, so it
-- is stored sealed (AES-256-GCM under the TOTP key ring, bound to the
-- subscription's ID), never in clear. events is a JSON array of strings.
CREATE TABLE webhook_subscriptions (
  id                TEXT    NOT NULL PRIMARY KEY
    CONSTRAINT webhook_subscriptions_id_len CHECK (length(id) BETWEEN 1 AND 36),
  url               TEXT    NOT NULL
    CONSTRAINT webhook_subscriptions_url_len CHECK (length(url) BETWEEN 1 AND 2048),
  events            TEXT    NOT NULL
    CONSTRAINT webhook_subscriptions_events_len CHECK (length(events) BETWEEN 1 AND 2048),
  secret_ciphertext BLOB    NOT NULL
    CONSTRAINT webhook_subscriptions_secret_len CHECK (length(secret_ciphertext) BETWEEN 1 AND 255),
  active            INTEGER NOT NULL DEFAULT 1
    CONSTRAINT webhook_subscriptions_active_ck CHECK (active IN (0, 1)),
  created_ms        INTEGER NOT NULL,
  updated_ms        INTEGER NOT NULL
);

-- One delivery per (subscription, audit event): the unique key makes a
-- second dispatcher's fan-out of the same event harmless. id is the
-- webhook-id the receiver sees, the same on every attempt. body is the
-- JSON payload, built once from the event at fan-out, so that retries
-- send the same bytes even after the event is pruned. A pending delivery
-- is due when next_attempt_ms has passed and no lease holds it
-- (leased_until_ms passed): a dispatcher claims it by setting
-- lease_owner (a random token of that claim) and leased_until_ms in one
-- conditional UPDATE. status: pending, delivered or dead (given up).
CREATE TABLE webhook_deliveries (
  id              TEXT    NOT NULL PRIMARY KEY
    CONSTRAINT webhook_deliveries_id_len CHECK (length(id) BETWEEN 1 AND 36),
  subscription_id TEXT    NOT NULL
    REFERENCES webhook_subscriptions (id) ON DELETE CASCADE,
  event_id        TEXT    NOT NULL
    CONSTRAINT webhook_deliveries_event_len CHECK (length(event_id) BETWEEN 1 AND 36),
  event_type      TEXT    NOT NULL
    CONSTRAINT webhook_deliveries_type_len CHECK (length(event_type) BETWEEN 1 AND 64),
  body            TEXT    NOT NULL
    CONSTRAINT webhook_deliveries_body_len CHECK (length(body) <= 65535),
  status          TEXT    NOT NULL DEFAULT 'pending'
    CONSTRAINT webhook_deliveries_status_ck CHECK (status IN ('pending', 'delivered', 'dead')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_ms INTEGER NOT NULL,
  lease_owner     TEXT    NOT NULL DEFAULT ''
    CONSTRAINT webhook_deliveries_owner_len CHECK (length(lease_owner) <= 64),
  leased_until_ms INTEGER NOT NULL DEFAULT 0,
  last_status     INTEGER NOT NULL DEFAULT 0,
  last_error      TEXT    NOT NULL DEFAULT ''
    CONSTRAINT webhook_deliveries_error_len CHECK (length(last_error) <= 255),
  created_ms      INTEGER NOT NULL,
  queued_ms       INTEGER NOT NULL,
  updated_ms      INTEGER NOT NULL
);
CREATE UNIQUE INDEX webhook_deliveries_event ON webhook_deliveries (subscription_id, event_id);
CREATE INDEX webhook_deliveries_sub ON webhook_deliveries (subscription_id, id);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_ms);
