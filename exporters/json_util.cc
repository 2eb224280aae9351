#include "exporters/json_util.h"

#include <charconv>
#include <cmath>
#include <exception>

namespace rigwatch::json_util {
namespace {

bool IsWs(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

bool IsTokenChar(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
         (c >= 'A' && c <= 'Z') || c == '-' || c == '+' || c == '.' || c == '_';
}

bool IsNonFiniteToken(std::string_view t) {
  std::string lower;
  for (char c : t) {
    lower.push_back(static_cast<char>((c >= 'A' && c <= 'Z') ? c + 32 : c));
  }
  if (!lower.empty() && (lower[0] == '-' || lower[0] == '+')) {
    lower.erase(0, 1);
  }
  return lower == "nan" || lower == "inf" || lower == "infinity";
}

int HexVal(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The code unit of a `\uXXXX` escape at in[i] (pointing at the backslash), or
// -1 when it is not one.
int EscapedUnit(std::string_view in, size_t i) {
  if (i + 6 > in.size() || in[i] != '\\' || in[i + 1] != 'u') return -1;
  int v = 0;
  for (size_t k = i + 2; k < i + 6; ++k) {
    int h = HexVal(static_cast<unsigned char>(in[k]));
    if (h < 0) return -1;
    v = v * 16 + h;
  }
  return v;
}

// Length of the valid UTF-8 sequence starting at in[i], or 0 if invalid
// (overlong forms, surrogates and code points past U+10FFFF are invalid).
size_t Utf8Len(std::string_view in, size_t i) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(in[k]); };
  unsigned char c = b(i);
  size_t n;
  unsigned char lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (i + n > in.size()) return 0;
  if (b(i + 1) < lo || b(i + 1) > hi) return 0;
  for (size_t k = 2; k < n; ++k) {
    if (b(i + k) < 0x80 || b(i + k) > 0xBF) return 0;
  }
  return n;
}

class Writer {
 public:
  Writer(RepairResult& r, std::vector<size_t>* map) : r_(r), map_(map) {}
  void Put(std::string_view s, size_t src) {
    r_.text.append(s);
    if (map_ != nullptr) map_->insert(map_->end(), s.size(), src);
  }
  void Put(char c, size_t src) { Put(std::string_view(&c, 1), src); }
  // Copies in[src, src+n) unchanged, each output byte mapped to its source.
  void Copy(std::string_view in, size_t src, size_t n) {
    r_.text.append(in.substr(src, n));
    if (map_ != nullptr) {
      for (size_t k = 0; k < n; ++k) map_->push_back(src + k);
    }
  }
  void EraseAt(size_t pos) {
    r_.text.erase(pos, 1);
    if (map_ != nullptr) map_->erase(map_->begin() + pos);
  }
  size_t size() const { return r_.text.size(); }

