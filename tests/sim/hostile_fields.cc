#include "tests/sim/hostile_fields.h"

namespace rigwatch::sim {
namespace {

bool IsWs(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// The end of the JSON value starting at body[i]: past the closing quote of a
// string, else past the run of number/literal characters.
size_t ValueEnd(std::string_view body, size_t i) {
  if (i < body.size() && body[i] == '"') {
    for (size_t j = i + 1; j < body.size(); ++j) {
      if (body[j] == '\\') {
        ++j;
      } else if (body[j] == '"') {
        return j + 1;
      }
    }
    return body.size();
  }
  size_t j = i;
  while (j < body.size() && body[j] != ',' && body[j] != '}' &&
         body[j] != ']' && !IsWs(body[j])) {
    ++j;
  }
  return j;
}

}  // namespace

bool ReplaceJsonValue(std::string& body, std::string_view key,
                      std::string_view value) {
  const std::string quoted = "\"" + std::string(key) + "\"";
  size_t at = 0;
  while ((at = body.find(quoted, at)) != std::string::npos) {
    size_t i = at + quoted.size();
    while (i < body.size() && IsWs(body[i])) ++i;
    if (i >= body.size() || body[i] != ':') {
      at = i;  // the key text appeared as a value, not a member name
      continue;
    }
    ++i;
    while (i < body.size() && IsWs(body[i])) ++i;
    body.replace(i, ValueEnd(body, i) - i, value);
    return true;
  }
  return false;
}

void ApplyHostileFields(std::string& body, Faults& f) {
  if (f.hostname_bytes > 0) {
    ReplaceJsonValue(body, "hostname",
                     "\"" + std::string(f.hostname_bytes, 'h') + "\"");
  }
  if (f.hostname_churn) {
    ReplaceJsonValue(body, "hostname",
                     "\"churn-" + std::to_string(++f.churn_seq) + "\"");
  }
  if (f.counter_negative) {
    ReplaceJsonValue(body, "sharesAccepted", "-12345");
  }
  if (f.counter_spike > 0) {
    --f.counter_spike;
    ReplaceJsonValue(body, "sharesAccepted", "1180591620717411303424");  // 2^70
  }
  if (f.field_overflow) ReplaceJsonValue(body, "hashRate", "1e309");
}

}  // namespace rigwatch::sim
