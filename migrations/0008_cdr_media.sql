-- 0008: the rest of each leg's media in the CDR (0004 has packets/bytes
-- received from the leg's party, loss and jitter): what the relay sent to the
-- party, SRTP authentication failures, the relay that carried the call, and
-- whether its final stats arrived at all (false: the zeros mean "unknown",
-- e.g. the relay did not answer the destroy within the SBC's deadline).
-- On the partitioned parent: existing partitions get the columns too, and
-- create_cdr_partition() copies them with LIKE cdrs.
ALTER TABLE cdrs
  ADD COLUMN a_packets_out   bigint NOT NULL DEFAULT 0,
  ADD COLUMN a_bytes_out     bigint NOT NULL DEFAULT 0,
  ADD COLUMN a_srtp_failures bigint NOT NULL DEFAULT 0,
  ADD COLUMN b_packets_out   bigint NOT NULL DEFAULT 0,
  ADD COLUMN b_bytes_out     bigint NOT NULL DEFAULT 0,
  ADD COLUMN b_srtp_failures bigint NOT NULL DEFAULT 0,
  ADD COLUMN media_relay     text NOT NULL DEFAULT '',
  ADD COLUMN media_stats     boolean NOT NULL DEFAULT false;
