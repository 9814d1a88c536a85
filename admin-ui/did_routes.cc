// DIDs (E.164 numbers delivered to a PBX trunk) and outbound routes.
#include "admin-ui/resource.h"
#include "admin-ui/routes.h"

namespace sbc::admin {

void registerDidRoutes(Api& api) {
  auto spec = std::make_shared<ResourceSpec>();
  spec->path = "dids";
  spec->entity = "did";
  spec->table = "dids";
  spec->key = "number";
  spec->key_is_int = false;
  spec->default_sort = "number";
  spec->search_columns = {"number", "description"};
  spec->fields = {
      {.name = "number",
       .create_only = true,
       .required = true,
       .sortable = true,
       .pattern = R"(^\+[1-9][0-9]{1,14}$)"},
      {.name = "trunk_id",
       .type = FieldType::kInt,
       .nullable = true,
       .sortable = true,
       .filterable = true,
       .min = 1},
      {.name = "status",
       .sortable = true,
       .filterable = true,
       .choices = {"active", "porting_in", "ported_out", "reserved"}},
      {.name = "description", .max = 500},
      {.name = "created_at", .type = FieldType::kTimestamp, .writable = false, .sortable = true},
      {.name = "updated_at", .type = FieldType::kTimestamp, .writable = false, .sortable = true},
  };
  registerResource(api, std::move(spec));
}

void registerRouteRoutes(Api& api) {
  auto spec = std::make_shared<ResourceSpec>();
  spec->path = "routes";
  spec->entity = "route";
  spec->table = "routes";
  spec->default_sort = "prefix";
  spec->search_columns = {"prefix", "description"};
  spec->fields = {
      {.name = "id", .type = FieldType::kInt, .writable = false, .sortable = true},
      {.name = "prefix", .sortable = true, .filterable = true, .pattern = "^[0-9]{0,15}$"},
      {.name = "trunk_id",
       .type = FieldType::kInt,
       .required = true,
       .sortable = true,
       .filterable = true,
       .min = 1},
      {.name = "priority", .type = FieldType::kInt, .sortable = true, .min = 0, .max = 65535},
      {.name = "weight", .type = FieldType::kInt, .min = 1, .max = 65535},
      {.name = "enabled", .type = FieldType::kBool, .filterable = true},
      {.name = "description", .max = 500},
      {.name = "created_at", .type = FieldType::kTimestamp, .writable = false, .sortable = true},
      {.name = "updated_at", .type = FieldType::kTimestamp, .writable = false, .sortable = true},
  };
  registerResource(api, std::move(spec));
}

}  // namespace sbc::admin
