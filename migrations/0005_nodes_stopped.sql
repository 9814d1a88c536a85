-- 0005: a node says when it stopped cleanly. sbc/app/node_db.cc sets
-- stopped_at on SIGTERM/SIGINT (after its calls were ended) and clears it
-- when the node starts again; heartbeat_at keeps being written while it runs.
-- So the console tells the three states apart:
--   stopped_at IS NOT NULL                          stopped on purpose;
--   stopped_at IS NULL and heartbeat_at recent      running;
--   stopped_at IS NULL and heartbeat_at old         crashed or cut off.
--
-- No NOTIFY trigger: sbc_nodes is not part of the configuration snapshot
-- (a sbc_config NOTIFY on every heartbeat would reload every node).

ALTER TABLE sbc_nodes ADD COLUMN stopped_at timestamptz;

COMMENT ON COLUMN sbc_nodes.stopped_at IS
  'set by the node on a clean shutdown, NULL while it runs (or if it died without one)';
