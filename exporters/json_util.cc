#include "exporters/json_util.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <exception>

namespace rigwatch::json_util {
namespace {

bool IsWs(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

}  // namespace

std::string_view StripOneTrailingNul(std::string_view s) {
  if (!s.empty() && s.back() == '\0') s.remove_suffix(1);
  return s;
}

Result<Json> ParseLenient(std::string_view body, std::string_view what) {
  const std::string prefix(what);
  size_t first = 0;
  while (first < body.size() && IsWs(static_cast<unsigned char>(body[first]))) {
    ++first;
  }
  if (first == body.size()) {
    return InvalidArgumentError(prefix + ": empty reply");
  }
  RepairResult r = Repair(body);
  if (r.too_deep_at) {
    return InvalidArgumentError(prefix + ": JSON nested deeper than " +
                                std::to_string(kMaxDepth) + " at byte " +
                                std::to_string(*r.too_deep_at));
  }
  const bool unbalanced = r.in_string || r.open_depth > 0;
  try {
    return Json::parse(r.text);
  } catch (const Json::parse_error& e) {
    // e.byte is 1-based in the repaired text. An error only at the very end
    // of an unbalanced text is a cut reply, not a malformed one.
    if (unbalanced && e.byte >= r.text.size()) {
      return DataLossError(prefix + ": truncated reply: ends at byte " +
                           std::to_string(body.size()) +
                           (r.in_string
                                ? " inside a string"
                                : " with " + std::to_string(r.open_depth) +
                                      " unclosed bracket(s)"));
    }
    std::vector<size_t> map;
    Repair(body, &map);
    size_t at = e.byte > 0 ? e.byte - 1 : 0;
    size_t in_at = at < map.size() ? map[at] : body.size();
    std::string reason = e.what();
    size_t col = reason.find("column ");
    size_t colon = col == std::string::npos ? col : reason.find(": ", col);
    if (colon != std::string::npos) reason = reason.substr(colon + 2);
    for (char& ch : reason) {
      unsigned char u = static_cast<unsigned char>(ch);
      if (u < 0x20 || u >= 0x7F) ch = '?';
    }
    if (reason.size() > 160) reason.resize(160);
    return InvalidArgumentError(prefix + ": malformed JSON at byte " +
                                std::to_string(in_at) + ": " + reason);
  } catch (const std::exception& e) {
    return InvalidArgumentError(prefix + ": malformed JSON: " + e.what());
  }
}

const Json* Field(const Json& obj, std::string_view key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  return it == obj.end() ? nullptr : &*it;
}

std::optional<double> ParseNumberText(std::string_view s) {
  while (!s.empty() && IsWs(static_cast<unsigned char>(s.front()))) {
    s.remove_prefix(1);
  }
  while (!s.empty() && IsWs(static_cast<unsigned char>(s.back()))) {
    s.remove_suffix(1);
  }
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty()) return std::nullopt;
  double v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || !std::isfinite(v)) {
    return std::nullopt;
  }
  return v;
}

std::optional<double> ToNumber(const Json& v) {
  if (v.is_number()) {
    double d = v.get<double>();
    if (!std::isfinite(d)) return std::nullopt;
    return d;
  }
  if (v.is_string()) {
    return ParseNumberText(v.get_ref<const std::string&>());
  }
  return std::nullopt;
}

std::optional<double> ToNumber(const Json* v) {
  if (v == nullptr) return std::nullopt;
  return ToNumber(*v);
}

std::optional<bool> ToFlag(const Json* v) {
  if (v == nullptr) return std::nullopt;
  if (v->is_boolean()) return v->get<bool>();
  if (v->is_number()) {
    std::optional<double> d = ToNumber(*v);
    if (!d) return std::nullopt;
    return *d != 0;
  }
  if (v->is_string()) {
    std::string s;
    for (char c : v->get_ref<const std::string&>()) {
      s.push_back(static_cast<char>((c >= 'A' && c <= 'Z') ? c + 32 : c));
    }
    if (s == "y" || s == "true" || s == "1") return true;
    if (s == "n" || s == "false" || s == "0") return false;
  }
  return std::nullopt;
}

std::optional<std::string_view> ToStringView(const Json* v) {
  if (v == nullptr || !v->is_string()) return std::nullopt;
  return std::string_view(v->get_ref<const std::string&>());
}

std::optional<double> ParseDifficultyText(std::string_view s) {
  while (!s.empty() && IsWs(static_cast<unsigned char>(s.front()))) {
    s.remove_prefix(1);
  }
  double v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || !std::isfinite(v) || v < 0) return std::nullopt;
  std::string_view rest(p, s.data() + s.size() - p);
  while (!rest.empty() && IsWs(static_cast<unsigned char>(rest.front()))) {
    rest.remove_prefix(1);
  }
  while (!rest.empty() && IsWs(static_cast<unsigned char>(rest.back()))) {
    rest.remove_suffix(1);
  }
  if (rest.empty()) return v;
  if (rest.size() != 1) return std::nullopt;
  constexpr std::string_view kSuffixes = "kMGTPE";
  char c = rest[0] == 'K' ? 'k' : rest[0];
  size_t pos = kSuffixes.find(c);
  if (pos == std::string_view::npos) return std::nullopt;
  double scaled = v * std::pow(1000.0, static_cast<double>(pos + 1));
  if (!std::isfinite(scaled)) return std::nullopt;
  return scaled;
}

std::optional<double> ToDifficulty(const Json* v) {
  if (v == nullptr) return std::nullopt;
  if (v->is_number()) {
    std::optional<double> d = ToNumber(*v);
    if (!d || *d < 0) return std::nullopt;
    return d;
  }
  if (v->is_string()) {
    return ParseDifficultyText(v->get_ref<const std::string&>());
  }
  return std::nullopt;
}

std::string MinerWords(std::string_view body) {
  std::string out;
  for (char c : body.substr(0, 160)) {
    const unsigned char u = static_cast<unsigned char>(c);
    out += (u >= 0x20 && u < 0x7f) ? c : ' ';
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

bool IsTokenText(std::string_view token) {
  return !token.empty() && token.size() <= 4096 &&
         std::all_of(token.begin(), token.end(),
                     [](char c) { return c > 0x20 && c < 0x7f; });
}

}  // namespace rigwatch::json_util
