-- SIP tracing per trunk: every call through a trunk with sip_trace on has
-- its SIP messages (both legs, as on the wire) written to sip_traces.
ALTER TABLE trunks ADD COLUMN sip_trace boolean NOT NULL DEFAULT false;
