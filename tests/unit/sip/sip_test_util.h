// Helpers shared by the sbc::sip unit tests.
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>

#include "sbc/sip/message.h"

namespace sbc::sip::testing {

// Binary-safe: the RFC 4475 files hold NULs, bare LFs and trailing octets.
inline std::string loadFixture(const std::string& name) {
  std::ifstream in(std::string(SBC_FIXTURES_DIR) + "/rfc4475/" + name + ".dat", std::ios::binary);
  EXPECT_TRUE(in.good()) << "missing fixture " << name;
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The values a user of the message sees are the same in both messages. `b`
// may carry one extra Content-Length (serialize adds it when absent).
inline void expectSameValues(const Message& a, const Message& b) {
  EXPECT_EQ(a.isRequest(), b.isRequest());
  EXPECT_EQ(a.method(), b.method());
  EXPECT_EQ(a.methodText(), b.methodText());
  EXPECT_EQ(a.requestUriText(), b.requestUriText());
  EXPECT_EQ(a.version(), b.version());
  EXPECT_EQ(a.statusCode(), b.statusCode());
  EXPECT_EQ(a.reasonPhrase(), b.reasonPhrase());
  EXPECT_EQ(a.body(), b.body());
  EXPECT_EQ(a.parseError(), b.parseError());
  auto ha = a.headers();
  auto hb = b.headers();
  ASSERT_GE(hb.size(), ha.size());
  ASSERT_LE(hb.size(), ha.size() + 1);
  for (std::size_t i = 0; i < ha.size(); ++i) {
    EXPECT_EQ(ha[i].id, hb[i].id) << i;
    EXPECT_EQ(ha[i].name, hb[i].name) << i;
    EXPECT_EQ(ha[i].value, hb[i].value) << i;
  }
  if (hb.size() > ha.size()) {
    EXPECT_EQ(hb.back().id, HeaderId::ContentLength);
    EXPECT_EQ(a.header(HeaderId::ContentLength), nullptr);
  }
  auto ca = a.callId();
  auto cb = b.callId();
  ASSERT_EQ(ca.ok(), cb.ok());
  if (ca) {
    EXPECT_EQ(*ca, *cb);
  }
  auto sa = a.cseq();
  auto sb = b.cseq();
  ASSERT_EQ(sa.ok(), sb.ok());
  if (sa) {
    EXPECT_EQ(sa->number, sb->number);
    EXPECT_EQ(sa->method_text, sb->method_text);
  }
  for (auto get : {&Message::from, &Message::to}) {
    auto x = (a.*get)();
    auto y = (b.*get)();
    ASSERT_EQ(x.ok(), y.ok());
    if (x) {
      EXPECT_EQ(x->uri.text, y->uri.text);
      EXPECT_EQ(x->tag, y->tag);
      EXPECT_EQ(x->displayName(), y->displayName());
    }
  }
  auto va = a.vias();
  auto vb = b.vias();
  ASSERT_EQ(va.ok(), vb.ok());
  if (va) {
    ASSERT_EQ(va->size(), vb->size());
    for (std::size_t i = 0; i < va->size(); ++i) {
      EXPECT_EQ((*va)[i].host, (*vb)[i].host);
      EXPECT_EQ((*va)[i].branch, (*vb)[i].branch);
    }
  }
}

// Serializes, re-parses as a datagram and compares.
inline void expectRoundTrip(const Message& m) {
  std::string wire = m.serialize();
  auto again = parseDatagram(wire);
  ASSERT_TRUE(again.message.has_value()) << toString(again.error) << "\n" << wire;
  EXPECT_EQ(again.error, m.parseError());
  expectSameValues(m, *again.message);
  // And a second generation serializes to the same bytes.
  EXPECT_EQ(again.message->serialize(), wire);
}

}  // namespace sbc::sip::testing
