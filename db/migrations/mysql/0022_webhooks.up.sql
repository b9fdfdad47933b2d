-- Issue 19, point 2 (webhooks). A subscription sends the audit events of
-- the types it lists ("*": every type) to its URL, signed with its own
-- secret (Standard Webhooks). The secret must be read back to sign, so it
-- is stored sealed (AES-256-GCM under the TOTP key ring, bound to the
-- subscription's ID), never in clear. events is a JSON array of strings.
CREATE TABLE webhook_subscriptions (
  id                VARCHAR(36)   NOT NULL,
  url               VARCHAR(2048) NOT NULL,
  events            VARCHAR(2048) NOT NULL,
  secret_ciphertext VARBINARY(255) NOT NULL,
  active            TINYINT       NOT NULL DEFAULT 1,
  created_ms        BIGINT        NOT NULL,
  updated_ms        BIGINT        NOT NULL,
  PRIMARY KEY (id),
  CONSTRAINT webhook_subscriptions_active_ck CHECK (active IN (0, 1))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

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
  id              VARCHAR(36)  NOT NULL,
  subscription_id VARCHAR(36)  NOT NULL,
  event_id        VARCHAR(36)  NOT NULL,
  event_type      VARCHAR(64)  NOT NULL,
  body            MEDIUMTEXT   NOT NULL,
  status          VARCHAR(9)   NOT NULL DEFAULT 'pending',
  attempts        INT          NOT NULL DEFAULT 0,
  next_attempt_ms BIGINT       NOT NULL,
  lease_owner     VARCHAR(64)  NOT NULL DEFAULT '',
  leased_until_ms BIGINT       NOT NULL DEFAULT 0,
  last_status     INT          NOT NULL DEFAULT 0,
  last_error      VARCHAR(255) NOT NULL DEFAULT '',
  created_ms      BIGINT       NOT NULL,
  queued_ms       BIGINT       NOT NULL,
  updated_ms      BIGINT       NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY webhook_deliveries_event (subscription_id, event_id),
  KEY webhook_deliveries_sub (subscription_id, id),
  KEY webhook_deliveries_due (status, next_attempt_ms),
  CONSTRAINT webhook_deliveries_sub_fk FOREIGN KEY (subscription_id) REFERENCES webhook_subscriptions (id) ON DELETE CASCADE,
  CONSTRAINT webhook_deliveries_status_ck CHECK (status IN ('pending', 'delivered', 'dead'))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
