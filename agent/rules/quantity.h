// Units of the constants in rule conditions ("1GB", "90TH/s", "5m", "95%")
// and the base unit a metric's name implies (docs/architecture.md "Names
// and units"). Pure lookups over constant tables; thread-safe.
#ifndef RIGWATCH_AGENT_RULES_QUANTITY_H_
#define RIGWATCH_AGENT_RULES_QUANTITY_H_

#include <string>
#include <string_view>

namespace rigwatch::rules {

enum class Dim {
  kNone,
  kBytes,
  kHashrate,
  kSeconds,
  kRatio,
  kHertz,
  kWatts,
  kVolts,
  kAmperes,
  kCelsius,
  kRpm
};

// "bytes", "hashes per second", ...; "plain number" for kNone.
std::string_view DimName(Dim d);

struct Unit {
  std::string_view name;
  double scale;
  Dim dim;
};

// The unit spelled exactly `name` (case matters), or nullptr.
const Unit* FindUnit(std::string_view name);

// Every unit name, comma-separated, for error messages.
std::string UnitList();

// The dimension a metric's name suffix implies (a counter's _total is
// ignored); kNone when the name carries no known unit.
Dim MetricDim(std::string_view metric);

}  // namespace rigwatch::rules

#endif  // RIGWATCH_AGENT_RULES_QUANTITY_H_
