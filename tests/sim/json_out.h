// A small append-only JSON writer that reproduces the byte layout of the
// firmwares' own printers: cJSON_Print (tabs, ", " in arrays), cJSON
// unformatted, and ArduinoJson number style. Used on the reply hot path, so
// it writes straight into a caller-owned string. Not thread-safe.
#ifndef RIGWATCH_TESTS_SIM_JSON_OUT_H_
#define RIGWATCH_TESTS_SIM_JSON_OUT_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace rigwatch::sim {

class JsonOut {
 public:
  enum class Style { kCompact, kTabs };
  JsonOut(std::string& out, Style style) : out_(out), style_(style) {}

  // Structure. `key` is used inside an object and ignored inside an array.
  JsonOut& Open(std::string_view key, char bracket);  // '{' or '['
  JsonOut& Open(char bracket) { return Open({}, bracket); }
  JsonOut& Close();

  // Members (or array elements when key is empty inside an array).
  JsonOut& Str(std::string_view key, std::string_view v);
  JsonOut& Int(std::string_view key, int64_t v);
  JsonOut& Uint(std::string_view key, uint64_t v);
  JsonOut& Bool(std::string_view key, bool v);
  // cJSON number printing: %d when integral, else %1.15g (or %1.17g when
  // that does not round-trip).
  JsonOut& Cj(std::string_view key, double v);
  // As Cj for a value the firmware keeps as a C float (shows float noise).
  JsonOut& CjFloat(std::string_view key, float v) {
    return Cj(key, static_cast<double>(v));
  }
  // printf-formatted number, e.g. Fmt("MHS av", "%.2f", x).
  JsonOut& Fmt(std::string_view key, const char* fmt, double v);
  // ArduinoJson: at most 7 significant digits, exponent without '+'.
  JsonOut& Aj(std::string_view key, double v);
  // Literal JSON text (already valid).
  JsonOut& Raw(std::string_view key, std::string_view json);

 private:
  void Sep(std::string_view key);
  void Indent(size_t depth);

  struct Level {
    bool object;
    int count;
  };
  std::string& out_;
  Style style_;
  std::vector<Level> stack_;
};

// printf into a std::string (appends).
void AppendF(std::string& out, const char* fmt, ...)
    __attribute__((format(printf, 2, 3)));

}  // namespace rigwatch::sim

#endif  // RIGWATCH_TESTS_SIM_JSON_OUT_H_
