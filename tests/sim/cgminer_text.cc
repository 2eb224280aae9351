#include "tests/sim/cgminer_text.h"

namespace rigwatch::sim {
namespace {

// A cursor over JSON text the simulator produced itself (well-formed apart
// from bmminer's "}{"), so the scanner can stay small.
class Scanner {
 public:
  explicit Scanner(std::string_view s) : s_(s) {}
  void SkipSpace() {
    while (p_ < s_.size() && (s_[p_] == ' ' || s_[p_] == '\n' ||
                              s_[p_] == '\t' || s_[p_] == '\r')) {
      ++p_;
    }
  }
  bool Eat(char c) {
    SkipSpace();
    if (p_ < s_.size() && s_[p_] == c) {
      ++p_;
      return true;
    }
    return false;
  }
  char Peek() {
    SkipSpace();
    return p_ < s_.size() ? s_[p_] : '\0';
  }
  bool done() const { return p_ >= s_.size(); }
  // A JSON string, unescaped (the simulator only escapes '"' and '\').
  std::string String() {
    std::string out;
    if (!Eat('"')) return out;
    while (p_ < s_.size() && s_[p_] != '"') {
      if (s_[p_] == '\\' && p_ + 1 < s_.size()) ++p_;
      out += s_[p_++];
    }
    ++p_;
    return out;
  }
  // A scalar as printed: strings unescaped, numbers and literals verbatim.
  std::string Scalar() {
    if (Peek() == '"') return String();
    const size_t start = p_;
    while (p_ < s_.size() && s_[p_] != ',' && s_[p_] != '}' && s_[p_] != ']') {
      ++p_;
    }
    return std::string(s_.substr(start, p_ - start));
  }

 private:
  std::string_view s_;
  size_t p_ = 0;
};

void AppendEscaped(std::string& out, std::string_view v) {
  for (char c : v) {
    if (c == '|' || c == ',' || c == '=' || c == '\\') out += '\\';
    out += c;
  }
}

}  // namespace

std::string CgminerJsonToText(std::string_view json) {
  if (json.find("\"STATUS\":\"RESTART\"") != std::string_view::npos) {
    return "RESTART";
  }
  std::string out;
  Scanner sc(json);
  if (!sc.Eat('{')) return out;
  while (!sc.done() && sc.Peek() != '}') {
    const std::string section = sc.String();
    sc.Eat(':');
    if (sc.Peek() != '[') {  // "id":1
      sc.Scalar();
      sc.Eat(',');
      continue;
    }
    sc.Eat('[');
    while (sc.Eat('{')) {
      if (section == "SUMMARY" || section == "VERSION") out += section + ",";
      bool first = true;
      while (sc.Peek() != '}' && !sc.done()) {
        if (!first) out += ',';
        first = false;
        AppendEscaped(out, sc.String());
        sc.Eat(':');
        out += '=';
        AppendEscaped(out, sc.Scalar());
        sc.Eat(',');
      }
      sc.Eat('}');
      out += '|';
      sc.Eat(',');  // absent between bmminer's "}{" records
    }
    sc.Eat(']');
    sc.Eat(',');
  }
  return out;
}

}  // namespace rigwatch::sim
