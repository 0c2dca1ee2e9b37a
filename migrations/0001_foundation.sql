-- Webhook deliveries already processed, for idempotency: a provider retrying a webhook (or the
-- same message delivered ten times) has exactly one effect. `result` keeps the answer given the
-- first time so a retry gets the same answer.
CREATE TABLE processed_webhooks (
  source       text        NOT NULL,
  external_id  text        NOT NULL,
  result       jsonb,
  received_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (source, external_id)
);

CREATE INDEX processed_webhooks_received_at ON processed_webhooks (received_at);
