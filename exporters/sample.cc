#include "exporters/sample.h"

namespace rigwatch {

const MetricDesc* FindDesc(std::span<const MetricDesc> table,
                           std::string_view name) {
  for (const MetricDesc& d : table) {
    if (d.name == name) return &d;
  }
  return nullptr;
}

}  // namespace rigwatch
