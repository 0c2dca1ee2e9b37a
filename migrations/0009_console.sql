-- The operator console: every operator action (a requeue, a cancel, a session closed, a reveal
-- of phones and bodies) is one row here, written in the transaction of the action itself.
CREATE TABLE console_audit (
  id      bigserial   PRIMARY KEY,
  at      timestamptz NOT NULL DEFAULT now(),
  action  text        NOT NULL CHECK (action IN ('requeue', 'cancel', 'close_session', 'reveal')),
  target  text        NOT NULL,
  detail  jsonb       NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(detail) = 'object')
);

-- The console's queue view and the failed rows it can requeue, oldest first.
CREATE INDEX message_delivery_log_settling ON message_delivery_log (created_at)
  WHERE direction = 'outbound' AND status IN ('queued', 'failed');

-- The console's delivery search and a message's story find rows by correlation id.
CREATE INDEX message_delivery_log_correlation ON message_delivery_log (correlation_id);

-- RFC 3339 UTC text of a timestamp, as the console's JSON shows it.
CREATE FUNCTION console_ts(t timestamptz) RETURNS text LANGUAGE sql IMMUTABLE AS
$$ SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') $$;
