#include "tests/sim/json_out.h"

#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace rigwatch::sim {

void AppendF(std::string& out, const char* fmt, ...) {
  char buf[256];
  va_list ap;
  va_start(ap, fmt);
  const int n = std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if (static_cast<size_t>(n) < sizeof buf) {
    out.append(buf, static_cast<size_t>(n));
    return;
  }
  std::string big(static_cast<size_t>(n) + 1, '\0');
  va_start(ap, fmt);
  std::vsnprintf(big.data(), big.size(), fmt, ap);
  va_end(ap);
  big.resize(static_cast<size_t>(n));
  out += big;
}

void JsonOut::Indent(size_t depth) {
  out_ += '\n';
  out_.append(depth, '\t');
}

void JsonOut::Sep(std::string_view key) {
  if (stack_.empty()) return;
  Level& l = stack_.back();
  const bool tabs = style_ == Style::kTabs;
  if (l.count++ > 0) {
    out_ += ',';
    if (tabs && !l.object) out_ += ' ';
  }
  if (l.object) {
    if (tabs) Indent(stack_.size());
    out_ += '"';
    out_ += key;
    out_ += "\":";
    if (tabs) out_ += '\t';
  }
}

JsonOut& JsonOut::Open(std::string_view key, char bracket) {
  Sep(key);
  out_ += bracket;
  stack_.push_back({bracket == '{', 0});
  return *this;
}

JsonOut& JsonOut::Close() {
  if (stack_.empty()) return *this;  // unbalanced Close is a caller bug
  const Level l = stack_.back();
  stack_.pop_back();
  if (l.object) {
    if (style_ == Style::kTabs) Indent(stack_.size());
    out_ += '}';
  } else {
    out_ += ']';
  }
  return *this;
}

JsonOut& JsonOut::Str(std::string_view key, std::string_view v) {
  Sep(key);
  out_ += '"';
  for (char c : v) {
    if (c == '"' || c == '\\') out_ += '\\';
    out_ += c;
  }
  out_ += '"';
  return *this;
}

JsonOut& JsonOut::Int(std::string_view key, int64_t v) {
  Sep(key);
  AppendF(out_, "%lld", static_cast<long long>(v));
  return *this;
}

JsonOut& JsonOut::Uint(std::string_view key, uint64_t v) {
  Sep(key);
  AppendF(out_, "%llu", static_cast<unsigned long long>(v));
  return *this;
}

JsonOut& JsonOut::Bool(std::string_view key, bool v) {
  Sep(key);
  out_ += v ? "true" : "false";
  return *this;
}

JsonOut& JsonOut::Cj(std::string_view key, double v) {
  Sep(key);
  if (!std::isfinite(v)) {
    out_ += "null";  // cJSON prints non-finite numbers as null
    return *this;
  }
  if (v == std::floor(v) && std::fabs(v) < 2147483648.0) {
    AppendF(out_, "%d", static_cast<int>(v));
    return *this;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%1.15g", v);
  if (std::strtod(buf, nullptr) != v)
    std::snprintf(buf, sizeof buf, "%1.17g", v);
  out_ += buf;
  return *this;
}

JsonOut& JsonOut::Fmt(std::string_view key, const char* fmt, double v) {
  Sep(key);
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, v);
  out_ += buf;
  return *this;
}

JsonOut& JsonOut::Aj(std::string_view key, double v) {
  Sep(key);
  if (!std::isfinite(v)) {
    out_ += "null";
    return *this;
  }
  if (v == std::floor(v) && std::fabs(v) < 1e9) {
    AppendF(out_, "%.0f", v);
    return *this;
  }
  char buf[32];
  if (std::fabs(v) >= 1e9) {
    std::snprintf(buf, sizeof buf, "%.9e", v);
    // ArduinoJson style: "1.274507897e14" (no '+', no leading exponent 0s).
    std::string s(buf);
    const size_t e = s.find('e');
    std::string mant = s.substr(0, e);
    while (!mant.empty() && mant.back() == '0') mant.pop_back();
    if (!mant.empty() && mant.back() == '.') mant.pop_back();
    int exp = std::atoi(s.c_str() + e + 1);
    AppendF(out_, "%se%d", mant.c_str(), exp);
    return *this;
  }
  std::snprintf(buf, sizeof buf, "%.7g", v);
  out_ += buf;
  return *this;
}

JsonOut& JsonOut::Raw(std::string_view key, std::string_view json) {
  Sep(key);
  out_ += json;
  return *this;
}

}  // namespace rigwatch::sim
