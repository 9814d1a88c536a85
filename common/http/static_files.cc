#include "common/http/static_files.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <ctime>
#include <mutex>
#include <stdexcept>
#include <unordered_map>
#include <utility>

#include "common/http/http_date.h"

namespace sbc::http {

namespace {

struct CachedFile {
  std::string body;
  std::string etag;
  std::string last_modified;
  std::time_t mtime = 0;
  std::int64_t mtime_ns = 0;
  std::int64_t size = 0;
  std::string_view content_type;
  std::string cache_control;
};

std::int64_t mtimeNs(const struct stat& st) {
  return static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
}

std::string strongEtag(std::string_view content) {
  // FNV-1a: the ETag only has to change when the bytes do, and be the same
  // on every node serving the same build.
  std::uint64_t h = 14695981039346656037ULL;
  for (unsigned char c : content) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  constexpr std::string_view kHex = "0123456789abcdef";
  std::string etag = "\"";
  for (int shift = 60; shift >= 0; shift -= 4) etag.push_back(kHex[(h >> shift) & 0xF]);
  etag += '-';
  std::string size = std::to_string(content.size());
  etag += size;
  etag += '"';
  return etag;
}

// RFC 9110 13.1.2: weak comparison, a list of tags, or "*".
bool etagMatches(std::string_view header, std::string_view etag) {
  auto strip_weak = [](std::string_view t) {
    if (t.size() >= 2 && t[0] == 'W' && t[1] == '/') t.remove_prefix(2);
    return t;
  };
  std::string_view mine = strip_weak(etag);
  while (!header.empty()) {
    std::size_t comma = header.find(',');
    std::string_view item = header.substr(0, comma);
    header = comma == std::string_view::npos ? std::string_view() : header.substr(comma + 1);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (item == "*" || strip_weak(item) == mine) return true;
  }
  return false;
}

bool readWholeFile(const std::string& path, std::size_t size, std::string& out) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  out.resize(size);
  std::size_t done = 0;
  while (done < size) {
    ssize_t n = ::read(fd, out.data() + done, size - done);
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
  ::close(fd);
  out.resize(done);
  return done == size;
}

}  // namespace

std::optional<std::string> normalizeStaticPath(std::string_view raw) {
  if (raw.find('\\') != std::string_view::npos) return std::nullopt;
  std::string out;
  while (!raw.empty()) {
    std::size_t slash = raw.find('/');
    std::string_view segment = raw.substr(0, slash);
    raw = slash == std::string_view::npos ? std::string_view() : raw.substr(slash + 1);
    auto decoded = percentDecode(segment);
    if (!decoded) return std::nullopt;
    if (decoded->empty() || *decoded == ".") continue;
    // ".." and every other dot-name (.git, .env): nothing hidden is served.
    if (decoded->front() == '.') return std::nullopt;
    if (decoded->find_first_of(std::string_view("/\\\0", 3)) != std::string::npos) {
      return std::nullopt;
    }
    if (!out.empty()) out.push_back('/');
    out += *decoded;
  }
  return out;
}

std::string_view contentTypeFor(std::string_view name) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 24> kTypes = {{
      {"html", "text/html; charset=utf-8"},
      {"htm", "text/html; charset=utf-8"},
      {"js", "text/javascript; charset=utf-8"},
      {"mjs", "text/javascript; charset=utf-8"},
      {"css", "text/css; charset=utf-8"},
      {"json", "application/json"},
      {"map", "application/json"},
      {"svg", "image/svg+xml"},
      {"png", "image/png"},
      {"jpg", "image/jpeg"},
      {"jpeg", "image/jpeg"},
      {"gif", "image/gif"},
      {"webp", "image/webp"},
      {"ico", "image/x-icon"},
      {"woff", "font/woff"},
      {"woff2", "font/woff2"},
      {"ttf", "font/ttf"},
      {"otf", "font/otf"},
      {"txt", "text/plain; charset=utf-8"},
      {"csv", "text/csv; charset=utf-8"},
      {"xml", "application/xml"},
      {"pdf", "application/pdf"},
      {"wasm", "application/wasm"},
      {"webmanifest", "application/manifest+json"},
  }};
  std::size_t dot = name.rfind('.');
  std::size_t slash = name.rfind('/');
  if (dot == std::string_view::npos || (slash != std::string_view::npos && dot < slash)) {
    return "application/octet-stream";
  }
  std::string_view ext = name.substr(dot + 1);
  for (const auto& [e, type] : kTypes) {
    if (equalsIgnoreCase(e, ext)) return type;
  }
  return "application/octet-stream";
}

struct StaticFiles::Impl {
  StaticOptions options;
  std::string root;  // canonical, no trailing '/'
  mutable std::mutex mu;
  mutable std::unordered_map<std::string, std::shared_ptr<const CachedFile>> cache;
  mutable std::size_t cached_bytes = 0;

