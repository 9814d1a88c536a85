#pragma once
// One function per resource file; app.cc calls each once. A new resource
// (port orders, CSV imports...) adds its file and one line in buildApi().
#include "admin-ui/api.h"

namespace sbc::admin {

void registerTrunkRoutes(Api& api);   // trunk_routes.cc: trunks with gateways, ACL, credentials
void registerDidRoutes(Api& api);     // did_routes.cc
void registerRouteRoutes(Api& api);   // route_routes.cc: outbound routes
void registerUserRoutes(Api& api);    // user_routes.cc: users (admin only)
void registerTokenRoutes(Api& api);   // token_routes.cc: API tokens (admin only)
void registerAuditRoutes(Api& api);   // audit_routes.cc: audit log, read-only
void registerNodeRoutes(Api& api);    // node_routes.cc: sbc_nodes
void registerLiveRoutes(Api& api);    // live_routes.cc: live calls and trunk usage from every node
void registerOpenApiRoute(Api& api);  // openapi.cc: GET /api/v1/openapi.json

}  // namespace sbc::admin
