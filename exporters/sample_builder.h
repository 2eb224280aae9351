// A small appender used by the miner exporters to build their Samples with
// unit scaling and "absent is not zero" in one place: an empty optional adds
// nothing. Not thread-safe; one per Parse call.
#ifndef RIGWATCH_EXPORTERS_SAMPLE_BUILDER_H_
#define RIGWATCH_EXPORTERS_SAMPLE_BUILDER_H_

#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "exporters/sample.h"

namespace rigwatch {

// A unit conversion as a multiplier and a divisor: dividing by 1000 keeps
// 1400 mV at exactly 1.4 V where multiplying by 1e-3 would not.
struct Unit {
  constexpr Unit(double mul = 1.0, double div = 1.0)  // NOLINT: implicit
      : mul(mul), div(div) {}
  double mul;
  double div;
};

class SampleBuilder {
 public:
  // `out` must outlive the builder; samples are appended in call order.
  explicit SampleBuilder(Samples& out) : out_(out) {}

  // Appends name{labels} = value * unit.mul / unit.div when `value` holds a
  // number.
  void Add(std::string_view name, std::optional<double> value, Unit unit = {},
           Labels labels = {}) {
    if (!value) return;
    out_.push_back(Sample{std::string(name), std::move(labels),
                          *value * unit.mul / unit.div});
  }
  // The same with one label.
  void Add1(std::string_view name, std::optional<double> value, Unit unit,
            std::string_view label, std::string label_value) {
    Add(name, value, unit,
        Labels{Label{std::string(label), std::move(label_value)}});
  }

 private:
  Samples& out_;
};

}  // namespace rigwatch

#endif  // RIGWATCH_EXPORTERS_SAMPLE_BUILDER_H_
