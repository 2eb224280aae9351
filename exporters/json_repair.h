// The repair pass for the broken JSON miners emit (PROTOCOLS.md §5): a
// single forward scan that tracks strings and brackets and rewrites only what
// is known to break parsers. Pure and thread-safe.
#ifndef RIGWATCH_EXPORTERS_JSON_REPAIR_H_
#define RIGWATCH_EXPORTERS_JSON_REPAIR_H_

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rigwatch::json_util {

// Nesting deeper than this is refused (no miner sends more than ~4 levels).
inline constexpr int kMaxDepth = 64;

struct RepairResult {
  std::string text;
  bool in_string = false;  // input ended inside a string
  int open_depth = 0;      // brackets still open at the end of input
  // Set when nesting passed kMaxDepth; `text` is then incomplete.
  std::optional<size_t> too_deep_at;
};

// Length of the valid UTF-8 sequence of a non-ASCII lead byte at in[i], or 0
// if invalid (ASCII, overlong forms, surrogates, code points past U+10FFFF).
size_t Utf8Len(std::string_view in, size_t i);

// Rewrites `in` into text nlohmann can parse, repairing what miners are known
// to send (outside strings unless noted):
//   numbers out of a double's range (1e309)          -> null
//   `}{` `]{` `"a""b"` (any value followed by a value) -> a comma is inserted
//   `[,{` `{,` `,,`                                   -> the stray comma goes
//   `,}` `,]`                                         -> the trailing comma
//   goes bare nan, -nan, inf, -inf, infinity               -> null a leading
//   `,"id":1}` before a document            -> dropped a document starting with
//   `,` instead of `{`        -> `{` control bytes: escaped inside strings,
//   dropped outside (whitespace kept) invalid UTF-8 and lone \u surrogates in
//   strings    -> U+FFFD invalid escapes such as `\x` in strings           -> a
//   literal backslash
// When `out_to_in` is given it receives, for every output byte, the offset of
// the input byte it came from (used only to report errors).
RepairResult Repair(std::string_view in,
                    std::vector<size_t>* out_to_in = nullptr);

}  // namespace rigwatch::json_util

#endif  // RIGWATCH_EXPORTERS_JSON_REPAIR_H_
