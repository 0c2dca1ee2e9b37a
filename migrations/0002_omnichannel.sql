-- Omnichannel sessions: profiles, one open session per profile, and the delivery log that is also
-- the outbox of pending sends.

CREATE TABLE profiles (
  id                        bigserial   PRIMARY KEY,
  phone_number              text        NOT NULL UNIQUE
                                        CHECK (phone_number ~ '^\+[1-9][0-9]{7,14}$'),
  whatsapp_jid              text,
  has_whatsapp              boolean     NOT NULL DEFAULT false,
  allows_sms                boolean     NOT NULL DEFAULT true,
  last_active_channel       text        CHECK (last_active_channel IN ('voice', 'whatsapp', 'sms')),
  -- The WhatsApp customer-service window opens with the user's last inbound WhatsApp message.
  last_whatsapp_inbound_at  timestamptz,
  name                      text,
  locale                    text,
  created_at                timestamptz NOT NULL DEFAULT now(),
  updated_at                timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE omnichannel_sessions (
  id                     bigserial   PRIMARY KEY,
  profile_id             bigint      NOT NULL REFERENCES profiles (id),
  status                 text        NOT NULL DEFAULT 'active'
                                     CHECK (status IN ('active', 'follow_up', 'closed')),
  context                jsonb       NOT NULL DEFAULT '{}'::jsonb
                                     CHECK (jsonb_typeof(context) = 'object'),
  expires_at             timestamptz NOT NULL,
  last_activity_at       timestamptz NOT NULL DEFAULT now(),
  call_id                text,
  whatsapp_summary_sent  boolean     NOT NULL DEFAULT false,
  sms_summary_sent       boolean     NOT NULL DEFAULT false,
  closed_reason          text,
  version                bigint      NOT NULL DEFAULT 0,
  created_at             timestamptz NOT NULL DEFAULT now(),
  updated_at             timestamptz NOT NULL DEFAULT now(),
  closed_at              timestamptz,
  CHECK ((status = 'closed') = (closed_at IS NOT NULL))
);

-- At most one open (not closed) session per profile, whichever node writes.
CREATE UNIQUE INDEX omnichannel_sessions_one_open ON omnichannel_sessions (profile_id)
  WHERE status <> 'closed';
CREATE INDEX omnichannel_sessions_expiring ON omnichannel_sessions (expires_at)
  WHERE status <> 'closed';
CREATE INDEX omnichannel_sessions_call ON omnichannel_sessions (call_id) WHERE call_id IS NOT NULL;

CREATE TABLE message_delivery_log (
  id               bigserial   PRIMARY KEY,
  session_id       bigint      REFERENCES omnichannel_sessions (id),
  profile_id       bigint      NOT NULL REFERENCES profiles (id),
  channel          text        NOT NULL CHECK (channel IN ('whatsapp', 'sms')),
  provider         text        NOT NULL CHECK (provider IN ('whatsapp_cloud', 'mtn', 'twilio')),
  direction        text        NOT NULL CHECK (direction IN ('inbound', 'outbound')),
  message_type     text        NOT NULL,
  -- queued -> sent -> delivered -> read; failed; skipped (never attempted, e.g. the WhatsApp
  -- window is closed and no template is configured); received (inbound).
  status           text        NOT NULL CHECK (status IN ('queued', 'sent', 'delivered', 'read',
                                                          'failed', 'skipped', 'received')),
  recipient        text        NOT NULL,
  body             text        NOT NULL DEFAULT '',
  payload          jsonb,
  external_id      text,
  attempts         integer     NOT NULL DEFAULT 0,
  last_error       text,
  correlation_id   text        NOT NULL,
  -- Outbox: a queued row is attempted by whoever holds claim_token; when next_attempt_at passes
  -- with the row still queued (its node died), the sweeper claims it anew.
  next_attempt_at  timestamptz,
  claim_token      text,
  -- Inbound rows: the reply queued for them (NULL while unanswered). An inbound row is claimed
  -- (claim_token, next_attempt_at) by whoever produces its reply, the same way.
  reply_id         bigint      REFERENCES message_delivery_log (id),
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now()
);

-- Provider message ids are unique per provider and direction: a webhook delivered ten times is
-- one row.
CREATE UNIQUE INDEX message_delivery_log_external
  ON message_delivery_log (provider, direction, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX message_delivery_log_outbox ON message_delivery_log (next_attempt_at)
  WHERE status = 'queued';
CREATE INDEX message_delivery_log_unanswered ON message_delivery_log (next_attempt_at)
  WHERE direction = 'inbound' AND reply_id IS NULL;
CREATE INDEX message_delivery_log_session ON message_delivery_log (session_id, created_at);
CREATE INDEX message_delivery_log_profile ON message_delivery_log (profile_id, created_at);

-- Status callbacks that arrive before the send they describe was recorded (out of order is
-- normal); applied when the provider id is recorded.
CREATE TABLE delivery_status_early (
  provider     text        NOT NULL,
  external_id  text        NOT NULL,
  status       text        NOT NULL,
  error        text,
  received_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (provider, external_id, status)
);
