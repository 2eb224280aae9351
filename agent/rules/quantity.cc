#include "agent/rules/quantity.h"

namespace rigwatch::rules {

namespace {

// Case matters: "m" is minutes, "M" only appears in prefixes (MB, MH/s).
constexpr Unit kUnits[] = {
    {"B", 1, Dim::kBytes},
    {"kB", 1e3, Dim::kBytes},
    {"KB", 1e3, Dim::kBytes},
    {"MB", 1e6, Dim::kBytes},
    {"GB", 1e9, Dim::kBytes},
    {"TB", 1e12, Dim::kBytes},
    {"KiB", 1024.0, Dim::kBytes},
    {"MiB", 1048576.0, Dim::kBytes},
    {"GiB", 1073741824.0, Dim::kBytes},
    {"TiB", 1099511627776.0, Dim::kBytes},
    {"H/s", 1, Dim::kHashrate},
    {"kH/s", 1e3, Dim::kHashrate},
    {"KH/s", 1e3, Dim::kHashrate},
    {"MH/s", 1e6, Dim::kHashrate},
    {"GH/s", 1e9, Dim::kHashrate},
    {"TH/s", 1e12, Dim::kHashrate},
    {"PH/s", 1e15, Dim::kHashrate},
    {"EH/s", 1e18, Dim::kHashrate},
    {"ms", 1e-3, Dim::kSeconds},
    {"s", 1, Dim::kSeconds},
    {"m", 60, Dim::kSeconds},
    {"h", 3600, Dim::kSeconds},
    {"d", 86400, Dim::kSeconds},
    {"%", 0.01, Dim::kRatio},
    {"Hz", 1, Dim::kHertz},
    {"kHz", 1e3, Dim::kHertz},
    {"MHz", 1e6, Dim::kHertz},
    {"GHz", 1e9, Dim::kHertz},
    {"W", 1, Dim::kWatts},
    {"kW", 1e3, Dim::kWatts},
    {"V", 1, Dim::kVolts},
    {"mV", 1e-3, Dim::kVolts},
    {"A", 1, Dim::kAmperes},
    {"mA", 1e-3, Dim::kAmperes},
    {"C", 1, Dim::kCelsius},
    {"rpm", 1, Dim::kRpm},
};

}  // namespace

const Unit* FindUnit(std::string_view name) {
  for (const Unit& u : kUnits) {
    if (u.name == name) return &u;
  }
  return nullptr;
}

std::string UnitList() {
  std::string out;
  for (const Unit& u : kUnits) {
    if (!out.empty()) out += ", ";
    out += u.name;
  }
  return out;
}

}  // namespace rigwatch::rules
