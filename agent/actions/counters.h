// Thread-safe labelled counters for the component's self metrics.
#ifndef RIGWATCH_AGENT_ACTIONS_COUNTERS_H_
#define RIGWATCH_AGENT_ACTIONS_COUNTERS_H_

#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "exporters/sample.h"

namespace rigwatch::actions {

// A counter family with two label dimensions, e.g.
// rigwatch_restarts_total{miner,result}. Counts only go up.
class CounterFamily2 {
 public:
  CounterFamily2(std::string name, std::string label1, std::string label2)
      : name_(std::move(name)),
        label1_(std::move(label1)),
        label2_(std::move(label2)) {}

  void Inc(const std::string& v1, const std::string& v2) {
    std::lock_guard<std::mutex> l(mu_);
    ++counts_[{v1, v2}];
  }
  // Exports (v1, v2) at 0 before its first event, so a known series exists
  // from the start (Prometheus' advice for counters with known labels).
  void Touch(const std::string& v1, const std::string& v2) {
    std::lock_guard<std::mutex> l(mu_);
    counts_.try_emplace({v1, v2}, 0.0);
  }
  double Get(const std::string& v1, const std::string& v2) const {
    std::lock_guard<std::mutex> l(mu_);
    auto it = counts_.find({v1, v2});
    return it == counts_.end() ? 0 : it->second;
  }
  void AppendSamples(Samples& out) const {
    std::lock_guard<std::mutex> l(mu_);
    for (const auto& [k, v] : counts_) {
      out.push_back(
          Sample{name_, {{label1_, k.first}, {label2_, k.second}}, v});
    }
  }

 private:
  const std::string name_, label1_, label2_;
  mutable std::mutex mu_;
  std::map<std::pair<std::string, std::string>, double> counts_;
};

}  // namespace rigwatch::actions

#endif  // RIGWATCH_AGENT_ACTIONS_COUNTERS_H_
