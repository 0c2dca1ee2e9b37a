-- The outbox per owned shard: every delivery row and notification knows its entity's hash, so
-- that a node claims (resumes stalled sends, replays unanswered messages, retries) only the rows
-- of the shards it owns, and the recording of send outcomes is fenced by the row's shard lease.
--
-- The column holds the entity key's 32-bit FNV-1a hash (core::shard_of before the modulo), not
-- the shard itself: the shard count is a setting (inbox.shards, fixed per cluster) that the
-- database does not know, so a node computes `shard_key % shards` in its claims. Generated, so
-- every insert fills it without the statements changing. The key is the row's recipient (the
-- sender of an inbound message: the session's entity key) and a notification's
-- "account:conversation" (its conversation's entity key).
CREATE FUNCTION sb_fnv1a(key text) RETURNS bigint
  LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
  bytes bytea := convert_to(key, 'UTF8');
  h bigint := 2166136261;
BEGIN
  FOR i IN 0 .. octet_length(bytes) - 1 LOOP
    h := ((h # get_byte(bytes, i)) * 16777619) % 4294967296;
  END LOOP;
  RETURN h;
END
$$;

-- Adding a stored generated column rewrites the tables once (under the migration's lock).
ALTER TABLE message_delivery_log
  ADD COLUMN shard_key bigint GENERATED ALWAYS AS (sb_fnv1a(recipient)) STORED;
ALTER TABLE provider_notifications
  ADD COLUMN shard_key bigint GENERATED ALWAYS AS (
    sb_fnv1a(account_id::text || ':' || conversation_id::text)) STORED;

-- The claims read due rows in next_attempt_at order and keep those of owned shards: with the
-- hash in the index, rows of other nodes' shards are passed over without visiting the heap.
CREATE INDEX message_delivery_log_outbox_shard ON message_delivery_log (next_attempt_at, shard_key)
  WHERE status = 'queued';
CREATE INDEX message_delivery_log_unanswered_shard
  ON message_delivery_log (next_attempt_at, shard_key) WHERE direction = 'inbound' AND reply_id IS NULL;
CREATE INDEX provider_notifications_outbox_shard ON provider_notifications (next_attempt_at, shard_key)
  WHERE status = 'queued';
DROP INDEX message_delivery_log_outbox;
DROP INDEX message_delivery_log_unanswered;
DROP INDEX provider_notifications_outbox;

-- The wake-up hint of a cluster: a batch of inbox rows stored on one node notifies the others
-- (channel sb_inbox, payload "<node>|3,17,200": the storing node, from its connection's
-- switchboard.node setting, and the batch's shards), so that each shard's owner polls them at
-- once instead of at its next inbox poll, which stays as the safety net. One notification per
-- statement, none without cluster members (a single node wakes its entities itself).
CREATE FUNCTION sb_inbox_hint() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  shards text;
BEGIN
  IF EXISTS (SELECT 1 FROM cluster_members) THEN
    SELECT string_agg(DISTINCT shard::text, ',') INTO shards FROM stored;
    IF shards IS NOT NULL THEN
      PERFORM pg_notify('sb_inbox',
                        coalesce(current_setting('switchboard.node', true), '') || '|' || shards);
    END IF;
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER inbox_hint AFTER INSERT ON inbox REFERENCING NEW TABLE AS stored
  FOR EACH STATEMENT EXECUTE FUNCTION sb_inbox_hint();
