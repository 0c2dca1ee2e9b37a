-- Chatwoot support bot: providers, their notification config, conversation state as the bot saw
-- it last, and the log of notifications sent to providers on hand-off.

CREATE TABLE providers (
  id                  bigserial   PRIMARY KEY,
  name                text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  -- API keys are stored only as SHA-256 of the key, with a short non-secret prefix to find the
  -- row and to show which key is in use. NULL hash: the key was revoked.
  api_key_prefix      text        UNIQUE,
  api_key_hash        text,
  api_key_created_at  timestamptz,
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now(),
  CHECK ((api_key_prefix IS NULL) = (api_key_hash IS NULL))
);

CREATE TABLE provider_notification_config (
  provider_id           bigint      PRIMARY KEY REFERENCES providers (id) ON DELETE CASCADE,
  -- A Chatwoot account belongs to exactly one provider.
  chatwoot_account_id   bigint      NOT NULL UNIQUE CHECK (chatwoot_account_id > 0),
  chatwoot_portal_slug  text        NOT NULL CHECK (chatwoot_portal_slug ~ '^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$'),
  notify_via            text        NOT NULL CHECK (notify_via IN ('telegram', 'sms', 'email')),
  telegram_chat_id      bigint,
  notify_phone          text        CHECK (notify_phone ~ '^\+[1-9][0-9]{7,14}$'),
  notify_email          text        CHECK (notify_email ~ '^[^@[:space:]]+@[^@[:space:]]+$'),
  created_at            timestamptz NOT NULL DEFAULT now(),
  updated_at            timestamptz NOT NULL DEFAULT now(),
  -- The field notify_via needs must be present.
  CHECK (notify_via <> 'telegram' OR telegram_chat_id IS NOT NULL),
  CHECK (notify_via <> 'sms' OR notify_phone IS NOT NULL),
  CHECK (notify_via <> 'email' OR notify_email IS NOT NULL)
);

CREATE TABLE chatwoot_conversations (
  account_id             bigint      NOT NULL,
  conversation_id        bigint      NOT NULL, -- the display id used in API paths
  status                 text        NOT NULL DEFAULT 'pending'
                                     CHECK (status IN ('open', 'pending', 'resolved', 'snoozed')),
  bot_state              text        NOT NULL DEFAULT 'active'
                                     CHECK (bot_state IN ('active', 'handed_off')),
  escalation_reason      text,
  -- Every hand-off (the conversation becoming open) gets the next number; the notification
  -- log is unique per number, so each hand-off notifies once, whichever node sees it.
  handoff_seq            integer     NOT NULL DEFAULT 0,
  last_customer_message  text,
  contact_name           text,
  created_at             timestamptz NOT NULL DEFAULT now(),
  updated_at             timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (account_id, conversation_id)
);

CREATE TABLE provider_notifications (
  id                bigserial   PRIMARY KEY,
  provider_id       bigint      REFERENCES providers (id) ON DELETE SET NULL,
  account_id        bigint      NOT NULL,
  conversation_id   bigint      NOT NULL,
  handoff_seq       integer     NOT NULL,
  channel           text        NOT NULL CHECK (channel IN ('telegram', 'sms', 'email')),
  recipient         text        NOT NULL,
  subject           text        NOT NULL DEFAULT '',
  body              text        NOT NULL,
  status            text        NOT NULL CHECK (status IN ('queued', 'sent', 'failed', 'skipped')),
  attempts          integer     NOT NULL DEFAULT 0,
  last_error        text,
  external_id       text,       -- Telegram message id, SMS provider id
  correlation_id    text        NOT NULL,
  next_attempt_at   timestamptz,
  claim_token       text,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now(),
  UNIQUE (account_id, conversation_id, handoff_seq)
);

-- A provider's Telegram reply names the notification it answers: (chat id, message id).
CREATE UNIQUE INDEX provider_notifications_telegram
  ON provider_notifications (recipient, external_id) WHERE channel = 'telegram' AND external_id IS NOT NULL;
CREATE INDEX provider_notifications_outbox ON provider_notifications (next_attempt_at)
  WHERE status = 'queued';
