// JSON helpers shared by the miner exporters: the repair pass of
// json_repair.h (docs/protocols.md §5) followed by a parse that turns
// nlohmann's exceptions into Status values with a byte offset, and lenient
// readers for numbers that arrive as numbers, padded strings, exponent forms or
// with SI suffixes (bestDiff "4.29G").
//
// Everything here is pure and thread-safe; nothing keeps state between calls.
// This is the one place where nlohmann parse exceptions are caught
// (docs/architecture.md "Errors").
#ifndef RIGWATCH_EXPORTERS_JSON_UTIL_H_
#define RIGWATCH_EXPORTERS_JSON_UTIL_H_

#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/common/status.h"
#include "exporters/json_repair.h"

namespace rigwatch::json_util {

using Json = nlohmann::json;

// Repairs and parses `body`. Errors (messages start with `what`):
//   DataLoss         the text ends inside a string or with open brackets
//                    ("truncated at byte N")
//   InvalidArgument  empty input, nesting too deep, or a syntax error, with
//                    the byte offset in `body` ("malformed JSON at byte N: …")
Result<Json> ParseLenient(std::string_view body, std::string_view what);

// Removes exactly one trailing NUL byte if present (cgminer; docs/protocols.md
// §2.1).
std::string_view StripOneTrailingNul(std::string_view s);

// The member `key` of `obj`, or nullptr when `obj` is not an object or has no
// such member. Never throws.
const Json* Field(const Json& obj, std::string_view key);

// A finite number from a JSON number or a numeric string ("  5.0000",
// "1.274507897e14", "+3"). nullopt for null, booleans, objects, non-finite
// values ("inf", "nan") and text that is not entirely a number.
std::optional<double> ToNumber(const Json& v);
std::optional<double> ToNumber(const Json* v);  // nullptr -> nullopt
std::optional<double> ParseNumberText(std::string_view s);

// A flag from true/false, a number (0 false, anything else true), or the
// strings "Y"/"N", "true"/"false", "1"/"0" (case-insensitive).
std::optional<bool> ToFlag(const Json* v);

// A string member's text, or nullopt when absent or not a string.
std::optional<std::string_view> ToStringView(const Json* v);

// A share difficulty: a JSON number (AxeOS v2.11+, NerdQAxe v1.0.35+) or the
// strings older firmware prints (docs/protocols.md §1.5): "4.29G", "1.16 G",
// "512 ", "1e+03M", "91.5M", "12.3k". Suffixes k/K, M, G, T, P, E are steps of
// 1000, with an optional space before them. nullopt for negative, non-finite or
// unrecognised values.
std::optional<double> ToDifficulty(const Json* v);
std::optional<double> ParseDifficultyText(std::string_view s);

// A reply body as a short printable quote for an error message (the miner's
// own words): at most 160 bytes, control and non-ASCII bytes as spaces,
// trailing spaces dropped.
std::string MinerWords(std::string_view body);

// True for a login token a kind may send back in a header: 1 to 4096
// printable ASCII characters, no space.
bool IsTokenText(std::string_view token);

}  // namespace rigwatch::json_util

#endif  // RIGWATCH_EXPORTERS_JSON_UTIL_H_
