#pragma once
// A small reader for the Prometheus text format, so tests check what a
// scraper would see rather than our own data structures.
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sbc::metrics::test {

struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

// Samples in order; nullopt on a line that does not parse.
inline std::optional<std::vector<Sample>> parsePrometheusText(std::string_view text) {
  std::vector<Sample> out;
  while (!text.empty()) {
    std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (line.empty() || line.front() == '#') continue;
    Sample s;
    std::size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') s.name.push_back(line[i++]);
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        std::string key;
        while (i < line.size() && line[i] != '=') key.push_back(line[i++]);
        if (i + 1 >= line.size() || line[i + 1] != '"') return std::nullopt;
        i += 2;
        std::string value;
        while (i < line.size() && line[i] != '"') {
          if (line[i] == '\\' && i + 1 < line.size()) {
            ++i;
            value.push_back(line[i] == 'n' ? '\n' : line[i]);
          } else {
            value.push_back(line[i]);
          }
          ++i;
        }
        if (i >= line.size()) return std::nullopt;
        ++i;  // closing quote
        if (i < line.size() && line[i] == ',') ++i;
        s.labels.emplace(std::move(key), std::move(value));
      }
      if (i >= line.size()) return std::nullopt;
      ++i;  // '}'
    }
    if (i >= line.size() || line[i] != ' ') return std::nullopt;
    std::string number(line.substr(i + 1));
    number = number.substr(0, number.find(' '));  // drop an optional timestamp
    char* end = nullptr;
    s.value = std::strtod(number.c_str(), &end);
    if (end == number.c_str()) return std::nullopt;
    out.push_back(std::move(s));
  }
  return out;
}

// The value of the sample with this name whose labels include `labels`.
inline std::optional<double> findSample(const std::vector<Sample>& samples, std::string_view name,
                                        const std::map<std::string, std::string>& labels = {}) {
  for (const Sample& s : samples) {
    if (s.name != name) continue;
    bool all = true;
    for (const auto& [k, v] : labels) {
      auto it = s.labels.find(k);
      if (it == s.labels.end() || it->second != v) all = false;
    }
    if (all) return s.value;
  }
  return std::nullopt;
}

}  // namespace sbc::metrics::test
