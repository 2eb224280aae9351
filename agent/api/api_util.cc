#include "agent/api/api_util.h"

#include <charconv>
#include <cmath>
#include <ctime>

#include "agent/common/json.h"
#include "agent/common/units.h"
#include "agent/live_state/live_state.h"
#include "exporters/json_util.h"

namespace rigwatch {
namespace {

bool Digits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

// WallTime counts nanoseconds in an int64: about 292 years either side of
// 1970. A time argument outside that is refused rather than wrapped.
constexpr int64_t kMaxAbsUnixMillis = 9'200'000'000'000;

Result<WallTime> CheckedUnixMillis(int64_t ms, std::string_view s) {
  if (ms > kMaxAbsUnixMillis || ms < -kMaxAbsUnixMillis) {
    return InvalidArgumentError("time \"" + std::string(s) +
                                "\" is out of range (years 1678 to 2261)");
  }
  return FromUnixMillis(ms);
}

Result<WallTime> ParseRfc3339(std::string_view s) {
  auto bad = [&] {
    return InvalidArgumentError(
        "invalid time \"" + std::string(s) +
        "\": expected RFC 3339 (2026-11-22T05:00:00Z), Unix seconds, now, "
        "or -DURATION (-1h)");
  };
  int y, mo, d, h, mi, sec;
  if (!Digits(s, 0, 4, &y) || s.size() < 19 || s[4] != '-' ||
      !Digits(s, 5, 2, &mo) || s[7] != '-' || !Digits(s, 8, 2, &d) ||
      (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || !Digits(s, 11, 2, &h) ||
      s[13] != ':' || !Digits(s, 14, 2, &mi) || s[16] != ':' ||
      !Digits(s, 17, 2, &sec)) {
    return bad();
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) {
    return bad();
  }
  size_t i = 19;
  int64_t millis = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    int64_t scale = 100;
    size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      if (scale > 0) millis += (s[i] - '0') * scale;
      scale /= 10;
      ++i;
    }
    if (i == start) return bad();
  }
  int64_t offset_s = 0;
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
    ++i;
  } else if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    int oh, om;
    if (!Digits(s, i + 1, 2, &oh) || i + 3 >= s.size() || s[i + 3] != ':' ||
        !Digits(s, i + 4, 2, &om)) {
      return bad();
    }
    offset_s = (oh * 3600 + om * 60) * (s[i] == '+' ? 1 : -1);
    i += 6;
  } else {
    return bad();
  }
  if (i != s.size()) return bad();
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  int64_t epoch = static_cast<int64_t>(timegm(&tm)) - offset_s;
  return CheckedUnixMillis(epoch * 1000 + millis, s);
}

}  // namespace

Result<WallTime> ParseTimeArg(std::string_view s, WallTime now) {
  if (s.empty()) return InvalidArgumentError("empty time");
  if (s == "now") return now;
  std::string_view rel = s;
  if (rel.rfind("now", 0) == 0) rel.remove_prefix(3);
  if (!rel.empty() && rel[0] == '-' && rel.size() > 1 &&
      !(rel.size() >= 5 && rel[4] == '-')) {
    Result<std::chrono::milliseconds> d = ParseDuration(rel.substr(1));
    if (!d.ok()) {
      return InvalidArgumentError("invalid time \"" + std::string(s) +
                                  "\": " + d.status().message());
    }
    if (d->count() > kMaxAbsUnixMillis) return CheckedUnixMillis(INT64_MIN, s);
    return CheckedUnixMillis(ToUnixMillis(now) - d->count(), s);
  }
  bool numeric = true;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || c == '.')) numeric = false;
  }
  if (numeric) {
    double secs = 0;
    auto r = std::from_chars(s.data(), s.data() + s.size(), secs);
    if (r.ec != std::errc() || r.ptr != s.data() + s.size()) {
      return InvalidArgumentError("invalid time \"" + std::string(s) + "\"");
    }
    if (!(secs * 1000 <= static_cast<double>(kMaxAbsUnixMillis))) {
      return CheckedUnixMillis(INT64_MAX, s);
    }
    return CheckedUnixMillis(std::llround(secs * 1000), s);
  }
  return ParseRfc3339(s);
}

