// Units of the constants in rule conditions ("1GB", "90TH/s", "5m", "95%")
// and the base unit a metric's name implies (docs/architecture.md "Names
// and units"). Pure lookups over constant tables; thread-safe.
#ifndef RIGWATCH_AGENT_RULES_QUANTITY_H_
#define RIGWATCH_AGENT_RULES_QUANTITY_H_

#include <string>
#include <string_view>

#include "agent/common/units.h"

namespace rigwatch::rules {

// A metric's dimension and its name are shared with the mail formatter.
using ::rigwatch::Dim;
using ::rigwatch::DimName;
using ::rigwatch::MetricDim;

struct Unit {
  std::string_view name;
  double scale;
  Dim dim;
};

// The unit spelled exactly `name` (case matters), or nullptr.
const Unit* FindUnit(std::string_view name);

// Every unit name, comma-separated, for error messages.
std::string UnitList();

}  // namespace rigwatch::rules

#endif  // RIGWATCH_AGENT_RULES_QUANTITY_H_
