// See json_repair.h. Offsets in comments refer to the input text.
#include "exporters/json_repair.h"

#include <charconv>
#include <system_error>

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

}  // namespace

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

namespace {

// A number too large for a double (1e309): JSON parsers fail the whole
// document on it, so it becomes null and only that field goes missing.
// Tiny values (1e-400) go the same way: no miner field is that small.
bool IsOutOfRangeNumber(std::string_view t) {
  if (t.empty() || !((t[0] >= '0' && t[0] <= '9') || t[0] == '-')) {
    return false;
  }
  double v = 0;
  auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  return ec == std::errc::result_out_of_range;
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
      if (IsNonFiniteToken(tok) || IsOutOfRangeNumber(tok)) {
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

}  // namespace rigwatch::json_util
