# Writes OUT: the JSON file IN as a C++ string constant (kOpenApiJson).
file(READ ${IN} content)
string(FIND "${content}" ")openapi\"" bad)
if(NOT bad EQUAL -1)
  message(FATAL_ERROR "${IN} contains the raw-string delimiter")
endif()
file(WRITE ${OUT}.tmp "// Generated from admin-ui/openapi.json: do not edit.\nconstexpr std::string_view kOpenApiJson = R\"openapi(${content})openapi\";\n")
file(COPY_FILE ${OUT}.tmp ${OUT} ONLY_IF_DIFFERENT)
