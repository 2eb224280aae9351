// What every collector produces: metric samples with their own labels.
//
// A Sample never carries its target's label: the miner (or host) a sample
// belongs to is known to whoever called the exporter, and LiveState / Store
// add `miner="NAME"` when they render or store it. That keeps exporters pure
// and lets the store key samples by target id instead of by label strings.
#ifndef RIGWATCH_EXPORTERS_SAMPLE_H_
#define RIGWATCH_EXPORTERS_SAMPLE_H_

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace rigwatch {

enum class MetricType { kGauge, kCounter };

// One row of a collector's descriptor table. The tables are the single
// source for HELP/TYPE lines and for docs/metrics.md.
struct MetricDesc {
  std::string_view name;  // base units (docs/architecture.md "Names and units")
  MetricType type;
  std::string_view help;
  std::string_view labels;  // documentation only: "miner,sensor"
};

struct Label {
  std::string name;
  std::string value;
  friend bool operator==(const Label&, const Label&) = default;
};
using Labels = std::vector<Label>;

struct Sample {
  std::string name;  // a MetricDesc::name
  Labels labels;     // in the order the exporter emits them
  double value = 0;
  friend bool operator==(const Sample&, const Sample&) = default;
};
using Samples = std::vector<Sample>;

// Looks up a descriptor in a table; nullptr when absent.
const MetricDesc* FindDesc(std::span<const MetricDesc> table,
                           std::string_view name);

}  // namespace rigwatch

#endif  // RIGWATCH_EXPORTERS_SAMPLE_H_
