// SRTP contexts over libsrtp2. The known-answer tests do not trust libsrtp to
// check itself: a small independent reference (RFC 3711 KDF, AES-CM, HMAC-SHA1
// and RFC 7714 AES-GCM, built on OpenSSL primitives) is first checked against
// the RFCs' published vectors, then libsrtp's output is compared with it.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstring>
#include <string>
#include <vector>

#include "media-relay/srtp/context.h"
#include "media-relay/srtp/openssl_backend.h"
#include "media-relay/srtp/sdes.h"
#include "media-relay/srtp/suite.h"

namespace relay::srtp {
namespace {

using Bytes = std::vector<std::uint8_t>;

Bytes hex(std::string_view s) {
  Bytes out;
  for (std::size_t i = 0; i + 1 < s.size(); i += 2) {
    out.push_back(static_cast<std::uint8_t>(std::stoi(std::string(s.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

// ---- independent reference ------------------------------------------------

Bytes aesCtr(const Bytes& key, const std::uint8_t iv[16], const Bytes& in) {
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  EVP_EncryptInit_ex(ctx, key.size() == 32 ? EVP_aes_256_ctr() : EVP_aes_128_ctr(), nullptr,
                     key.data(), iv);
  Bytes out(in.size());
  int len = 0;
  EVP_EncryptUpdate(ctx, out.data(), &len, in.data(), static_cast<int>(in.size()));
  EVP_CIPHER_CTX_free(ctx);
  return out;
}

// RFC 3711 section 4.3.1 with key_derivation_rate 0. A 96-bit (GCM) master
// salt is treated as the leading bytes of the 112-bit field (RFC 7714 §11).
Bytes kdf(const Bytes& masterKey, const Bytes& masterSalt, std::uint8_t label, std::size_t n) {
  std::uint8_t iv[16] = {};
  std::memcpy(iv, masterSalt.data(), masterSalt.size());
  iv[7] ^= label;
  return aesCtr(masterKey, iv, Bytes(n, 0));
}

// SRTP AES-CM + HMAC-SHA1 protect of one packet with ROC 0 (RFC 3711 4.1.1, 4.2).
Bytes referenceAesCm(const Bytes& mk, const Bytes& ms, const Bytes& rtp, std::size_t tagLen) {
  Bytes ke = kdf(mk, ms, 0, 16), ka = kdf(mk, ms, 1, 20), ks = kdf(mk, ms, 2, 14);
  std::uint8_t iv[16] = {};
  std::memcpy(iv, ks.data(), 14);
  for (int i = 0; i < 4; ++i) iv[4 + i] ^= rtp[8 + i];  // SSRC
  iv[12] ^= rtp[2];                                     // SEQ (ROC = 0)
  iv[13] ^= rtp[3];
  Bytes payload(rtp.begin() + 12, rtp.end());
  Bytes out(rtp.begin(), rtp.begin() + 12);
  Bytes enc = aesCtr(ke, iv, payload);
  out.insert(out.end(), enc.begin(), enc.end());
  Bytes mac_in = out;
  mac_in.insert(mac_in.end(), {0, 0, 0, 0});  // ROC
  std::uint8_t mac[20];
  unsigned macLen = 0;
  HMAC(EVP_sha1(), ka.data(), static_cast<int>(ka.size()), mac_in.data(), mac_in.size(), mac,
       &macLen);
  out.insert(out.end(), mac, mac + tagLen);
  return out;
}

// RFC 7714 section 8: AES-GCM over an RTP packet with the session key and salt.
Bytes gcmWithSessionKeys(const Bytes& key, const Bytes& salt, const Bytes& rtp) {
  std::uint8_t iv[12] = {};
  std::memcpy(iv + 2, rtp.data() + 8, 4);  // SSRC; ROC (bytes 6..9) is 0
  iv[10] = rtp[2];
  iv[11] = rtp[3];
  for (int i = 0; i < 12; ++i) iv[i] ^= salt[i];
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  EVP_EncryptInit_ex(ctx, key.size() == 32 ? EVP_aes_256_gcm() : EVP_aes_128_gcm(), nullptr,
                     nullptr, nullptr);
  EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, 12, nullptr);
  EVP_EncryptInit_ex(ctx, nullptr, nullptr, key.data(), iv);
  int len = 0;
  EVP_EncryptUpdate(ctx, nullptr, &len, rtp.data(), 12);  // AAD = header
  Bytes out(rtp.begin(), rtp.begin() + 12);
  out.resize(rtp.size() + 16);
  EVP_EncryptUpdate(ctx, out.data() + 12, &len, rtp.data() + 12, static_cast<int>(rtp.size() - 12));
  EVP_EncryptFinal_ex(ctx, out.data() + 12 + len, &len);
  EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, out.data() + rtp.size());
  EVP_CIPHER_CTX_free(ctx);
  return out;
}

Bytes referenceGcm(const Bytes& mk, const Bytes& ms, const Bytes& rtp) {
  return gcmWithSessionKeys(kdf(mk, ms, 0, mk.size()), kdf(mk, ms, 2, 12), rtp);
}

// ---- the reference against the RFCs' vectors ---------------------------------

TEST(Reference, AesCmKeystreamMatchesRfc3711AppendixB2) {
  std::uint8_t iv[16];
  std::memcpy(iv, hex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD0000").data(), 16);
  EXPECT_EQ(aesCtr(hex("2B7E151628AED2A6ABF7158809CF4F3C"), iv, Bytes(48, 0)),
            hex("E03EAD0935C95E80E166B16DD92B4EB4D23513162B02D0F72A43A2FE4A5F97AB"
                "41E95B3BB0A2E8DD477901E4FCA894C0"));
}

const Bytes kB3Key = hex("E1F97A0D3E018BE0D64FA32C06DE4139");
const Bytes kB3Salt = hex("0EC675AD498AFEEBB6960B3AABE6");

TEST(Reference, KeyDerivationMatchesRfc3711AppendixB3) {
  EXPECT_EQ(kdf(kB3Key, kB3Salt, 0, 16), hex("C61E7A93744F39EE10734AFE3FF7A087"));
  EXPECT_EQ(kdf(kB3Key, kB3Salt, 1, 20), hex("CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4"));
  EXPECT_EQ(kdf(kB3Key, kB3Salt, 2, 14), hex("30CBBC08863D8C85D49DB34A9AE1"));
}

const Bytes kRfc7714Plain =
    hex("8040f17b8041f8d35501a0b2"
        "47616c6c696120657374206f6d6e69732064697669736120696e207061727465732074726573");

TEST(Reference, AesGcmRtpMatchesRfc7714Section16) {
  EXPECT_EQ(gcmWithSessionKeys(hex("000102030405060708090a0b0c0d0e0f"),
                               hex("517569642070726f2071756f"), kRfc7714Plain),
            hex("8040f17b8041f8d35501a0b2"
                "f24de3a3fb34de6cacba861c9d7e4bcabe633bd50d294e6f42a5f47a51c7d19b36de3adf8833"
                "899d7f27beb16a9152cf765ee4390cce"));
}

// ---- libsrtp against the reference -----------------------------------------

Bytes concat(const Bytes& a, const Bytes& b) {
  Bytes out = a;
  out.insert(out.end(), b.begin(), b.end());
  return out;
}

Bytes protectOne(const Suite& s, const Bytes& master, Bytes packet) {
  auto ctx = Context::create(s, master, Direction::kOutbound);
  EXPECT_NE(ctx, nullptr);
  std::size_t len = packet.size();
  packet.resize(len + s.rtpExpansion());
  EXPECT_EQ(ctx->protectRtp(packet, len), Status::kOk);
  packet.resize(len);
  return packet;
}

TEST(LibsrtpKnownAnswer, AesCm80WithRfc3711B3MasterMatchesReference) {
  const Suite& s = suite(SuiteId::kAesCm128HmacSha1_80);
  EXPECT_EQ(protectOne(s, concat(kB3Key, kB3Salt), kRfc7714Plain),
            referenceAesCm(kB3Key, kB3Salt, kRfc7714Plain, 10));
}

TEST(LibsrtpKnownAnswer, AesCm32WithRfc3711B3MasterMatchesReference) {
  const Suite& s = suite(SuiteId::kAesCm128HmacSha1_32);
  EXPECT_EQ(protectOne(s, concat(kB3Key, kB3Salt), kRfc7714Plain),
            referenceAesCm(kB3Key, kB3Salt, kRfc7714Plain, 4));
}

TEST(LibsrtpKnownAnswer, AeadAes128GcmWithRfc7714KeyAsMasterMatchesReference) {
  const Bytes mk = hex("000102030405060708090a0b0c0d0e0f");
  const Bytes ms = hex("517569642070726f2071756f");
  EXPECT_EQ(protectOne(suite(SuiteId::kAeadAes128Gcm), concat(mk, ms), kRfc7714Plain),
            referenceGcm(mk, ms, kRfc7714Plain));
}

TEST(LibsrtpKnownAnswer, AeadAes256GcmMatchesReference) {
  const Bytes mk = hex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
  const Bytes ms = hex("517569642070726f2071756f");
  EXPECT_EQ(protectOne(suite(SuiteId::kAeadAes256Gcm), concat(mk, ms), kRfc7714Plain),
            referenceGcm(mk, ms, kRfc7714Plain));
}

// One context over several packets: the cipher's IV and the MAC's state are
// reset per packet (the relay's OpenSSL primitives keep state between
// calls, media-relay/srtp/openssl_backend.h), so each must still match the
// reference, and an inbound context must take them all.
TEST(LibsrtpKnownAnswer, AesCmStreamOfPacketsMatchesReferenceEachTime) {
  for (auto [id, tagLen] : {std::pair{SuiteId::kAesCm128HmacSha1_80, std::size_t{10}},
                            std::pair{SuiteId::kAesCm128HmacSha1_32, std::size_t{4}}}) {
    const Suite& s = suite(id);
    auto tx = Context::create(s, concat(kB3Key, kB3Salt), Direction::kOutbound);
    auto rx = Context::create(s, concat(kB3Key, kB3Salt), Direction::kInbound);
    ASSERT_NE(tx, nullptr);
    ASSERT_NE(rx, nullptr);
    Bytes packet = kRfc7714Plain;
    for (std::uint16_t seq = 1; seq <= 5; ++seq) {
      packet[2] = static_cast<std::uint8_t>(seq >> 8);
      packet[3] = static_cast<std::uint8_t>(seq);
      packet[20] = static_cast<std::uint8_t>(seq * 3);  // a payload byte
      Bytes buf = packet;
      std::size_t len = buf.size();
      buf.resize(len + s.rtpExpansion());
      ASSERT_EQ(tx->protectRtp(buf, len), Status::kOk);
      buf.resize(len);
      EXPECT_EQ(buf, referenceAesCm(kB3Key, kB3Salt, packet, tagLen)) << "seq " << seq;
      ASSERT_EQ(rx->unprotectRtp(buf, len), Status::kOk);
      buf.resize(len);
      EXPECT_EQ(buf, packet);
    }
  }
}

TEST(Backend, AesCmAndHmacComeFromOpenSsl) {
  ASSERT_TRUE(initLibrary());
  EXPECT_EQ(cryptoBackend(), "openssl");
}

// ---- behaviour ---------------------------------------------------------------

Bytes rtpPacket(std::uint16_t seq, std::size_t payload = 160) {
  Bytes p = {0x80,
             0x00,
             static_cast<std::uint8_t>(seq >> 8),
             static_cast<std::uint8_t>(seq),
             0,
             0,
             0,
             160,
             0x12,
             0x34,
             0x56,
             0x78};
  for (std::size_t i = 0; i < payload; ++i) p.push_back(static_cast<std::uint8_t>(i * 7));
  return p;
}

Bytes rtcpSenderReport() {
  Bytes p = {0x80, 200, 0x00, 0x06, 0x12, 0x34, 0x56, 0x78};
  for (int i = 0; i < 20; ++i) p.push_back(static_cast<std::uint8_t>(i));
  return p;
}

struct Pair {
  ContextPtr tx, rx;
};

Pair makePair(const Suite& s) {
  auto key = generateMasterKey(s);
  EXPECT_TRUE(key);
  return {Context::create(s, key->view(), Direction::kOutbound),
          Context::create(s, key->view(), Direction::kInbound)};
}

class EverySuite : public ::testing::TestWithParam<SuiteId> {};

TEST_P(EverySuite, RtpRoundTripWithExactlySizedBuffer) {
  const Suite& s = suite(GetParam());
  auto [tx, rx] = makePair(s);
  ASSERT_TRUE(tx && rx);
  for (std::uint16_t seq = 100; seq < 110; ++seq) {
    const Bytes plain = rtpPacket(seq);
    Bytes buf = plain;
    buf.resize(plain.size() + s.rtpExpansion());  // no slack: ASan checks the bound
    std::size_t len = plain.size();
    ASSERT_EQ(tx->protectRtp(buf, len), Status::kOk);
    EXPECT_EQ(len, plain.size() + s.rtpTagLength);
    EXPECT_NE(Bytes(buf.begin() + 12, buf.begin() + 40),
              Bytes(plain.begin() + 12, plain.begin() + 40));
    ASSERT_EQ(rx->unprotectRtp(std::span(buf).first(len), len), Status::kOk);
    EXPECT_EQ(Bytes(buf.begin(), buf.begin() + len), plain);
  }
}

TEST_P(EverySuite, RtcpRoundTripWithExactlySizedBuffer) {
  const Suite& s = suite(GetParam());
  auto [tx, rx] = makePair(s);
  const Bytes plain = rtcpSenderReport();
  Bytes buf = plain;
  buf.resize(plain.size() + s.rtcpExpansion());
  std::size_t len = plain.size();
  ASSERT_EQ(tx->protectRtcp(buf, len), Status::kOk);
  EXPECT_EQ(len, plain.size() + s.rtcpExpansion());
  ASSERT_EQ(rx->unprotectRtcp(std::span(buf).first(len), len), Status::kOk);
  EXPECT_EQ(Bytes(buf.begin(), buf.begin() + len), plain);
}

TEST_P(EverySuite, TamperedPacketsFailAuthentication) {
  const Suite& s = suite(GetParam());
  auto [tx, rx] = makePair(s);
  Bytes buf = rtpPacket(7);
  std::size_t len = buf.size();
  buf.resize(len + s.rtpExpansion());
  ASSERT_EQ(tx->protectRtp(buf, len), Status::kOk);
  for (std::size_t at : {std::size_t{3}, std::size_t{20}, len - 1}) {  // header, payload, tag
    Bytes bad(buf.begin(), buf.begin() + len);
    bad[at] ^= 0x01;
    std::size_t l = bad.size();
    EXPECT_EQ(rx->unprotectRtp(bad, l), Status::kAuthFailure) << "byte " << at;
  }
  Bytes rtcp = rtcpSenderReport();
  std::size_t rl = rtcp.size();
  rtcp.resize(rl + s.rtcpExpansion());
  ASSERT_EQ(tx->protectRtcp(rtcp, rl), Status::kOk);
  rtcp[10] ^= 0x80;
  EXPECT_EQ(rx->unprotectRtcp(std::span(rtcp).first(rl), rl), Status::kAuthFailure);
}

TEST_P(EverySuite, WrongKeyFailsAuthentication) {
  const Suite& s = suite(GetParam());
  auto [tx, rx] = makePair(s);
  auto [tx2, rx2] = makePair(s);  // a different key
  Bytes buf = rtpPacket(1);
  std::size_t len = buf.size();
  buf.resize(len + s.rtpExpansion());
  ASSERT_EQ(tx->protectRtp(buf, len), Status::kOk);
  EXPECT_EQ(rx2->unprotectRtp(std::span(buf).first(len), len), Status::kAuthFailure);
}

TEST_P(EverySuite, ReplayedPacketIsRejected) {
  const Suite& s = suite(GetParam());
  auto [tx, rx] = makePair(s);
  Bytes buf = rtpPacket(42);
  std::size_t len = buf.size();
  buf.resize(len + s.rtpExpansion());
  ASSERT_EQ(tx->protectRtp(buf, len), Status::kOk);
  const Bytes wire(buf.begin(), buf.begin() + len);
  Bytes first = wire, second = wire;
  std::size_t l1 = first.size(), l2 = second.size();
  EXPECT_EQ(rx->unprotectRtp(first, l1), Status::kOk);
  EXPECT_EQ(rx->unprotectRtp(second, l2), Status::kReplay);
}

TEST_P(EverySuite, GarbageAndTruncatedInputIsAnErrorNotACrash) {
  const Suite& s = suite(GetParam());
  auto [tx, rx] = makePair(s);
  Bytes buf = rtpPacket(9);
  std::size_t len = buf.size();
  buf.resize(len + s.rtpExpansion());
  ASSERT_EQ(tx->protectRtp(buf, len), Status::kOk);
  // Every truncation of a valid packet.
  for (std::size_t n = 0; n < len; ++n) {
    Bytes t(buf.begin(), buf.begin() + n);
    std::size_t l = n;
    EXPECT_NE(rx->unprotectRtp(t, l), Status::kOk) << n;
    Bytes c = t;
    std::size_t cl = n;
    EXPECT_NE(rx->unprotectRtcp(c, cl), Status::kOk) << n;
  }
  // Headers that claim more than the packet holds.
  Bytes csrc = rtpPacket(10, 40);
  csrc[0] = 0x8f;  // 15 CSRCs (60 bytes) in a 52-byte packet
  std::size_t cl = csrc.size();
  EXPECT_EQ(rx->unprotectRtp(csrc, cl), Status::kBadPacket);
  Bytes ext = rtpPacket(11, 30);
  ext[0] = 0x90;
  ext[14] = 0xff;  // extension length 0xff.. words
  ext[15] = 0xff;
  std::size_t el = ext.size();
  EXPECT_EQ(rx->unprotectRtp(ext, el), Status::kBadPacket);
  Bytes v1 = rtpPacket(12);
  v1[0] = 0x40;
  std::size_t vl = v1.size();
  EXPECT_EQ(rx->unprotectRtp(v1, vl), Status::kBadPacket);
  // Deterministic pseudo-random garbage, RTP and RTCP.
  std::uint32_t state = 12345;
  for (int i = 0; i < 2000; ++i) {
    Bytes g(static_cast<std::size_t>(i % 200));
    for (auto& b : g) {
      state = state * 1103515245u + 12345u;
      b = static_cast<std::uint8_t>(state >> 16);
    }
    if (!g.empty() && (i & 1)) g[0] = 0x80;
    Bytes g2 = g;
    std::size_t l = g.size(), l2 = g2.size();
    EXPECT_NE(rx->unprotectRtp(g, l), Status::kOk);
    EXPECT_NE(rx->unprotectRtcp(g2, l2), Status::kOk);
  }
}

TEST_P(EverySuite, ProtectRefusesWithoutRoomForTheTag) {
  const Suite& s = suite(GetParam());
  auto [tx, rx] = makePair(s);
  Bytes buf = rtpPacket(5);
  std::size_t len = buf.size();
  buf.resize(len + s.rtpExpansion() - 1);
  EXPECT_EQ(tx->protectRtp(buf, len), Status::kBadLength);
  EXPECT_EQ(len, 172u);
  std::size_t tooLong = buf.size() + 1;
  EXPECT_EQ(tx->protectRtp(buf, tooLong), Status::kBadLength);
}

INSTANTIATE_TEST_SUITE_P(Suites, EverySuite,
                         ::testing::Values(SuiteId::kAesCm128HmacSha1_80,
                                           SuiteId::kAesCm128HmacSha1_32, SuiteId::kAeadAes128Gcm,
                                           SuiteId::kAeadAes256Gcm));

TEST(Context, CreateRejectsWrongKeyLengthAndDirectionMisuse) {
  Status why = Status::kOk;
  Bytes shortKey(29, 1);
  EXPECT_EQ(Context::create(suite(SuiteId::kAesCm128HmacSha1_80), shortKey, Direction::kInbound, {},
                            &why),
            nullptr);
  EXPECT_EQ(why, Status::kBadLength);
  auto [tx, rx] = makePair(suite(SuiteId::kAesCm128HmacSha1_80));
  Bytes buf = rtpPacket(1);
  std::size_t len = buf.size();
  buf.resize(len + 10);
  EXPECT_EQ(rx->protectRtp(buf, len), Status::kError);
  EXPECT_EQ(tx->unprotectRtp(buf, len), Status::kError);
}

TEST(Context, RepeatTransmitOnlyWhenAllowed) {
  const Suite& s = suite(SuiteId::kAesCm128HmacSha1_80);
  auto key = generateMasterKey(s);
  for (bool allow : {false, true}) {
    ContextOptions opt;
    opt.allowRepeatTx = allow;
    auto tx = Context::create(s, key->view(), Direction::kOutbound, opt);
    Bytes a = rtpPacket(3), b = rtpPacket(3);
    std::size_t la = a.size(), lb = b.size();
    a.resize(la + 10);
    b.resize(lb + 10);
    EXPECT_EQ(tx->protectRtp(a, la), Status::kOk);
    EXPECT_EQ(tx->protectRtp(b, lb), allow ? Status::kOk : Status::kReplay);
  }
}

}  // namespace
}  // namespace relay::srtp
