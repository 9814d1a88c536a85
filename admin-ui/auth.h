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

// The value of cookie `name` in a Cookie header, if any.
std::optional<std::string_view> cookieValue(std::string_view cookie_header, std::string_view name);
// The token of "Authorization: Bearer <token>", if that is the scheme.
std::optional<std::string_view> bearerToken(std::string_view authorization);
// True for methods that change state (CSRF applies).
bool isUnsafeMethod(http::Method method);

}  // namespace sbc::admin