 private:
  RepairResult& r_;
  std::vector<size_t>* map_;
};

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";

// Copies the string starting after its opening quote at in[i]; returns the
// index after the closing quote (or in.size() when the input ends first).
size_t CopyString(std::string_view in, size_t i, Writer& w, bool& closed) {
  closed = false;
  while (i < in.size()) {
    unsigned char c = static_cast<unsigned char>(in[i]);
    if (c == '"') {
      w.Put('"', i);
      closed = true;
      return i + 1;
    }
    if (c == '\\') {
      if (i + 1 >= in.size()) return in.size();  // truncated mid-escape
      char e = in[i + 1];
      if (e == 'u') {
        int u = EscapedUnit(in, i);
        if (u < 0) {
          w.Put("\\\\", i);
          ++i;
          continue;
        }
        if (u >= 0xD800 && u <= 0xDBFF) {
          int low = EscapedUnit(in, i + 6);
          if (low >= 0xDC00 && low <= 0xDFFF) {
            w.Put(in.substr(i, 12), i);
            i += 12;
            continue;
          }
          w.Put("\\uFFFD", i);
        } else if (u >= 0xDC00 && u <= 0xDFFF) {
          w.Put("\\uFFFD", i);
        } else {
          w.Put(in.substr(i, 6), i);
        }
        i += 6;
        continue;
      }
      if (std::string_view("\"\\/bfnrt").find(e) != std::string_view::npos) {
        w.Put(in.substr(i, 2), i);
        i += 2;
      } else {
        w.Put("\\\\", i);  // a literal backslash; the next byte is re-read
        ++i;
      }
      continue;
    }
    if (c < 0x20 || c == 0x7F) {
      static constexpr char kHex[] = "0123456789abcdef";
      if (c == '\n') {
        w.Put("\\n", i);
      } else if (c == '\r') {
        w.Put("\\r", i);
      } else if (c == '\t') {
        w.Put("\\t", i);
      } else {
        char esc[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
        w.Put(std::string_view(esc, 6), i);
      }
      ++i;
      continue;
    }
    if (c < 0x80) {
      // Copy the run of plain ASCII in one append (most of every reply).
      size_t j = i + 1;
      while (j < in.size()) {
        unsigned char d = static_cast<unsigned char>(in[j]);
        if (d < 0x20 || d >= 0x7F || d == '"' || d == '\\') break;
        ++j;
      }
      w.Copy(in, i, j - i);
      i = j;
      continue;
    }
    size_t n = Utf8Len(in, i);
    if (n == 0) {
      w.Put(kReplacement, i);
      ++i;
    } else {
      w.Copy(in, i, n);
      i += n;
    }
  }
  return i;
}

}  // namespace

RepairResult Repair(std::string_view in, std::vector<size_t>* out_to_in) {
  RepairResult r;
  r.text.reserve(in.size() + 16);
  if (out_to_in != nullptr) {
    out_to_in->clear();
    out_to_in->reserve(in.size() + 16);
  }
  Writer w(r, out_to_in);
  std::string stack;  // open brackets
  // The last significant thing written outside strings: 0 none, one of
  // { [ , : or 'V' for the end of a value.
  char last = 0;
  size_t last_comma = 0;
  size_t i = 0;
  while (i < in.size() && IsWs(static_cast<unsigned char>(in[i]))) ++i;
  // Avalon: a stray `,"id":1}` before the document (PROTOCOLS §5.2), or the
  // document's `{` replaced by a comma.
  constexpr std::string_view kStrayTail = ",\"id\":1}";
  if (in.substr(i, kStrayTail.size()) == kStrayTail) {
    size_t j = i + kStrayTail.size();
    while (j < in.size() && IsWs(static_cast<unsigned char>(in[j]))) ++j;
    if (j < in.size()) i = j;
  }
  if (i < in.size() && in[i] == ',') {
    w.Put('{', i);
    stack.push_back('{');
    last = '{';
    ++i;
  }
  while (i < in.size()) {
    unsigned char c = static_cast<unsigned char>(in[i]);
    if (IsWs(c)) {
      size_t j = i + 1;
      while (j < in.size() && IsWs(static_cast<unsigned char>(in[j]))) ++j;
      w.Copy(in, i, j - i);
      i = j;
    } else if (c < 0x20 || c == 0x7F) {
      ++i;  // stray control byte (embedded NUL, ...) outside strings
    } else if (c == '"') {
      if (last == 'V') w.Put(',', i);
      w.Put('"', i);
      bool closed;
      i = CopyString(in, i + 1, w, closed);
      if (!closed) {
        r.in_string = true;
        break;
      }
      last = 'V';
    } else if (c == '{' || c == '[') {
      if (last == 'V') w.Put(',', i);
      if (static_cast<int>(stack.size()) >= kMaxDepth) {
        r.too_deep_at = i;
        break;
      }
      stack.push_back(static_cast<char>(c));
      w.Put(static_cast<char>(c), i);
      last = static_cast<char>(c);
      ++i;
    } else if (c == '}' || c == ']') {
      if (last == ',') {
        w.EraseAt(last_comma);
      }
      char open = c == '}' ? '{' : '[';
      if (!stack.empty() && stack.back() == open) stack.pop_back();
      w.Put(static_cast<char>(c), i);
      last = 'V';
      ++i;
    } else if (c == ',') {
      if (last == 'V') {
        last_comma = w.size();
        w.Put(',', i);
        last = ',';
      }
      ++i;  // otherwise a stray comma: `[,{`, `{,`, `,,`
    } else if (c == ':') {
      w.Put(':', i);
      last = ':';
      ++i;
    } else if (IsTokenChar(c)) {
      size_t j = i;
      while (j < in.size() && IsTokenChar(static_cast<unsigned char>(in[j]))) {
        ++j;
      }
      std::string_view tok = in.substr(i, j - i);
      if (last == 'V') w.Put(',', i);
      if (IsNonFiniteToken(tok)) {
        w.Put("null", i);
      } else {
        w.Copy(in, i, j - i);
      }
      last = 'V';
      i = j;
    } else {
      // Anything else outside a string is a syntax error the parser reports;
      // keep the byte so the offset points at it.
      w.Put(static_cast<char>(c), i);
      ++i;
    }
  }
  r.open_depth = static_cast<int>(stack.size());
  return r;
}

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

}  // namespace rigwatch::json_util
