// Caps on the strings a miner controls. Every label value and identity field
// that comes from a miner's reply (hostname, firmware, model, pool URL, user,
// ASIC model, ...) goes through CapScrapeStrings once, in the poller, before
// anything stores, renders or indexes it. A hostile or broken miner can then
// not plant a 900 KB label in /metrics, the store or a query's subject.
// Pure and thread-safe.
#ifndef RIGWATCH_EXPORTERS_LABEL_CAPS_H_
#define RIGWATCH_EXPORTERS_LABEL_CAPS_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "exporters/exporter.h"

namespace rigwatch {

// The longest label value a miner can set, in bytes (docs/operations.md).
inline constexpr size_t kMaxMinerLabelBytes = 128;

// `v` as valid UTF-8 (each invalid byte becomes U+FFFD) cut to at most
// kMaxMinerLabelBytes on a character boundary. Returns true when `v` changed.
bool CapLabelValue(std::string& v);

// Caps every sample label value and every MinerInfo field of `r`. Returns
// how many strings were changed.
size_t CapScrapeStrings(ScrapeResult& r);

}  // namespace rigwatch

#endif  // RIGWATCH_EXPORTERS_LABEL_CAPS_H_
