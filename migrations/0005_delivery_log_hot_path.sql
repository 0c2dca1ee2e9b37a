-- Hot paths: fewer writes per message on the two tables every message touches.
--
-- The delivery log is the hottest table: every inbound message, reply and send writes it. Its
-- foreign keys cost each insert an index lookup and a KEY SHARE lock on the parent profile and
-- session rows (a tuple lock written into those rows, multixacts when several writers meet), and
-- each reply link one more on the log itself. The rows are written only by the storage flows,
-- inside the transactions that create or lock their profile and session, so the references hold
-- without the database re-checking them per row; the checks go.
ALTER TABLE message_delivery_log DROP CONSTRAINT IF EXISTS message_delivery_log_profile_id_fkey;
ALTER TABLE message_delivery_log DROP CONSTRAINT IF EXISTS message_delivery_log_session_id_fkey;
ALTER TABLE message_delivery_log DROP CONSTRAINT IF EXISTS message_delivery_log_reply_id_fkey;

-- Every message extends its session's expiry. With expires_at indexed, each of those updates
-- wrote a new entry in every index of the table; without it (and with room in the pages) they
-- stay on the page (HOT). The sweeper that looks for expired sessions runs once a minute and
-- scans for them instead.
DROP INDEX IF EXISTS omnichannel_sessions_expiring;
ALTER TABLE omnichannel_sessions SET (fillfactor = 80);
