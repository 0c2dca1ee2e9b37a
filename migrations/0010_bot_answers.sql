-- The support bot's answers and what the console shows of them (rates, the articles cited, the
-- questions it could not answer), a provider's reply to a hand-off, the LLM rounds and tool
-- calls behind a session reply, and each send attempt's latency.

-- One row per question the bot took: answered (posted_id: Chatwoot's message id) or escalated
-- (reason: core::escalation_reason's name). The question is stored as is (the logs mask it).
CREATE TABLE bot_answers (
  id               bigserial   PRIMARY KEY,
  at               timestamptz NOT NULL DEFAULT now(),
  account_id       bigint      NOT NULL,
  conversation_id  bigint      NOT NULL,
  correlation_id   text        NOT NULL DEFAULT '',
  question         text        NOT NULL,
  -- The articles cited (answered) or closest (escalated): [{article_id, title, url}].
  sources          jsonb       NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(sources) = 'array'),
  confidence       double precision,
  escalated        boolean     NOT NULL,
  reason           text,
  posted_id        text
);
CREATE INDEX bot_answers_at ON bot_answers (at);

-- When the provider answered a hand-off's notification (a Telegram reply posted back into the
-- conversation).
ALTER TABLE provider_notifications ADD COLUMN replied_at timestamptz;

-- The latest send attempt's latency, written with the attempt's result (the providers' p50/p99).
ALTER TABLE message_delivery_log ADD COLUMN last_latency_ms integer;

-- The LLM rounds and tool calls that produced a session reply, written with the reply.
CREATE TABLE llm_steps (
  id              bigserial   PRIMARY KEY,
  reply_id        bigint      NOT NULL REFERENCES message_delivery_log (id) ON DELETE CASCADE,
  at              timestamptz NOT NULL,
  kind            text        NOT NULL CHECK (kind IN ('llm_round', 'tool_call')),
  detail          jsonb       NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(detail) = 'object')
);
CREATE INDEX llm_steps_reply ON llm_steps (reply_id);
