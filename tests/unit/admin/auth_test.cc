#include "admin-ui/auth.h"

#include <gtest/gtest.h>

namespace sbc::admin {
namespace {

TEST(Auth, CookieValue) {
  EXPECT_EQ(cookieValue("sbc_session=abc", "sbc_session"), "abc");
  EXPECT_EQ(cookieValue("a=1; sbc_session=xyz; b=2", "sbc_session"), "xyz");
  EXPECT_EQ(cookieValue("a=1;sbc_session=xyz", "sbc_session"), "xyz");
  EXPECT_FALSE(cookieValue("xsbc_session=1", "sbc_session"));
  EXPECT_FALSE(cookieValue("", "sbc_session"));
  EXPECT_FALSE(cookieValue(";;; =; sbc_session", "sbc_session"));
  EXPECT_EQ(cookieValue("sbc_session=", "sbc_session"), "");
}

TEST(Auth, BearerToken) {
  EXPECT_EQ(bearerToken("Bearer abc"), "abc");
  EXPECT_EQ(bearerToken("bearer  abc "), "abc");
  EXPECT_FALSE(bearerToken("Basic abc"));
  EXPECT_FALSE(bearerToken("Bearer "));
  EXPECT_FALSE(bearerToken(""));
}

TEST(Auth, UnsafeMethods) {
  EXPECT_TRUE(isUnsafeMethod(http::Method::kPost));
  EXPECT_TRUE(isUnsafeMethod(http::Method::kPatch));
  EXPECT_TRUE(isUnsafeMethod(http::Method::kDelete));
  EXPECT_TRUE(isUnsafeMethod(http::Method::kPut));
  EXPECT_FALSE(isUnsafeMethod(http::Method::kGet));
  EXPECT_FALSE(isUnsafeMethod(http::Method::kHead));
}

TEST(Auth, RoleNames) {
  EXPECT_EQ(roleFromName("admin"), Role::kAdmin);
  EXPECT_EQ(roleFromName("viewer"), Role::kViewer);
  EXPECT_FALSE(roleFromName("root"));
  EXPECT_EQ(roleName(Role::kOperator), "operator");
  EXPECT_LT(Role::kViewer, Role::kOperator);
  EXPECT_LT(Role::kOperator, Role::kAdmin);
}

TEST(Auth, PrincipalRoundTripsThroughRequestAttributes) {
  http::Request r;
  Principal p;
  p.user_id = 7;
  p.name = "alice";
  p.role = Role::kOperator;
  p.session = true;
  p.session_hash = "ab";
  attachPrincipal(r, p);
  Principal q = principalOf(r);
  EXPECT_EQ(q.user_id, 7);
  EXPECT_EQ(q.name, "alice");
  EXPECT_EQ(q.role, Role::kOperator);
  EXPECT_TRUE(q.session);
  EXPECT_EQ(q.who(), "alice");
  Principal t;
  t.token_id = 3;
  t.name = "ci";
  EXPECT_EQ(t.who(), "token:ci");
}

}  // namespace
}  // namespace sbc::admin
