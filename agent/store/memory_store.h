// In-memory Store for unit tests of the components that use one (rules,
// HTTP API, export). Same contract as RocksStore (the contract suite runs
// against both), including the ingest queue, late-sample dropping and
// hour/day granularity of rollups and retention; nothing survives Close().
#ifndef RIGWATCH_AGENT_STORE_MEMORY_STORE_H_
#define RIGWATCH_AGENT_STORE_MEMORY_STORE_H_

#include <memory>

#include "agent/store/store.h"

namespace rigwatch::store {

// Uses path-independent fields of `options` (retention, rollup_retention,
// chunk_delay, queue_capacity_samples, clock). Never fails today; returns
// Result for symmetry with OpenRocksStore.
Result<std::unique_ptr<Store>> OpenMemoryStore(const StoreOptions& options);

}  // namespace rigwatch::store

#endif  // RIGWATCH_AGENT_STORE_MEMORY_STORE_H_
