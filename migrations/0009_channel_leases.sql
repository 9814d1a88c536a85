-- 0009: channel leases, so that a trunk's channel limits hold across several
-- SBC nodes sharing this database (sbc/cluster/). Each node holds one row per
-- limited trunk: how many of the trunk's channels (total, inbound, outbound)
-- it may use without asking again. A node changes its row only inside a
-- transaction that first locks the trunk's row (SELECT ... FOR NO KEY UPDATE),
-- so the grants of concurrent nodes are serialised per trunk and the sum of
-- the rows never passes the trunk's limits (it can only exceed them after an
-- operator lowers a limit, until the nodes give back).
--
-- updated_at is the lease heartbeat: every node refreshes its rows every few
-- seconds; rows not refreshed within the configured expiry belong to a dead
-- node and any live node deletes them.
--
-- No NOTIFY trigger: leases are not part of the configuration snapshot.
CREATE TABLE trunk_channel_leases (
  trunk_id    bigint NOT NULL REFERENCES trunks (id) ON DELETE CASCADE,
  node        text NOT NULL CHECK (node <> ''),  -- sbc_nodes.name of the holder
  calls       integer NOT NULL DEFAULT 0 CHECK (calls >= 0),     -- of max_calls
  inbound     integer NOT NULL DEFAULT 0 CHECK (inbound >= 0),   -- of max_inbound
  outbound    integer NOT NULL DEFAULT 0 CHECK (outbound >= 0),  -- of max_outbound
  -- true while the node asked for more than it was granted: holders of spare
  -- channels give them back sooner.
  wanted      boolean NOT NULL DEFAULT false,
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (trunk_id, node)
);

CREATE INDEX trunk_channel_leases_node ON trunk_channel_leases (node);

COMMENT ON TABLE trunk_channel_leases IS
  'channels of a trunk leased by one SBC node (cluster mode); sum per trunk <= the trunk limits';
