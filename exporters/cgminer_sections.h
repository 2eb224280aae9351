// Internal to the cgminer exporter: turns the decoded section objects of
// summary/devs/pools/stats into samples. Pure, thread-safe.
#ifndef RIGWATCH_EXPORTERS_CGMINER_SECTIONS_H_
#define RIGWATCH_EXPORTERS_CGMINER_SECTIONS_H_

#include "exporters/exporter.h"
#include "exporters/json_util.h"

namespace rigwatch::cgminer::internal {

// `status` is the STATUS object (for Description), `items` the section's
// array (SUMMARY, DEVS, POOLS, STATS); both already checked to be an object
// and an array.
void AddSummary(const json_util::Json& status, const json_util::Json& items,
                ScrapeResult& out);
void AddDevs(const json_util::Json& items, ScrapeResult& out);
void AddPools(const json_util::Json& items, ScrapeResult& out);
void AddStats(const json_util::Json& items, ScrapeResult& out);

}  // namespace rigwatch::cgminer::internal

#endif  // RIGWATCH_EXPORTERS_CGMINER_SECTIONS_H_
