// JSON text for the documents the agent writes by hand (the API, the rules
// exposure). One escaper, so every document is valid JSON whatever a miner
// put into a label or a name.
#ifndef RIGWATCH_AGENT_COMMON_JSON_H_
#define RIGWATCH_AGENT_COMMON_JSON_H_

#include <string>
#include <string_view>

namespace rigwatch::json {

// Appends `s` as a quoted JSON string (RFC 8259): '"' and '\' are escaped,
// control characters 0x00-0x1f become \b \f \n \r \t or \u00XX, well-formed
// UTF-8 is copied, and every byte that does not start a well-formed UTF-8
// sequence (overlong forms, surrogates and code points above U+10FFFF
// included) becomes U+FFFD, so the output is always valid UTF-8 JSON.
void AppendString(std::string* out, std::string_view s);

// The quoted JSON string of `s`.
std::string Quote(std::string_view s);

}  // namespace rigwatch::json

#endif  // RIGWATCH_AGENT_COMMON_JSON_H_
