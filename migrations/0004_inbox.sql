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

-- Every row is updated once (processed) soon after it is inserted: vacuum early, so that the
-- pending index and the heap do not fill with dead versions under load.
ALTER TABLE inbox SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.02);

-- Profiles are updated on most messages without touching an indexed column: room in each page
-- lets those updates stay on the page (HOT), with no new index entries.
ALTER TABLE profiles SET (fillfactor = 80);
