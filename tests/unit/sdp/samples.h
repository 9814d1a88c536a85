// Realistic SDP bodies as devices send them (LF-separated here; crlf() converts).
#pragma once

#include <string>
#include <string_view>

namespace sbc::sdp::samples {

inline std::string crlf(std::string_view lf) {
  std::string out;
  out.reserve(lf.size() + 64);
  for (char c : lf) {
    if (c == '\n') out.push_back('\r');
    out.push_back(c);
  }
  return out;
}

// Asterisk 18 chan_pjsip offer.
inline constexpr std::string_view kAsterisk =
    "v=0\n"
    "o=- 1793392066 1793392066 IN IP4 192.168.1.20\n"
    "s=Asterisk\n"
    "c=IN IP4 192.168.1.20\n"
    "t=0 0\n"
    "m=audio 14050 RTP/AVP 0 8 3 101\n"
    "a=rtpmap:0 PCMU/8000\n"
    "a=rtpmap:8 PCMA/8000\n"
    "a=rtpmap:3 GSM/8000\n"
    "a=rtpmap:101 telephone-event/8000\n"
    "a=fmtp:101 0-16\n"
    "a=ptime:20\n"
    "a=maxptime:150\n"
    "a=sendrecv\n";

// FreeSWITCH 1.10 offer with opus and an RFC 3605 rtcp attribute.
inline constexpr std::string_view kFreeSwitch =
    "v=0\n"
    "o=FreeSWITCH 1700000000 1700000001 IN IP4 10.0.0.5\n"
    "s=FreeSWITCH\n"
    "c=IN IP4 10.0.0.5\n"
    "t=0 0\n"
    "m=audio 28766 RTP/AVP 9 0 8 102 101 13\n"
    "a=rtpmap:9 G722/8000\n"
    "a=rtpmap:0 PCMU/8000\n"
    "a=rtpmap:8 PCMA/8000\n"
    "a=rtpmap:102 opus/48000/2\n"
    "a=fmtp:102 useinbandfec=1; maxaveragebitrate=30000; maxplaybackrate=48000; ptime=20\n"
    "a=rtpmap:101 telephone-event/8000\n"
    "a=fmtp:101 0-16\n"
    "a=rtpmap:13 CN/8000\n"
    "a=ptime:20\n"
    "a=sendrecv\n"
    "a=rtcp:28767 IN IP4 10.0.0.5\n";

// Cisco CUBE style: c= at both levels, G.729 annexb=no, b=AS.
inline constexpr std::string_view kCiscoCube =
    "v=0\n"
    "o=CiscoSystemsSIP-GW-UserAgent 4870 2279 IN IP4 172.16.10.1\n"
    "s=SIP Call\n"
    "c=IN IP4 172.16.10.1\n"
    "t=0 0\n"
    "m=audio 16428 RTP/AVP 18 0 101 19\n"
    "c=IN IP4 172.16.10.1\n"
    "b=AS:80\n"
    "a=rtpmap:18 G729/8000\n"
    "a=fmtp:18 annexb=no\n"
    "a=rtpmap:0 PCMU/8000\n"
    "a=rtpmap:101 telephone-event/8000\n"
    "a=fmtp:101 0-15\n"
    "a=rtpmap:19 CN/8000\n"
    "a=ptime:20\n";

// Browser-style offer: BUNDLE, ICE, DTLS, rtcp-mux, ssrc, audio + video.
inline constexpr std::string_view kWebRtc =
    "v=0\n"
    "o=- 4611731400430051336 2 IN IP4 127.0.0.1\n"
    "s=-\n"
    "t=0 0\n"
    "a=group:BUNDLE 0 1\n"
    "a=extmap-allow-mixed\n"
    "a=msid-semantic: WMS stream1\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126\n"
    "c=IN IP4 0.0.0.0\n"
    "a=rtcp:9 IN IP4 0.0.0.0\n"
    "a=ice-ufrag:EsAw\n"
    "a=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1\n"
    "a=ice-options:trickle\n"
    "a=fingerprint:sha-256 D2:FA:0E:C3:22:59:5E:14:95:69:92:3D:13:B4:84:24:2C:C2:A2:C0:3E:FD:34:8E:"
    "5E:EA:6F:AF:52:CE:E6:0F\n"
    "a=setup:actpass\n"
    "a=mid:0\n"
    "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\n"
    "a=sendrecv\n"
    "a=msid:stream1 track1\n"
    "a=rtcp-mux\n"
    "a=rtpmap:111 opus/48000/2\n"
    "a=rtcp-fb:111 transport-cc\n"
    "a=fmtp:111 minptime=10;useinbandfec=1\n"
    "a=rtpmap:63 red/48000/2\n"
    "a=fmtp:63 111/111\n"
    "a=rtpmap:9 G722/8000\n"
    "a=rtpmap:0 PCMU/8000\n"
    "a=rtpmap:8 PCMA/8000\n"
    "a=rtpmap:13 CN/8000\n"
    "a=rtpmap:110 telephone-event/48000\n"
    "a=rtpmap:126 telephone-event/8000\n"
    "a=ssrc:3570614608 cname:4TOk42mSjXCkVIa6\n"
    "a=ssrc:3570614608 msid:stream1 track1\n"
    "a=candidate:1467250027 1 udp 2122260223 192.168.0.196 46243 typ host generation 0 "
    "network-id 1\n"
    "a=candidate:1853887674 1 udp 1686052607 203.0.113.7 46243 typ srflx raddr 192.168.0.196 "
    "rport 46243 generation 0\n"
    "a=candidate:2 1 tcp 1518280447 192.168.0.196 9 typ host tcptype active generation 0\n"
    "a=end-of-candidates\n"
    "m=video 9 UDP/TLS/RTP/SAVPF 96 97\n"
    "c=IN IP4 0.0.0.0\n"
    "a=rtcp:9 IN IP4 0.0.0.0\n"
    "a=ice-ufrag:EsAw\n"
    "a=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1\n"
    "a=fingerprint:sha-256 D2:FA:0E:C3:22:59:5E:14:95:69:92:3D:13:B4:84:24:2C:C2:A2:C0:3E:FD:34:8E:"
    "5E:EA:6F:AF:52:CE:E6:0F\n"
    "a=setup:actpass\n"
    "a=mid:1\n"
    "a=sendrecv\n"
    "a=rtcp-mux\n"
    "a=rtcp-rsize\n"
    "a=rtpmap:96 VP8/90000\n"
    "a=rtcp-fb:96 nack\n"
    "a=rtpmap:97 rtx/90000\n"
    "a=fmtp:97 apt=96\n";

// SDES-SRTP offer with several crypto lines (RFC 4568 forms: lifetime, MKI, two
// keys, session parameters).
inline constexpr std::string_view kSrtp =
    "v=0\n"
    "o=- 3855283745 3855283745 IN IP4 198.51.100.10\n"
    "s=-\n"
    "c=IN IP4 198.51.100.10\n"
    "t=0 0\n"
    "m=audio 30000 RTP/SAVP 0 8 101\n"
    "a=rtpmap:0 PCMU/8000\n"
    "a=rtpmap:8 PCMA/8000\n"
    "a=rtpmap:101 telephone-event/8000\n"
    "a=fmtp:101 0-16\n"
    "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:4\n"
    "a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj|2^20|1:4 "
    "UNENCRYPTED_SRTCP\n"
    "a=crypto:3 AEAD_AES_128_GCM inline:d0RmdmcmVCspeEc3QGZiNWpVLFJhQX1cfHAwJSoj\n"
    "a=crypto:4 AES_CM_128_HMAC_SHA1_80 inline:YUJDZGVmZ2hpSktMbW9QUXJzVFVWd3l6MTIzNDU2|1048576;"
    "inline:QUJDZGVmZ2hpSktMbW9QUXJzVFVWd3l6MTIzNDU2|1048576 KDR=1\n"
    "a=sendrecv\n";

// Audio accepted, video rejected with port 0 (an answer), session c= only.
inline constexpr std::string_view kAudioVideoRejected =
    "v=0\n"
    "o=alice 2890844526 2890844527 IN IP4 198.51.100.1\n"
    "s=-\n"
    "c=IN IP4 198.51.100.1\n"
    "t=0 0\n"
    "m=audio 49170 RTP/AVP 0\n"
    "a=rtpmap:0 PCMU/8000\n"
    "m=video 0 RTP/AVP 31\n"
    "a=rtpmap:31 H261/90000\n";

inline constexpr std::string_view kIpv6 =
    "v=0\n"
    "o=- 20518 0 IN IP6 2001:db8::1\n"
    "s=-\n"
    "c=IN IP6 2001:db8::1\n"
    "t=0 0\n"
    "m=audio 5004 RTP/AVP 0 101\n"
    "a=rtpmap:101 telephone-event/8000\n"
    "a=rtcp:5005 IN IP6 2001:db8::1\n";

// Unknown attribute names and unknown line letters, scattered.
inline constexpr std::string_view kUnknownLines =
    "v=0\n"
    "o=- 1 1 IN IP4 192.0.2.1\n"
    "s=-\n"
    "x=vendor-session-extension 1\n"
    "c=IN IP4 192.0.2.1\n"
    "t=0 0\n"
    "a=X-nat:0\n"
    "y=another\n"
    "m=audio 4000 RTP/AVP 0\n"
    "a=X-vendor-first\n"
    "a=rtpmap:0 PCMU/8000\n"
    "w=in media\n"
    "a=label:1\n"
    "a=x-unknown:with: colons\n";

}  // namespace sbc::sdp::samples
