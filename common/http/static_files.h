#pragma once
// Static files for the admin console: a directory served read-only, with
// path normalisation that refuses anything escaping the root (.., encoded
// dots and slashes, backslashes, NUL, dot-files, symlinks leading out),
// content types by extension, a strong ETag (content hash) with
// If-None-Match, Last-Modified with If-Modified-Since, Cache-Control, and an
// index.html fallback for a single-page app.
//
// Files are read with blocking calls on the calling thread and kept in a
// bounded in-memory cache (revalidated with one stat() per request): fine
// for a console's few small assets, not for serving big downloads.
#include <cstddef>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/http/request.h"
#include "common/http/response.h"
#include "common/http/router.h"

namespace sbc::http {

struct StaticOptions {
  std::filesystem::path root;
  std::string index_file = "index.html";
  // A GET for a missing path whose last segment has no '.' answers the
  // index file (client-side routes of a single-page app); "/x.js" stays 404.
  bool spa_fallback = false;
  std::string cache_control = "no-cache";  // revalidate every time (ETag makes it cheap)
  // Paths under this prefix (relative, e.g. "assets/") get
  // immutable_cache_control instead: bundlers put content hashes in those names.
  std::string immutable_prefix;
  std::string immutable_cache_control = "public, max-age=31536000, immutable";
  std::size_t max_file_bytes = std::size_t{16} * 1024 * 1024;  // larger files answer 404
  std::size_t max_cache_bytes = std::size_t{64} * 1024 * 1024;
};

// Cleans a raw (percent-encoded) path relative to the root: "a/./b.js" ->
// "a/b.js". nullopt when it would leave the root or names something hidden.
std::optional<std::string> normalizeStaticPath(std::string_view raw);

// Content-Type for a file name's extension (application/octet-stream when unknown).
std::string_view contentTypeFor(std::string_view file_name);

class StaticFiles {
 public:
  // Start-up: throws std::invalid_argument when root is not a directory.
  explicit StaticFiles(StaticOptions options);

  // Answers GET/HEAD for `raw_path` (percent-encoded, relative to the root).
  Response serve(const Request& request, std::string_view raw_path) const;
  // For a route whose pattern ends in {name*}: serves that parameter.
  SyncHandler handler(std::string param = "path") const;
  // For Router::fallbackSync(): serves the request's whole path.
  SyncHandler fallbackHandler() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace sbc::http
