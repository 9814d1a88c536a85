#pragma once
// Everything sbc-admin serves, assembled without sockets (the OpenAPI test
// walks the result), and the two commands of the binary.
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "admin-ui/api.h"
#include "admin-ui/config.h"

namespace sbc::http {
class Health;
}  // namespace sbc::http

namespace sbc::admin {

// The API with every route, the auth middleware, /metrics, /healthz, the
// static UI (when config.static_dir is set) and the security headers.
std::unique_ptr<Api> buildApi(const AdminConfig& config, std::shared_ptr<db::Pool> pool,
                              std::optional<crypto::SecretKey> key,
                              const std::shared_ptr<metrics::Registry>& registry,
                              std::shared_ptr<const http::Health> health);

// The OpenAPI document (admin-ui/openapi.json, compiled in).
std::string_view openApiDocument();

// `sbc-admin --config FILE`: serves until SIGTERM/SIGINT. Exit code.
int runServer(const AdminConfig& config);
// `sbc-admin create-admin`: a new admin user. The password is read from
// `password_stdin` text when given, else generated and printed once. Exit code.
int createAdmin(const AdminConfig& config, const std::string& username,
                std::optional<std::string> password);

}  // namespace sbc::admin