Result<store::Selector> ParseSelector(std::string_view s) {
  store::Selector sel;
  size_t i = 0;
  auto err = [&](const std::string& what) {
    return InvalidArgumentError("selector \"" + std::string(s) + "\" column " +
                                std::to_string(i + 1) + ": " + what);
  };
  auto ident_char = [](char c, bool first) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
           c == ':' || (!first && c >= '0' && c <= '9');
  };
  auto skip_ws = [&] {
    while (i < s.size() && s[i] == ' ') ++i;
  };
  skip_ws();
  size_t start = i;
  while (i < s.size() && ident_char(s[i], i == start)) ++i;
  sel.metric = std::string(s.substr(start, i - start));
  skip_ws();
  if (i < s.size() && s[i] == '{') {
    ++i;
    while (true) {
      skip_ws();
      if (i < s.size() && s[i] == '}') {
        ++i;
        break;
      }
      size_t ls = i;
      while (i < s.size() && ident_char(s[i], i == ls)) ++i;
      if (i == ls) return err("expected a label name");
      store::LabelMatcher m;
      m.name = std::string(s.substr(ls, i - ls));
      skip_ws();
      if (s.substr(i, 2) == "=~") {
        m.op = store::LabelMatcher::Op::kRegex;
        i += 2;
      } else if (s.substr(i, 2) == "!~") {
        m.op = store::LabelMatcher::Op::kNotRegex;
        i += 2;
      } else if (s.substr(i, 2) == "!=") {
        m.op = store::LabelMatcher::Op::kNe;
        i += 2;
      } else if (s.substr(i, 1) == "=") {
        m.op = store::LabelMatcher::Op::kEq;
        i += 1;
      } else {
        return err("expected one of =, !=, =~, !~");
      }
      skip_ws();
      if (i >= s.size() || s[i] != '"') return err("expected a quoted value");
      ++i;
      std::string v;
      bool closed = false;
      while (i < s.size()) {
        char c = s[i++];
        if (c == '\\' && i < s.size()) {
          v += s[i++];
        } else if (c == '"') {
          closed = true;
          break;
        } else {
          v += c;
        }
      }
      if (!closed) return err("unterminated value");
      m.value = std::move(v);
      sel.matchers.push_back(std::move(m));
      skip_ws();
      if (i < s.size() && s[i] == ',') {
        ++i;
        continue;
      }
      if (i < s.size() && s[i] == '}') {
        ++i;
        break;
      }
      return err("expected , or }");
    }
  }
  skip_ws();
  if (i != s.size()) return err("unexpected text");
  if (sel.metric.empty() && sel.matchers.empty()) {
    return InvalidArgumentError("empty selector");
  }
  return sel;
}

Result<MuteRequest> ParseMuteRequest(const HttpRequest& req) {
  std::optional<std::string> target = req.Param("target");
  std::optional<std::string> dur = req.Param("for");
  std::string_view type = req.Header("Content-Type");
  const bool json_body = type.substr(0, 16) == "application/json";
  if (json_body && !req.body.empty()) {
    Result<json_util::Json> j = json_util::ParseLenient(req.body, "mute body");
    if (!j.ok()) return j.status();
    if (!j->is_object()) {
      return InvalidArgumentError(
          "mute body: expected a JSON object {\"target\":..,\"for\":..}");
    }
    for (auto it = j->begin(); it != j->end(); ++it) {
      std::optional<std::string>* slot = it.key() == "target" ? &target
                                         : it.key() == "for"  ? &dur
                                                              : nullptr;
      if (slot == nullptr) {
        return InvalidArgumentError("mute body: unknown field \"" + it.key() +
                                    "\" (allowed: for, target)");
      }
      if (!it.value().is_string()) {
        return InvalidArgumentError("mute body: \"" + it.key() +
                                    "\" must be a string");
      }
      if (*slot) {
        return InvalidArgumentError("\"" + it.key() +
                                    "\" given in both the query and the body");
      }
      *slot = it.value().get<std::string>();
    }
  }
  if (!target || target->empty()) {
    return InvalidArgumentError("missing \"target\" (a miner name or host)");
  }
  MuteRequest out;
  out.target = std::move(*target);
  if (req.method == "DELETE") return out;
  Result<std::chrono::milliseconds> d = ParseDuration(dur.value_or("1h"));
  if (!d.ok()) {
    return InvalidArgumentError("\"for\": " + d.status().message());
  }
  // Bounded: a mute is for maintenance, and now + a huge `for` would wrap.
  if (d->count() <= 0 || *d > kMaxMute) {
    return InvalidArgumentError("\"for\" must be more than 0 and at most 365d");
  }
  out.duration = *d;
  return out;
}

std::string SeriesJson(const std::vector<store::SeriesPoints>& series) {
  std::string out = "{\"series\":[";
  bool first = true;
  for (const store::SeriesPoints& sp : series) {
    if (!first) out += ',';
    first = false;
    out += "{\"miner\":";
    json::AppendString(&out, sp.key.target);
    out += ",\"metric\":";
    json::AppendString(&out, sp.key.metric);
    out += ",\"labels\":{";
    for (size_t i = 0; i < sp.key.labels.size(); ++i) {
      if (i) out += ',';
      json::AppendString(&out, sp.key.labels[i].name);
      out += ':';
      json::AppendString(&out, sp.key.labels[i].value);
    }
    out += "},\"points\":[";
    for (size_t i = 0; i < sp.points.size(); ++i) {
      if (i) out += ',';
      out += '[';
      out += std::to_string(ToUnixMillis(sp.points[i].ts));
      out += ',';
      double v = sp.points[i].value;
      if (std::isfinite(v)) {
        AppendPromValue(&out, v);
      } else {
        out += "null";  // JSON has no NaN/Inf
      }
      out += ']';
    }
    out += "]}";
  }
  out += "]}";
  return out;
}

}  // namespace rigwatch