  // The file at `rel` ("" is the root), or a directory's index file.
  std::shared_ptr<const CachedFile> load(std::string rel) const {
    std::string full = rel.empty() ? root : root + "/" + rel;
    struct stat st {};
    if (::stat(full.c_str(), &st) != 0) return nullptr;
    if (S_ISDIR(st.st_mode)) {
      rel = rel.empty() ? options.index_file : rel + "/" + options.index_file;
      full = root + "/" + rel;
      if (::stat(full.c_str(), &st) != 0) return nullptr;
    }
    if (!S_ISREG(st.st_mode) || static_cast<std::size_t>(st.st_size) > options.max_file_bytes) {
      return nullptr;
    }
    {
      std::lock_guard lock(mu);
      auto it = cache.find(rel);
      if (it != cache.end() && it->second->mtime_ns == mtimeNs(st) &&
          it->second->size == st.st_size) {
        return it->second;
      }
    }
    // A symlink inside the root may point anywhere: only serve what really
    // lies under it.
    std::error_code ec;
    std::string real = std::filesystem::canonical(full, ec).string();
    if (ec || real.compare(0, root.size(), root) != 0 || real.size() <= root.size() ||
        real[root.size()] != '/') {
      return nullptr;
    }
    auto file = std::make_shared<CachedFile>();
    if (!readWholeFile(real, static_cast<std::size_t>(st.st_size), file->body)) return nullptr;
    file->etag = strongEtag(file->body);
    file->mtime = st.st_mtim.tv_sec;
    file->mtime_ns = mtimeNs(st);
    file->size = st.st_size;
    file->last_modified = formatHttpDate(file->mtime);
    file->content_type = contentTypeFor(rel);
    bool immutable = !options.immutable_prefix.empty() &&
                     std::string_view(rel).substr(0, options.immutable_prefix.size()) ==
                         options.immutable_prefix;
    file->cache_control = immutable ? options.immutable_cache_control : options.cache_control;

    std::lock_guard lock(mu);
    if (auto it = cache.find(rel); it != cache.end()) {
      cached_bytes -= it->second->body.size();
      cache.erase(it);
    }
    if (file->body.size() <= options.max_cache_bytes) {
      // Crude but bounded: a console's assets fit many times over.
      if (cached_bytes + file->body.size() > options.max_cache_bytes) {
        cache.clear();
        cached_bytes = 0;
      }
      cache.emplace(rel, file);
      cached_bytes += file->body.size();
    }
    return file;
  }
};

StaticFiles::StaticFiles(StaticOptions options) : impl_(std::make_shared<Impl>()) {
  std::error_code ec;
  auto root = std::filesystem::canonical(options.root, ec);
  if (ec || !std::filesystem::is_directory(root)) {
    throw std::invalid_argument("static root is not a directory: " + options.root.string());
  }
  impl_->root = root.string();
  if (impl_->root.size() > 1 && impl_->root.back() == '/') impl_->root.pop_back();
  impl_->options = std::move(options);
}

Response StaticFiles::serve(const Request& request, std::string_view raw_path) const {
  if (request.method != Method::kGet && request.method != Method::kHead) {
    Response res = Response::error(405, "method not allowed");
    res.set("Allow", "GET, HEAD");
    return res;
  }
  std::optional<std::string> rel = normalizeStaticPath(raw_path);
  if (!rel) {
    spdlog::debug("static: refused path {} from {}", raw_path, request.remote_address);
    return Response::error(404, "not found");
  }
  auto file = impl_->load(*rel);
  if (!file && impl_->options.spa_fallback) {
    std::string_view last = *rel;
    last = last.substr(last.rfind('/') == std::string_view::npos ? 0 : last.rfind('/') + 1);
    if (last.find('.') == std::string_view::npos) file = impl_->load(impl_->options.index_file);
  }
  if (!file) return Response::error(404, "not found");

  bool not_modified = false;
  if (auto inm = request.header("If-None-Match")) {
    not_modified = etagMatches(*inm, file->etag);
  } else if (auto ims = request.header("If-Modified-Since")) {
    auto since = parseHttpDate(*ims);
    not_modified = since && file->mtime <= *since;
  }
  Response res;
  res.set("ETag", file->etag);
  res.set("Last-Modified", file->last_modified);
  res.set("Cache-Control", file->cache_control);
  if (not_modified) {
    res.status = 304;
    return res;
  }
  res.status = 200;
  res.content_type = std::string(file->content_type);
  res.body = file->body;
  return res;
}

SyncHandler StaticFiles::handler(std::string param) const {
  return [files = *this, param = std::move(param)](Request& request) {
    return files.serve(request, request.param(param));
  };
}

SyncHandler StaticFiles::fallbackHandler() const {
  return [files = *this](Request& request) {
    std::string_view path = request.target.substr(0, request.target.find('?'));
    if (!path.empty() && path.front() == '/') path.remove_prefix(1);
    return files.serve(request, path);
  };
}

}  // namespace sbc::http
