// The Agent wires every component from a Config and owns their lifetimes.
// Members are declared in dependency order, so destruction (reverse order)
// stops consumers before what they consume; Stop() makes the order explicit:
// HTTP stops accepting, the poller stops, the rule thread and actions stop,
// the backup scheduler stops, the store drains and closes.
#ifndef RIGWATCH_AGENT_APP_AGENT_H_
#define RIGWATCH_AGENT_APP_AGENT_H_

#include <atomic>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "agent/api/source.h"
#include "agent/app/host_usage.h"
#include "agent/common/clock.h"
#include "agent/common/periodic_worker.h"
#include "agent/common/status.h"
#include "agent/config/config.h"
#include "exporters/sample.h"

namespace prometheus {
class Registry;
}

namespace rigwatch {

class HttpServer;
class LiveState;
class Pipeline;
class Poller;
class TargetFiles;
namespace host {
class Exporter;
}
namespace store {
class Store;
}
namespace rules {
class RuleEngine;
}
namespace actions {
class Actions;
}
namespace backup {
class BackupScheduler;
}
namespace services {
class ServiceMonitor;
}

// The agent's own series (rigwatch_*) rendered from LiveState.
std::span<const MetricDesc> AgentMetricDescs();

// Every descriptor table, titled: the source of HELP/TYPE on /metrics and
// of docs/metrics.md.
struct MetricTable {
  std::string_view title;
  std::span<const MetricDesc> descs;
};
std::vector<MetricTable> AllMetricTables();
// docs/metrics.md, generated from AllMetricTables().
std::string MetricsMarkdown();

struct AgentOptions {
  // Run RocksDB's repair before opening a store that fails its check.
  bool repair_store = false;
};

// The agent is also the HTTP API's source (ApiSource): the live state, the
// store and the rule engine it owns, behind the API's narrow interface.
class Agent final : private api::ApiSource {
 public:
  explicit Agent(Config config, AgentOptions options = {},
                 Clock* clock = SystemClock::Default());
  ~Agent() override;
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

  // Opens the store, loads the rules and starts every component. On error
  // (a corrupt store, a bad rule file, a port in use) nothing is left
  // running and the status says what and where.
  Status Start();
  // Stops accepting, finishes in-flight work, flushes. Idempotent.
  void Stop();

  // Applies a new, already validated config: miners, rules (a bad rule file
  // keeps the old rules), users and log level change live; the listen
  // address and storage path need a restart (logged).
  void Reload(Config config);

  // "host:port" the HTTP server is bound to.
  std::string HttpAddress() const;
  bool Ready() const override { return ready_.load(); }
  // True while the collection loop has run within three intervals: what the
  // systemd watchdog vouches for.
  bool Healthy() const;

 private:
  Status StartStore();
  Status StartRules();
  Status StartActions();
  Status StartPoller();
  Status StartHttp();
  void ApplyTargets(bool log_unchanged);
  Duration CollectTick();
  void CollectOnce();

  // api::ApiSource (agent_api.cc).
  WallTime Now() const override { return clock_->Now(); }
  std::string RenderMetrics() const override;
  std::optional<PollError> LastPollError(std::string_view miner) const override;
  bool HasStore() const override { return store_ != nullptr; }
  Result<std::vector<store::SeriesKey>> MatchSeries(
      const store::Selector& sel) override;
  Result<std::vector<store::SeriesPoints>> Select(const store::Selector& sel,
                                                  WallTime from,
                                                  WallTime to) override;
  Result<std::unique_ptr<store::RowIterator>> Scan(WallTime from,
                                                   WallTime to) override;
  bool HasRules() const override { return rules_ != nullptr; }
  std::vector<rules::AlertView> Alerts(bool include_unknown) const override;
  std::string AlertsJson(bool include_unknown) const override;
  Status Mute(std::string_view target, WallTime until) override;
  Status Unmute(std::string_view target) override;
  std::string ServicesJson() const override;
  std::string HealthJson() const override;
  Status ResetService(std::string_view name) override;

  Clock* clock_;
  AgentOptions options_;
  mutable std::mutex config_mu_;
  Config config_;
  const double start_time_;
  std::atomic<bool> ready_{false};
  std::atomic<int64_t> last_collect_ms_{0};

  // The agent's own counters and histograms (prometheus-cpp); miner and host
  // series live in LiveState, rendered without per-series objects.
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<LiveState> live_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<Pipeline> pipeline_;
  // Host service checks; its samples go to the pipeline, the restarter
  // runs its checks.
  std::unique_ptr<services::ServiceMonitor> services_;
  std::unique_ptr<rules::RuleEngine> rules_;
  std::unique_ptr<actions::Actions> actions_;
  std::unique_ptr<Poller> poller_;
  std::mutex targets_mu_;  // guards target_files_ and ApplyTargets
  std::unique_ptr<TargetFiles> target_files_;
  std::unique_ptr<backup::BackupScheduler> backups_;
  std::unique_ptr<host::Exporter> host_;
  std::unique_ptr<HttpServer> http_;

  HostUsageTracker usage_tracker_;  // the collector thread's own
  mutable std::mutex usage_mu_;
  HostUsage usage_;  // usage_mu_

  std::mutex stop_mu_;
  bool stopped_ = false;
  bool pipeline_started_ = false;
  bool collected_once_ = false;  // the collector thread's own
  // Host collection every scrape interval; re-reads the miner files between
  // rounds.
  PeriodicWorker collector_{"collector",
                            [this](std::stop_token) { return CollectTick(); }};
};

}  // namespace rigwatch

#endif  // RIGWATCH_AGENT_APP_AGENT_H_
