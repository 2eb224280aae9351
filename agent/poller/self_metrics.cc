#include "agent/poller/self_metrics.h"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <exception>
#include <utility>

namespace rigwatch {

struct PollerMetrics::Impl {
  prometheus::Family<prometheus::Counter>* polls = nullptr;
  prometheus::Family<prometheus::Histogram>* durations = nullptr;
  prometheus::Family<prometheus::Gauge>* targets = nullptr;
  std::map<std::string, prometheus::Histogram*> by_kind;
  std::map<std::pair<std::string, PollResult>, prometheus::Counter*> counters;
  std::map<std::string, prometheus::Gauge*> target_gauges;
};

PollerMetrics::PollerMetrics(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)) {}
PollerMetrics::~PollerMetrics() = default;

Result<std::unique_ptr<PollerMetrics>> PollerMetrics::Create(
    prometheus::Registry& registry) {
  auto impl = std::make_unique<Impl>();
  try {
    impl->polls = &prometheus::BuildCounter()
                       .Name("rigwatch_poll_total")
                       .Help(
                           "Polls of miners by kind and result (ok, "
                           "timeout, refused, dns, http_error, "
                           "parse_error, denied).")
                       .Register(registry);
    impl->durations = &prometheus::BuildHistogram()
                           .Name("rigwatch_poll_duration_seconds")
                           .Help(
                               "Wall time of one poll of one miner (all "
                               "its requests), by kind.")
                           .Register(registry);
    impl->targets = &prometheus::BuildGauge()
                         .Name("rigwatch_targets")
                         .Help("Configured miners by kind.")
                         .Register(registry);
  } catch (const std::exception& e) {
    return InvalidArgumentError(std::string("poller metrics: ") + e.what());
  }
  return std::unique_ptr<PollerMetrics>(new PollerMetrics(std::move(impl)));
}

void PollerMetrics::ObservePoll(const std::string& kind, PollResult result,
                                Duration duration) {
  // Label values are kinds from the exporter registry and fixed result
  // names, so Add cannot see an invalid label; the catch is the adapter's
  // guarantee that nothing escapes.
  try {
    auto key = std::make_pair(kind, result);
    auto it = impl_->counters.find(key);
    if (it == impl_->counters.end()) {
      auto* c = &impl_->polls->Add(
          {{"kind", kind}, {"result", std::string(PollResultName(result))}});
      it = impl_->counters.emplace(key, c).first;
    }
    it->second->Increment();
    auto hit = impl_->by_kind.find(kind);
    if (hit == impl_->by_kind.end()) {
      auto* h = &impl_->durations->Add(
          {{"kind", kind}},
          prometheus::Histogram::BucketBoundaries{0.005, 0.01, 0.025, 0.05, 0.1,
                                                  0.25, 0.5, 1, 2.5, 5, 10});
      hit = impl_->by_kind.emplace(kind, h).first;
    }
    hit->second->Observe(std::chrono::duration<double>(duration).count());
  } catch (const std::exception&) {
    // Dropping one observation is better than stopping the poll loop.
  }
}

void PollerMetrics::SetTargets(const std::map<std::string, int>& counts) {
  try {
    for (auto& [kind, g] : impl_->target_gauges) {
      if (!counts.count(kind)) g->Set(0);
    }
    for (const auto& [kind, n] : counts) {
      auto it = impl_->target_gauges.find(kind);
      if (it == impl_->target_gauges.end()) {
        it = impl_->target_gauges
                 .emplace(kind, &impl_->targets->Add({{"kind", kind}}))
                 .first;
      }
      it->second->Set(n);
    }
  } catch (const std::exception&) {
    // See ObservePoll.
  }
}

}  // namespace rigwatch
