// Parsing and formatting shared by the HTTP API (/api/v1/...) and the CLI
// (`rigwatch export`): time arguments, series selectors, row filters.
#ifndef RIGWATCH_AGENT_API_API_UTIL_H_
#define RIGWATCH_AGENT_API_API_UTIL_H_

#include <chrono>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "agent/common/clock.h"
#include "agent/common/status.h"
#include "agent/http/server.h"
#include "agent/store/store.h"

namespace rigwatch {

// A point in time: RFC 3339 ("2026-11-22T05:00:00Z", fractions and
// "+01:00" offsets allowed), Unix seconds ("1763787600", "1763787600.5"),
// "now", or now minus a duration ("-1h", "now-30m").
Result<WallTime> ParseTimeArg(std::string_view s, WallTime now);

// A Prometheus-style selector: `metric`, `metric{a="x",b!="y"}`,
// `{miner=~"rig-.*"}`; operators =, !=, =~, !~; values in double quotes
// with \" and \\ escapes. Errors name the column.
Result<store::Selector> ParseSelector(std::string_view s);

// A mute or unmute as asked: from the query (?target=NAME&for=2h) or a JSON
// body ({"target":"NAME","for":"2h"}, Content-Type application/json), not
// both for one field. `for` defaults to 1h, must be more than 0 and at most
// kMaxMute. InvalidArgument with a message naming the field.
struct MuteRequest {
  std::string target;
  std::chrono::milliseconds duration{0};  // POST only
};
inline constexpr std::chrono::hours kMaxMute{24 * 365};
Result<MuteRequest> ParseMuteRequest(const HttpRequest& req);

// Keeps the rows of the named miners and metrics (empty set: all).
struct RowFilter {
  std::set<std::string> miners;
  std::set<std::string> metrics;
  bool Match(const store::Row& row) const {
    return (miners.empty() || miners.count(row.target) > 0) &&
           (metrics.empty() || metrics.count(row.metric) > 0);
  }
};

// {"series":[{"miner":..,"metric":..,"labels":{..},"points":[[ts_ms,v],..]}]}
std::string SeriesJson(const std::vector<store::SeriesPoints>& series);

}  // namespace rigwatch

#endif  // RIGWATCH_AGENT_API_API_UTIL_H_
