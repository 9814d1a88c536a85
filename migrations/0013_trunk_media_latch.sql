-- How the media relay latches the first RTP source of a trunk's leg.
-- 'strict': the signalled ip:port, or the signalled IP on another port
-- within the relay's latch window (NAT). 'window_any': any source within the
-- window, for multi-homed PBXs whose RTP leaves from another address than
-- their SDP names. Either way the relay never re-latches mid-call.
ALTER TABLE trunks
  ADD COLUMN media_latch text NOT NULL DEFAULT 'strict'
    CHECK (media_latch IN ('strict', 'window_any'));
