// The poller's own health series, registered in a prometheus-cpp Registry:
//   rigwatch_poll_total{kind,result}          counter
//   rigwatch_poll_duration_seconds{kind}      histogram
//   rigwatch_targets{kind}                    gauge
// prometheus-cpp exceptions are caught here, in this one adapter.
#ifndef RIGWATCH_AGENT_POLLER_SELF_METRICS_H_
#define RIGWATCH_AGENT_POLLER_SELF_METRICS_H_

#include <map>
#include <memory>
#include <string>

#include "agent/common/clock.h"
#include "agent/common/status.h"
#include "agent/poller/types.h"

namespace prometheus {
class Registry;
}

namespace rigwatch {

// Thread-compatible: called from the poller thread only; prometheus-cpp
// makes the values safe to collect from other threads.
class PollerMetrics {
 public:
  // Registers the families. Fails (InvalidArgument) if the registry
  // already holds conflicting families.
  static Result<std::unique_ptr<PollerMetrics>> Create(
      prometheus::Registry& registry);
  ~PollerMetrics();

  void ObservePoll(const std::string& kind, PollResult result,
                   Duration duration);
  // Sets rigwatch_targets for every kind in `counts`; kinds seen before and
  // absent now go to 0.
  void SetTargets(const std::map<std::string, int>& counts);

 private:
  struct Impl;
  explicit PollerMetrics(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace rigwatch

#endif  // RIGWATCH_AGENT_POLLER_SELF_METRICS_H_
