-- Retention: the sweeper deletes processed inbox rows past the dedupe window (inbox.retention_s)
-- a batch at a time. Without an index on received_at each batch scanned the table (a week of
-- webhooks) for its old rows, since the inbox is not indexed by arrival. The index is partial:
-- a row enters it when it is processed (that update already writes new index entries, the
-- pending index's predicate changing), so the ingest INSERT keeps its two index entries.
CREATE INDEX inbox_processed_received ON inbox (received_at) WHERE processed_at IS NOT NULL;
