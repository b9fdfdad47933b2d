-- Reverts 0022_webhooks.up.sql.
DROP TABLE webhook_deliveries;
DROP TABLE webhook_subscriptions;
