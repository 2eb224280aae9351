// The sorted table of miner exporters: one line per kind in registry.cc.
#ifndef RIGWATCH_EXPORTERS_REGISTRY_H_
#define RIGWATCH_EXPORTERS_REGISTRY_H_

#include <span>
#include <string_view>
#include <vector>

#include "exporters/exporter.h"
#include "exporters/sample.h"

namespace rigwatch {

// The exporter for a config `kind:`, or nullptr. Exporters are stateless
// singletons: the pointer lives for the whole process and is thread-safe.
const Exporter* FindExporter(std::string_view kind);

// Every known kind, sorted ("antminer", "avalon", "bitaxe", ...).
std::vector<std::string_view> KnownKinds();

// The descriptor table of every miner_* metric any exporter may emit
// (miner_metrics.cc), plus the per-miner series the poller adds.
std::span<const MetricDesc> MinerMetricDescs();

}  // namespace rigwatch

#endif  // RIGWATCH_EXPORTERS_REGISTRY_H_
