#include <gtest/gtest.h>

#include "sbc/b2bua/lnp.h"
#include "sbc/b2bua/numbers.h"
#include "tests/unit/b2bua/policy_fixtures.h"

namespace sbc::b2bua {
namespace {

using testing::uriOf;

cfg::NumberFormat nanp() {
  cfg::NumberFormat f;
  f.country_code = "1";
  f.national_prefix = "1";
  f.international_prefix = "011";
  return f;
}

cfg::NumberFormat uk() {
  cfg::NumberFormat f;
  f.country_code = "44";
  f.national_prefix = "0";
  f.international_prefix = "00";
  f.send_plus = false;
  return f;
}

std::string norm(std::string_view raw, const cfg::NumberFormat& f) {
  NumberResult r = normalizeNumber(raw, f);
  return r.ok() ? r.digits : std::string("!") + std::string(toString(r.error));
}

TEST(Numbers, GlobalNumbersWithSeparators) {
  EXPECT_EQ(norm("+14155550100", nanp()), "14155550100");
  EXPECT_EQ(norm("+1-415-555-0100", nanp()), "14155550100");
  EXPECT_EQ(norm("+1 (415) 555.0100", nanp()), "14155550100");
  EXPECT_EQ(norm("+1%20415%20555%200100", nanp()), "14155550100");
  EXPECT_EQ(norm("+44 20 7946 0000", nanp()), "442079460000");
}

TEST(Numbers, InternationalAndNationalPrefixes) {
  EXPECT_EQ(norm("011442079460000", nanp()), "442079460000");
  EXPECT_EQ(norm("14155550100", nanp()), "14155550100");
  EXPECT_EQ(norm("4155550100", nanp()), "14155550100");  // NANP ten digits
  EXPECT_EQ(norm("0014155550100", uk()), "14155550100");
  EXPECT_EQ(norm("02079460000", uk()), "442079460000");
  EXPECT_EQ(norm("442079460000", uk()), "442079460000");  // plain E.164 digits
}

TEST(Numbers, RejectsWhatIsNotANumber) {
  EXPECT_EQ(norm("", nanp()), "!empty");
  EXPECT_EQ(norm("+", nanp()), "!empty");
  EXPECT_EQ(norm("--", nanp()), "!empty");
  EXPECT_EQ(norm("alice", nanp()), "!invalid");
  EXPECT_EQ(norm("*72", nanp()), "!invalid");
  EXPECT_EQ(norm("1415555#", nanp()), "!invalid");
  EXPECT_EQ(norm("+1415+5550100", nanp()), "!invalid");
  EXPECT_EQ(norm("%4", nanp()), "!invalid");
  EXPECT_EQ(norm("+0123456789", nanp()), "!invalid");
  EXPECT_EQ(norm("+1415555", nanp()), "!incomplete");
  EXPECT_EQ(norm("911", nanp()), "!incomplete");
  EXPECT_EQ(norm("0", uk()), "!incomplete");
  EXPECT_EQ(norm("+3312", nanp()), "!incomplete");
  EXPECT_EQ(norm("+141555501001", nanp()), "!too_long");
  EXPECT_EQ(norm("+4412345678901234", nanp()), "!too_long");
  EXPECT_EQ(norm(std::string(5000, '5'), nanp()), "!too_long");
}

TEST(Numbers, UriNumbers) {
  EXPECT_EQ(normalizeUriNumber(uriOf("tel:+1-415-555-0100"), nanp()).digits, "14155550100");
  EXPECT_EQ(
      normalizeUriNumber(uriOf("sip:+14155550100;npdi@example.com;user=phone"), nanp()).digits,
      "14155550100");
  EXPECT_EQ(normalizeUriNumber(uriOf("sip:4155550100@10.0.0.1"), nanp()).digits, "14155550100");
  EXPECT_FALSE(normalizeUriNumber(uriOf("sip:10.0.0.1"), nanp()).ok());
  EXPECT_FALSE(normalizeUriNumber(uriOf("urn:service:sos"), nanp()).ok());
}

TEST(Numbers, FormatTowardsTrunk) {
  EXPECT_EQ(formatNumber("14155550100", nanp()), "+14155550100");
  EXPECT_EQ(formatNumber("14155550100", uk()), "14155550100");
}

// ---- LNP (RFC 4694)

class Lnp : public ::testing::Test {
 protected:
  void SetUp() override {
    snap_.ported.push_back({14155550100, 14155559999});
    snap_.ported.push_back({14155550101, 14155558888});
    snap_.index();
    with_params_ = testing::carrier(1, "with");
    with_params_.pass_lnp_params = true;
    without_params_ = testing::carrier(2, "without");
    without_params_.pass_lnp_params = false;
    without_params_.numbers.send_plus = false;
  }
  cfg::Snapshot snap_;
  cfg::Trunk with_params_, without_params_;
};

TEST_F(Lnp, RnInRequestIsRoutedOnWithoutLookup) {
  // The number is in our table with another rn: upstream's rn wins.
  auto uri = uriOf("sip:+14155550100;rn=+14155551111;npdi@sbc;user=phone");
  LnpInfo l = resolveLnp(uri, "14155550100", nanp(), snap_);
  EXPECT_EQ(l.source, LnpInfo::Source::Upstream);
  EXPECT_EQ(l.routing_digits, "14155551111");
  EXPECT_EQ(l.rn, "14155551111");
  EXPECT_TRUE(l.npdi);
  EXPECT_EQ(lnpRequestUser("14155550100", l, with_params_), "+14155550100;rn=+14155551111;npdi");
  EXPECT_EQ(lnpRequestUser("14155550100", l, without_params_), "14155550100");
}

TEST_F(Lnp, NpdiWithoutRnMeansNoLookup) {
  auto uri = uriOf("tel:+14155550100;npdi");
  LnpInfo l = resolveLnp(uri, "14155550100", nanp(), snap_);
  EXPECT_EQ(l.source, LnpInfo::Source::NoLookup);
  EXPECT_EQ(l.routing_digits, "14155550100");  // ported in our table, but not looked up
  EXPECT_TRUE(l.rn.empty());
  EXPECT_TRUE(l.npdi);
  EXPECT_EQ(lnpRequestUser("14155550100", l, with_params_), "+14155550100;npdi");
  EXPECT_EQ(lnpRequestUser("14155550100", l, without_params_), "14155550100");
}

TEST_F(Lnp, LookupPortedNumber) {
  auto uri = uriOf("sip:+14155550101@sbc;user=phone");
  LnpInfo l = resolveLnp(uri, "14155550101", nanp(), snap_);
  EXPECT_EQ(l.source, LnpInfo::Source::Dip);
  EXPECT_EQ(l.routing_digits, "14155558888");
  EXPECT_EQ(l.rn, "14155558888");
  EXPECT_TRUE(l.npdi);
  EXPECT_EQ(lnpRequestUser("14155550101", l, with_params_), "+14155550101;rn=+14155558888;npdi");
  EXPECT_EQ(lnpRequestUser("14155550101", l, without_params_), "14155550101");
}

TEST_F(Lnp, LookupNotPortedNumberAddsNpdiOnly) {
  auto uri = uriOf("sip:+14155550199@sbc;user=phone");
  LnpInfo l = resolveLnp(uri, "14155550199", nanp(), snap_);
  EXPECT_EQ(l.source, LnpInfo::Source::Dip);
  EXPECT_EQ(l.routing_digits, "14155550199");
  EXPECT_TRUE(l.rn.empty());
  EXPECT_TRUE(l.npdi);
  EXPECT_EQ(lnpRequestUser("14155550199", l, with_params_), "+14155550199;npdi");
  EXPECT_EQ(lnpRequestUser("14155550199", l, without_params_), "14155550199");
}

TEST_F(Lnp, UnusableRnIsIgnored) {
  auto uri = uriOf("sip:+14155550101;rn=garbage@sbc;user=phone");
  LnpInfo l = resolveLnp(uri, "14155550101", nanp(), snap_);
  EXPECT_EQ(l.source, LnpInfo::Source::Dip);
  EXPECT_EQ(l.routing_digits, "14155558888");
}

TEST_F(Lnp, NationalRnIsNormalizedWithTheSendersFormat) {
  auto uri = uriOf("tel:4155550100;rn=4155551111;npdi;phone-context=+1");
  LnpInfo l = resolveLnp(uri, "14155550100", nanp(), snap_);
  EXPECT_EQ(l.rn, "14155551111");
}

}  // namespace
}  // namespace sbc::b2bua
