// CSV export of stored samples (`rigwatch export`).
#ifndef RIGWATCH_AGENT_STORE_CSV_H_
#define RIGWATCH_AGENT_STORE_CSV_H_

#include <cstdint>
#include <ostream>
#include <string>

#include "agent/common/rfc3339.h"
#include "agent/store/store.h"

namespace rigwatch::store {

// Writes the header `timestamp,miner,metric,labels,value` and one line per
// row, in the iterator's (time) order. timestamp is RFC 3339 UTC with
// milliseconds ("2026-11-22T05:31:09.123Z"); labels is `a="x",b="y"`
// (Prometheus style, `"` and `\` escaped with `\`); value is the shortest
// text that reads back as the same double ("NaN", "+Inf", "-Inf").
// Fields with a comma, quote, CR or LF are quoted per RFC 4180. Streams:
// holds one row at a time. Returns the number of rows written; fails with
// the iterator's error or Unavailable when the stream fails.
Result<uint64_t> WriteCsv(RowIterator& rows, std::ostream& out);

// One CSV line (no newline) for a row, per the rules above.
std::string CsvLine(const Row& row);

// RFC 3339 UTC with milliseconds (the agent's one formatter).
using ::rigwatch::FormatRfc3339;

}  // namespace rigwatch::store

#endif  // RIGWATCH_AGENT_STORE_CSV_H_
