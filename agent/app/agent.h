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
#include <set>
#include <span>
#include <string>
#include <vector>

#include "agent/api/source.h"
#include "agent/app/host_usage.h"
#include "agent/common/clock.h"
#include "agent/common/periodic_worker.h"
#include "agent/common/status.h"
#include "agent/config/config.h"
#include "agent/http/server.h"
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
class Snapshotter;
class Store;
}  // namespace store
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

  // Applies a new, already validated config (SIGHUP). Everything applies
  // live except the keys RestartOnlyChanges names (HTTP listener, store):
  // those keep their running values, one warning names them and
  // rigwatch_config_restart_required is 1 until they match again. A bad
  // rule file keeps the old rules; a notify section the actions refuse
  // keeps the old notify and actions settings. Refused as a whole
  // (FailedPrecondition, nothing changes) for an empty file or one that
  // would drop every miner (ReloadRefusal).
  Status Reload(Config config);
  // True while a reload found keys that need a restart to apply.
  bool restart_required() const { return restart_required_.load(); }

  // "host:port" the HTTP server is bound to.
  std::string HttpAddress() const;
  bool Ready() const override { return ready_.load(); }
  // True while no background loop is stuck (PeriodicWorker heartbeats):
  // what /healthz and the systemd watchdog vouch for.
  bool Healthy() const { return StuckLoops().empty(); }
  // Names of the loops that have not beaten within their bound, sorted,
  // each once.
  std::vector<std::string> StuckLoops() const override;

 private:
  Status StartStore();
  Status StartRules();
  Status StartActions();
  Status StartPoller();
  Status StartHttp();
  void ApplyTargets(bool log_unchanged);
  std::shared_ptr<actions::Actions> CurrentActions() const;
  Result<std::shared_ptr<actions::Actions>> MakeActions(const Config& c);
  // Reload parts: each builds the new component first and keeps the old
  // one when that fails (logged); false then.
  bool ReloadPoller(const Config& next);
  bool ReloadActions(const Config& next);
  void ReloadHost(const HostConfig& next);
  void ReloadBackups(const BackupConfig& next);
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
  Result<std::vector<store::Point>> ReadRange(const store::SeriesKey& key,
                                              WallTime from,
                                              WallTime to) override;
  Result<std::unique_ptr<store::RowIterator>> Scan(WallTime from,
                                                   WallTime to) override;
  bool HasRules() const override { return rules_ != nullptr; }
  std::vector<rules::AlertView> Alerts(bool include_unknown) const override;
  std::string AlertsJson(bool include_unknown) const override;
  Status Mute(std::string_view target, WallTime until) override;
  Status Unmute(std::string_view target) override;
  Result<RestartOutcome> RestartMiner(std::string_view miner,
                                      bool force) override;
  Result<std::string> MutationsJson(size_t limit) override;
  // NotFound unless `target` is a watched miner (config or miner_files) or
  // the host.
  Status CheckKnownTarget(std::string_view target);
  // Keeps one HTTP mutation in the store's journal (bounded).
  void RecordMutation(const MutationRecord& r);
  std::string ServicesJson() const override;
  std::string HealthJson() const override;
  Status ResetService(std::string_view name) override;

  Clock* clock_;
  AgentOptions options_;
  mutable std::mutex config_mu_;
  Config config_;
  const double start_time_;
  std::atomic<bool> ready_{false};

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
  // The actions live in the pipeline (shared: a reload replaces them while
  // a call may be in flight); CurrentActions() reads them.
  std::mutex reload_mu_;   // one reload at a time
  std::mutex targets_mu_;  // guards poller_, target_files_, target_names_
  std::shared_ptr<Poller> poller_;
  std::unique_ptr<TargetFiles> target_files_;
  std::set<std::string> target_names_;       // miners being watched
  store::Snapshotter* snapshots_ = nullptr;  // the store's; for backups
  mutable std::mutex backup_mu_;             // guards backups_
  std::unique_ptr<backup::BackupScheduler> backups_;
  std::mutex host_mu_;  // guards host_
  std::unique_ptr<host::Exporter> host_;
  std::atomic<bool> restart_required_{false};
  std::unique_ptr<HttpServer> http_;
  std::mutex journal_mu_;  // one journal write (and prune) at a time
  uint64_t journal_seq_ = 0;

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
