-- 0004: call detail records, SIP traces, and the SBC nodes' registry.

-- One row per call attempt, written by sbc/cdr (CdrWriter) in batches with
-- INSERT ... ON CONFLICT (uuid, start_time) DO NOTHING, so a replayed spool
-- file never writes a record twice. Partitioned by month on start_time: old
-- months are dropped (DROP TABLE cdrs_yYYYYmMM) instead of deleted row by row.
CREATE TABLE cdrs (
  uuid               uuid NOT NULL,
  start_time         timestamptz NOT NULL,
  node               text NOT NULL DEFAULT '',
  direction          text NOT NULL CHECK (direction IN ('inbound', 'outbound', 'internal')),
  a_call_id          text NOT NULL DEFAULT '',
  b_call_id          text NOT NULL DEFAULT '',
  in_trunk_id        bigint,  -- no FK: a CDR outlives its trunk
  in_trunk           text NOT NULL DEFAULT '',
  out_trunk_id       bigint,
  out_trunk          text NOT NULL DEFAULT '',
  caller_in          text NOT NULL DEFAULT '',
  callee_in          text NOT NULL DEFAULT '',
  caller_out         text NOT NULL DEFAULT '',
  callee_out         text NOT NULL DEFAULT '',
  routing_number     text NOT NULL DEFAULT '',  -- RFC 4694 rn the call was routed on
  ringing_time       timestamptz,
  answer_time        timestamptz,
  end_time           timestamptz,
  duration_ms        bigint NOT NULL DEFAULT 0 CHECK (duration_ms >= 0),
  sip_code           integer NOT NULL DEFAULT 0 CHECK (sip_code = 0 OR sip_code BETWEEN 100 AND 699),
  sip_reason         text NOT NULL DEFAULT '',
  q850_cause         integer CHECK (q850_cause BETWEEN 0 AND 127),
  ended_by           text NOT NULL DEFAULT 'sbc' CHECK (ended_by IN ('caller', 'callee', 'sbc')),
  end_reason         text NOT NULL DEFAULT '',
  failover_attempts  integer NOT NULL DEFAULT 0 CHECK (failover_attempts >= 0),
  tried_gateways     text[] NOT NULL DEFAULT '{}',
  a_packets          bigint NOT NULL DEFAULT 0,
  a_bytes            bigint NOT NULL DEFAULT 0,
  a_packets_lost     bigint NOT NULL DEFAULT 0,
  a_jitter_ms        real NOT NULL DEFAULT 0,
  b_packets          bigint NOT NULL DEFAULT 0,
  b_bytes            bigint NOT NULL DEFAULT 0,
  b_packets_lost     bigint NOT NULL DEFAULT 0,
  b_jitter_ms        real NOT NULL DEFAULT 0,
  inserted_at        timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (uuid, start_time)
) PARTITION BY RANGE (start_time);
CREATE INDEX cdrs_start_time ON cdrs (start_time);
CREATE INDEX cdrs_a_call_id ON cdrs (a_call_id);
CREATE INDEX cdrs_callee_in ON cdrs (callee_in, start_time);
CREATE INDEX cdrs_caller_in ON cdrs (caller_in, start_time);

-- Rows of a month without its partition land here rather than fail.
CREATE TABLE cdrs_default PARTITION OF cdrs DEFAULT;

-- Creates the partition of the month containing `month` (idempotent, safe
-- to call concurrently). Rows already in the default partition for that month
-- move into the new partition. Returns the partition's name.
CREATE FUNCTION create_cdr_partition(month timestamptz) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  lo    timestamptz := date_trunc('month', month, 'UTC');
  hi    timestamptz := date_trunc('month', month, 'UTC') + interval '1 month';
  part  text := format('cdrs_y%sm%s', to_char(lo AT TIME ZONE 'UTC', 'YYYY'),
                       to_char(lo AT TIME ZONE 'UTC', 'MM'));
BEGIN
  IF to_regclass(part) IS NOT NULL THEN
    RETURN part;
  END IF;
  -- Serializes creators (several nodes' CDR writers, the migration).
  PERFORM pg_advisory_xact_lock(hashtext('create_cdr_partition'));
  IF to_regclass(part) IS NOT NULL THEN
    RETURN part;
  END IF;
  EXECUTE format('CREATE TABLE %I (LIKE cdrs INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', part);
  EXECUTE format(
    'WITH moved AS (DELETE FROM cdrs_default WHERE start_time >= %L AND start_time < %L RETURNING *) '
    'INSERT INTO %I SELECT * FROM moved', lo, hi, part);
  EXECUTE format('ALTER TABLE cdrs ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', part, lo, hi);
  RETURN part;
END $$;

SELECT create_cdr_partition(now());
SELECT create_cdr_partition(now() + interval '1 month');

-- SIP messages of calls being traced (mgmt API /api/trace, the console's
-- ladder diagram). Retention: purge_sip_traces() deletes by time.
CREATE TABLE sip_traces (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  call_id    text NOT NULL,
  leg        text NOT NULL CHECK (leg IN ('a', 'b')),
  direction  text NOT NULL CHECK (direction IN ('in', 'out')),
  at         timestamptz NOT NULL DEFAULT now(),
  node       text NOT NULL DEFAULT '',
  transport  text NOT NULL DEFAULT 'udp' CHECK (transport IN ('udp', 'tcp', 'tls')),
  local      text NOT NULL DEFAULT '',  -- address:port
  remote     text NOT NULL DEFAULT '',
  message    text NOT NULL
);
CREATE INDEX sip_traces_call_id ON sip_traces (call_id, at);
CREATE INDEX sip_traces_at ON sip_traces (at);

CREATE FUNCTION purge_sip_traces(keep interval) RETURNS bigint LANGUAGE sql AS $$
  WITH gone AS (DELETE FROM sip_traces WHERE at < now() - keep RETURNING 1)
  SELECT count(*) FROM gone
$$;

-- Each SBC node registers itself here and heartbeats; the console finds the
-- nodes' mgmt APIs (live calls, traces) through it.
CREATE TABLE sbc_nodes (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name          text NOT NULL UNIQUE CHECK (name <> ''),
  mgmt_address  text NOT NULL,  -- host:port of the node's loopback/mgmt HTTP API
  started_at    timestamptz NOT NULL DEFAULT now(),
  heartbeat_at  timestamptz NOT NULL DEFAULT now(),
  version       text NOT NULL DEFAULT ''  -- software version
);
