-- The cluster: one owner per shard (inbox.shards virtual shards), on leases with epoch fencing.
-- A node takes a free or expired shard with a conditional UPDATE that bumps `epoch`, renews all
-- of its shards in one statement, and every state write of an entity reads its shard's row
-- FOR SHARE in its transaction and checks the epoch: a stale owner's write finds another epoch
-- and is rejected, and a new owner's take waits for in-flight writes to commit. All times come
-- from the database clock (now()). Rows are created on demand by the first node that asks for
-- a shard (0010 is reserved for another change; the migrator applies versions as they come).
CREATE TABLE shard_leases (
  shard       integer     PRIMARY KEY CHECK (shard >= 0),
  owner       text,                                 -- node id; NULL: released
  epoch       bigint      NOT NULL DEFAULT 0,       -- bumped by every take
  expires_at  timestamptz NOT NULL DEFAULT '-infinity'
);

CREATE INDEX shard_leases_owner ON shard_leases (owner);

-- Live nodes: each heartbeats its row; shards are balanced towards an even share of the nodes
-- whose heartbeat is younger than the lease TTL.
CREATE TABLE cluster_members (
  node_id       text        PRIMARY KEY,
  address       text        NOT NULL DEFAULT '',
  heartbeat_at  timestamptz NOT NULL DEFAULT now(),
  started_at    timestamptz NOT NULL DEFAULT now()
);

-- The take and renew statements update these rows several times a second: room in each page
-- keeps the updates on the page (HOT).
ALTER TABLE shard_leases SET (fillfactor = 50);
ALTER TABLE cluster_members SET (fillfactor = 50);
