#pragma once
// Authentication and authorisation: the middleware that turns a session
// cookie or a bearer API token into a Principal, checks CSRF on cookie
// sessions and the route's least role; and the login/logout/session routes.
#include <optional>
#include <string>
#include <string_view>

#include "admin-ui/api.h"

namespace sbc::admin {

// Installs the middleware on api.router() and the routes POST /api/v1/login,
// POST /api/v1/logout, GET /api/v1/session. Call once, before serving.
void installAuth(Api& api);

// Call inside the transaction of any write that ends a session or changes
// what a user or token may do (delete/disable a user, change a role or a
// password, revoke or delete a token) when it is not made through the
// /api/v1/users or /api/v1/tokens routes (those invalidate by themselves):
// clears this process's session/token cache at once, and NOTIFYs admin_auth
// so that every console (this one too, after the commit) clears its own.
// `why` is a short note for the payload ("user:42").
void invalidateAuthCache(Transaction& txn, std::string_view why);

// The value of cookie `name` in a Cookie header, if any.
std::optional<std::string_view> cookieValue(std::string_view cookie_header, std::string_view name);
// The token of "Authorization: Bearer <token>", if that is the scheme.
std::optional<std::string_view> bearerToken(std::string_view authorization);
// True for methods that change state (CSRF applies).
bool isUnsafeMethod(http::Method method);

}  // namespace sbc::admin
