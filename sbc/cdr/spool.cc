#include "sbc/cdr/spool.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>

namespace sbc::cdr {
namespace fs = std::filesystem;
namespace {

constexpr std::string_view kMagic = "SBC-CDR-SPOOL 1";

bool writeAll(int fd, const std::string& data) {
  const char* p = data.data();
  std::size_t left = data.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  return true;
}

bool syncDir(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}

// "<seq>-<records>.cdrs"
bool parseName(const std::string& name, std::uint64_t& seq, std::size_t& records) {
  if (!name.ends_with(".cdrs")) return false;
  auto dash = name.find('-');
  if (dash == std::string::npos) return false;
  const char* b = name.data();
  auto r1 = std::from_chars(b, b + dash, seq);
  auto r2 = std::from_chars(b + dash + 1, b + name.size() - 5, records);
  return r1.ec == std::errc() && r1.ptr == b + dash && r2.ec == std::errc() &&
         r2.ptr == b + name.size() - 5;
}

}  // namespace

void appendEscaped(std::string& out, const std::optional<std::string>& v) {
  if (!v) {
    out += "\\N";
    return;
  }
  for (char c : *v) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        out += c;
    }
  }
}

std::optional<Row> parseLine(std::string_view line) {
  Row row;
  std::string cur;
  bool null = false;
  for (std::size_t i = 0; i <= line.size(); ++i) {
    if (i == line.size() || line[i] == '\t') {
      if (null) {
        if (!cur.empty()) return std::nullopt;
        row.emplace_back(std::nullopt);
      } else {
        row.emplace_back(std::move(cur));
      }
      cur.clear();
      null = false;
      continue;
    }
    if (line[i] != '\\') {
      if (null) return std::nullopt;
      cur += line[i];
      continue;
    }
    if (++i == line.size()) return std::nullopt;
    switch (line[i]) {
      case '\\':
        cur += '\\';
        break;
      case 't':
        cur += '\t';
        break;
      case 'n':
        cur += '\n';
        break;
      case 'r':
        cur += '\r';
        break;
      case 'N':
        if (!cur.empty()) return std::nullopt;
        null = true;
        break;
      default:
        return std::nullopt;
    }
  }
  return row;
}

Spool::Spool(fs::path dir) : dir_(std::move(dir)) {
  fs::create_directories(dir_);
  // A temporary is a write that never completed (the process died mid-way):
  // possibly torn, and never counted as spooled.
  for (const auto& e : fs::directory_iterator(dir_)) {
    const auto name = e.path().filename().string();
    if (name.starts_with(".tmp-")) {
      std::error_code ec;
      fs::remove(e.path(), ec);
    }
  }
  for (const auto& e : list()) next_seq_ = std::max(next_seq_, e.sequence + 1);
}

std::vector<Spool::Entry> Spool::list() const {
  std::vector<Entry> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir_, ec)) {
    if (!e.is_regular_file()) continue;
    Entry en;
    if (!parseName(e.path().filename().string(), en.sequence, en.records)) continue;
    en.path = e.path();
    out.push_back(std::move(en));
  }
  std::sort(out.begin(), out.end(),
            [](const Entry& a, const Entry& b) { return a.sequence < b.sequence; });
  return out;
}

bool Spool::writeFile(const fs::path& dir, const std::vector<std::string_view>& columns,
                      const std::vector<Row>& rows, std::string* error) {
  std::string data;
  data.reserve(rows.size() * 256 + 512);
  data += kMagic;
  data += '\n';
  for (std::size_t i = 0; i < columns.size(); ++i) {
    if (i) data += '\t';
    data += columns[i];
  }
  data += '\n';
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < row.size(); ++i) {
      if (i) data += '\t';
      appendEscaped(data, row[i]);
    }
    data += '\n';
  }
  data += "END " + std::to_string(rows.size()) + "\n";

  const std::uint64_t seq = next_seq_++;
  char name[64];
  std::snprintf(name, sizeof name, "%016llu-%zu.cdrs", static_cast<unsigned long long>(seq),
                rows.size());
  const fs::path final_path = dir / name;
  const fs::path tmp_path = dir / (".tmp-" + std::string(name));
  int fd = ::open(tmp_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
  if (fd < 0) {
    if (error) *error = "open " + tmp_path.string() + ": " + std::strerror(errno);
    return false;
  }
  bool ok = writeAll(fd, data) && ::fsync(fd) == 0;
  int saved = errno;
  ::close(fd);
  if (ok && ::rename(tmp_path.c_str(), final_path.c_str()) != 0) {
    ok = false;
    saved = errno;
  }
  if (!ok) {
    ::unlink(tmp_path.c_str());
    if (error) *error = "write " + final_path.string() + ": " + std::strerror(saved);
    return false;
  }
  if (!syncDir(dir)) {
    if (error) *error = "fsync " + dir.string() + ": " + std::strerror(errno);
    // The file is in place; only its durability across a power cut is in doubt.
  }
  return true;
}

bool Spool::write(const std::vector<std::string_view>& columns, const std::vector<Row>& rows,
                  std::string* error) {
  return writeFile(dir_, columns, rows, error);
}

std::optional<SpoolBatch> Spool::read(const fs::path& file, std::string* error) {
  auto fail = [&](const std::string& why) -> std::optional<SpoolBatch> {
    if (error) *error = file.string() + ": " + why;
    return std::nullopt;
  };
  std::ifstream in(file, std::ios::binary);
  if (!in) return fail(std::string("cannot open: ") + std::strerror(errno));
  std::string line;
  if (!std::getline(in, line) || line != kMagic) return fail("not a CDR spool file");
  SpoolBatch batch;
  if (!std::getline(in, line)) return fail("no column line");
  {
    std::string_view v(line);
    while (true) {
      auto tab = v.find('\t');
      batch.columns.emplace_back(v.substr(0, tab));
      if (tab == std::string_view::npos) break;
      v.remove_prefix(tab + 1);
    }
  }
  bool ended = false;
  while (std::getline(in, line)) {
    if (line.starts_with("END ")) {
      std::size_t n = 0;
      auto r = std::from_chars(line.data() + 4, line.data() + line.size(), n);
      if (r.ec != std::errc() || n != batch.rows.size()) return fail("record count mismatch");
      ended = true;
      break;
    }
    auto row = parseLine(line);
    if (!row || row->size() != batch.columns.size())
      return fail("malformed record " + std::to_string(batch.rows.size() + 1));
    batch.rows.push_back(std::move(*row));
  }
  if (!ended) return fail("truncated (no END line)");
  return batch;
}

bool Spool::remove(const Entry& e) {
  std::error_code ec;
  fs::remove(e.path, ec);
  syncDir(dir_);
  return !ec;
}

void Spool::quarantine(const Entry& e) {
  std::error_code ec;
  fs::create_directories(dir_ / "bad", ec);
  fs::rename(e.path, dir_ / "bad" / e.path.filename(), ec);
  syncDir(dir_);
}

bool Spool::reject(const std::vector<std::string>& columns, const std::vector<Row>& rows) {
  std::error_code ec;
  fs::create_directories(dir_ / "rejected", ec);
  std::vector<std::string_view> cols(columns.begin(), columns.end());
  return writeFile(dir_ / "rejected", cols, rows, nullptr);
}

}  // namespace sbc::cdr
