// Timestamps as text: RFC 3339 in UTC with milliseconds, the one format the
// agent writes (API, CSV export, mail, Alertmanager, logs of the rules).
#ifndef RIGWATCH_AGENT_COMMON_RFC3339_H_
#define RIGWATCH_AGENT_COMMON_RFC3339_H_

#include <string>

#include "agent/common/clock.h"

namespace rigwatch {

// "2026-11-22T05:00:00.000Z". Times before 1970 are rounded down to the
// millisecond like any other (1969-12-31T23:59:59.999Z for -1 ms).
std::string FormatRfc3339(WallTime t);

}  // namespace rigwatch

#endif  // RIGWATCH_AGENT_COMMON_RFC3339_H_
