// Label matching for Selector queries, shared by the Store implementations.
#ifndef RIGWATCH_AGENT_STORE_MATCHER_H_
#define RIGWATCH_AGENT_STORE_MATCHER_H_

#include <vector>

#include "agent/common/selector.h"
#include "agent/store/store.h"

namespace rigwatch::store {

// The store's Selector compiled for series keys: the label "miner" reads the
// target, "__name__" the metric. Fails with InvalidArgument on a bad regex.
Result<CompiledSelector> CompileSelector(const Selector& sel);
bool Matches(const CompiledSelector& selector, const SeriesKey& key);

// Sorts labels by name (series identity is order-independent).
Labels SortedLabels(Labels labels);

}  // namespace rigwatch::store

#endif  // RIGWATCH_AGENT_STORE_MATCHER_H_
