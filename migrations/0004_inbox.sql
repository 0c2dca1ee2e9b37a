-- The durable inbox: every verified inbound event (an SMS, a WhatsApp message or status, a Twilio
-- status callback, a call-ended webhook, a Chatwoot or Telegram update) is one row, written in a
-- batch with other webhooks' rows before the webhook is answered. The primary key is the
-- provider's dedupe key, so a webhook delivered ten times is one row. Entity actors process the
-- pending rows of their entity afterwards, in `id` order.
CREATE TABLE inbox (
  source          text        NOT NULL,
  dedupe_key      text        NOT NULL,
  -- Arrival order (per entity, processing follows it). Not indexed on its own: rows are found
  -- through the pending index and updated by ctid.
  id              bigserial   NOT NULL,
  -- The entity's shard (a stable hash of `entity`), so that the owner of a shard can process it.
  shard           integer     NOT NULL CHECK (shard >= 0),
  -- Routing key of the entity that processes the row: a phone number, "account:conversation",
  -- a Telegram chat id, a provider message id.
  entity          text        NOT NULL,
  kind            text        NOT NULL CHECK (kind IN ('message', 'status', 'call', 'chatwoot',
                                                       'telegram')),
  payload         text        NOT NULL,
  correlation_id  text        NOT NULL,
  received_at     timestamptz NOT NULL DEFAULT now(),
  processed_at    timestamptz,
  -- The answer given the first time, for webhooks whose retries must get the same answer.
  result          text,
  PRIMARY KEY (source, dedupe_key)
);

CREATE INDEX inbox_pending ON inbox (kind, entity, id) WHERE processed_at IS NULL;
