#include "agent/app/agent.h"

#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <array>
#include <chrono>
#include <set>

#include "agent/actions/actions.h"
#include "agent/api/routes.h"
#include "agent/app/config_map.h"
#include "agent/app/pipeline.h"
#include "agent/backup/backup.h"
#include "agent/common/log.h"
#include "agent/common/memory.h"
#include "agent/config/target_files.h"
#include "agent/http/server.h"
#include "agent/live_state/live_state.h"
#include "agent/poller/poller.h"
#include "agent/rules/engine.h"
#include "agent/rules/loader.h"
#include "agent/services/monitor.h"
#include "agent/store/rocks_store.h"
#include "agent/version.h"
#include "exporters/host.h"
#include "exporters/registry.h"

namespace rigwatch {
namespace {

constexpr std::array kAgentMetrics = {
    MetricDesc{"rigwatch_build_info", MetricType::kGauge,
               "Version and revision of the running rigwatch; always 1.",
               "version,revision"},
    MetricDesc{"rigwatch_start_time_seconds", MetricType::kGauge,
               "Unix time the agent started.", ""},
    MetricDesc{"process_resident_memory_bytes", MetricType::kGauge,
               "Resident memory size of the agent process in bytes.", ""},
    MetricDesc{"rigwatch_collector_success", MetricType::kGauge,
               "1 if the collector's last run succeeded, 0 otherwise.",
               "collector"},
    MetricDesc{"rigwatch_collector_duration_seconds", MetricType::kGauge,
               "How long the collector's last run took.", "collector"},
    MetricDesc{"rigwatch_series", MetricType::kGauge,
               "Series currently served on /metrics from the latest-value "
               "table.",
               ""},
    MetricDesc{"rigwatch_rule_rounds_total", MetricType::kCounter,
               "Poll rounds judged by the rule engine.", ""},
    MetricDesc{"rigwatch_rule_rounds_merged_total", MetricType::kCounter,
               "Poll rounds merged into the next because the rule engine "
               "was still busy.",
               ""},
    MetricDesc{"rigwatch_rule_series", MetricType::kGauge,
               "(rule, target, series) states held by the rule engine.", ""},
    MetricDesc{"rigwatch_http_auth_failures_total", MetricType::kCounter,
               "HTTP requests refused for bad or missing credentials or a "
               "rate-limited client address.",
               ""},
    MetricDesc{"rigwatch_backup_failures_total", MetricType::kCounter,
               "Scheduled backups that failed.", ""},
    MetricDesc{"rigwatch_backup_last_success_timestamp_seconds",
               MetricType::kGauge,
               "Unix time of the newest successful backup (absent until there "
               "is one).",
               ""},
    MetricDesc{"rigwatch_backup_last_size_bytes", MetricType::kGauge,
               "Size of the newest successful backup.", ""},
    MetricDesc{"rigwatch_fleet_unreachable", MetricType::kGauge,
               "1 while the fleet fault guard holds restarts back.", ""},
};

// The store's self metrics (Store::SelfMetrics) documented for /metrics.
constexpr std::array kStoreMetricsTable = {
    MetricDesc{"rigwatch_store_size_bytes", MetricType::kGauge,
               "Bytes the store occupies on disk.", ""},
    MetricDesc{"rigwatch_store_samples_written_total", MetricType::kCounter,
               "Samples written to the store.", ""},
    MetricDesc{"rigwatch_store_dropped_samples_total", MetricType::kCounter,
               "Samples not stored: queue full, writes paused, or late.", ""},
    MetricDesc{"rigwatch_store_late_samples_total", MetricType::kCounter,
               "Samples dropped because their hour was already compacted.", ""},
    MetricDesc{"rigwatch_store_writes_paused", MetricType::kGauge,
               "1 while writes are paused because free disk is below "
               "storage.min_free_bytes.",
               ""},
    MetricDesc{"rigwatch_store_write_pauses_total", MetricType::kCounter,
               "Times writes paused for low disk space.", ""},
    MetricDesc{"rigwatch_store_partitions", MetricType::kGauge,
               "Time partitions (column families) in the store.", ""},
    MetricDesc{"rigwatch_store_series", MetricType::kGauge,
               "Series known to the store.", ""},
    MetricDesc{"rigwatch_store_last_maintenance_duration_seconds",
               MetricType::kGauge,
               "How long the last maintenance pass (retention, chunking, "
               "rollups, compaction) took.",
               ""},
};

// The poller's series: rigwatch_circuit_open is published per miner with
// the poll's samples; the others are prometheus-cpp families (self_metrics).
constexpr std::array kPollerMetricsTable = {
    MetricDesc{"rigwatch_circuit_open", MetricType::kGauge,
               "1 while the miner's circuit breaker is open (polls paused "
               "after consecutive failures).",
               "miner"},
    MetricDesc{"rigwatch_poll_total", MetricType::kCounter,
               "Polls by miner kind and result (ok, timeout, refused, dns, "
               "http_error, parse_error, denied).",
               "kind,result"},
    MetricDesc{"rigwatch_poll_duration_seconds", MetricType::kGauge,
               "Histogram of poll durations by miner kind (_bucket, _sum, "
               "_count).",
               "kind,le"},
    MetricDesc{"rigwatch_targets", MetricType::kGauge,
               "Configured miners by kind.", "kind"},
};

// LiveState keys of the agent's own series (rendered without a target
// label). Miners render under `miner`, so they cannot clash.
constexpr std::string_view kSelfTarget = "\x01self";
constexpr std::string_view kRulesTarget = "\x01rules";
constexpr std::string_view kStoreTarget = "\x01store";
constexpr std::string_view kActionsTarget =
    "\x01"
    "actions";

std::vector<HttpUser> ToHttpUsers(const std::vector<BasicAuthUser>& in) {
  std::vector<HttpUser> out;
  for (const BasicAuthUser& u : in) out.push_back({u.name, u.bcrypt_hash});
  return out;
}

}  // namespace

std::span<const MetricDesc> AgentMetricDescs() { return kAgentMetrics; }

std::vector<MetricTable> AllMetricTables() {
  return {
      {"Miners", MinerMetricDescs()},
      {"Host (node_exporter names)", host::MetricDescs()},
      {"Host services", services::MetricDescs()},
      {"Agent", kAgentMetrics},
      {"Poller", kPollerMetricsTable},
      {"Store", kStoreMetricsTable},
      {"Rules", rules::RuleMetricDescs()},
      {"Actions", std::span<const MetricDesc>(actions::kActionsMetrics)},
  };
}

std::string MetricsMarkdown() {
  std::string out =
      "# Metrics reference\n\n"
      "Generated from the descriptor tables in the code (`rigwatch docs "
      "metrics`); a test fails when this file is out of date. Miner series "
      "carry the `miner` label (the configured name); host series use "
      "node_exporter's names and labels.\n";
  for (const MetricTable& t : AllMetricTables()) {
    out += "\n## " + std::string(t.title) + "\n\n";
    out += "| name | type | labels | meaning |\n|---|---|---|---|\n";
    for (const MetricDesc& d : t.descs) {
      std::string help(d.help);
      for (char& c : help) {
        if (c == '|' || c == '\n') c = ' ';
      }
      out += "| `" + std::string(d.name) + "` | " +
             (d.type == MetricType::kCounter ? "counter" : "gauge") + " | " +
             std::string(d.labels) + " | " + help + " |\n";
    }
  }
  return out;
}

Agent::Agent(Config config, AgentOptions options, Clock* clock)
    : clock_(clock),
      options_(options),
      config_(std::move(config)),
      start_time_(ToUnixSeconds(clock->Now())),
      registry_(std::make_shared<prometheus::Registry>()) {
  std::vector<std::span<const MetricDesc>> tables;
  for (const MetricTable& t : AllMetricTables()) tables.push_back(t.descs);
  live_ = std::make_unique<LiveState>(std::move(tables));
}

Agent::~Agent() { Stop(); }

Status Agent::StartStore() {
  store::Snapshotter* snapshots = nullptr;
  RW_ASSIGN_OR_RETURN(
      store_, store::OpenRocksStore(
                  ToStoreOptions(config_.storage, store::OpenMode::kReadWrite,
                                 options_.repair_store),
                  &snapshots));
  LogInfo("store_opened").Kv("path", config_.storage.path);
  if (config_.backup.every.count() > 0) {
    backup::BackupOptions bo;
    bo.dir = config_.backup.dir;
    bo.after_command = config_.backup.after_command;
    backups_ = std::make_unique<backup::BackupScheduler>(
        snapshots, bo, config_.backup.every, config_.backup.keep, clock_);
  }
  return Status::Ok();
}

namespace {
std::vector<std::string> SelectedMetrics(const rules::RuleSet& set) {
  std::vector<std::string> out;
  for (const rules::Rule& r : set.rules) out.push_back(r.selector.metric);
  return out;
}
}  // namespace

Status Agent::StartRules() {
  rules_ = std::make_unique<rules::RuleEngine>(clock_, store_.get(),
                                               pipeline_.get());
  RW_ASSIGN_OR_RETURN(rules::RuleSet set,
                      rules::LoadRuleFiles(config_.rule_files));
  pipeline_->SetRuleMetrics(SelectedMetrics(set));
  RW_RETURN_IF_ERROR(rules_->SetRules(std::move(set)));
  RW_RETURN_IF_ERROR(rules_->Restore());
  return Status::Ok();
}

Status Agent::StartActions() {
  actions::ActionsOptions o;
  o.restart.cooldown = config_.actions.restart_cooldown;
  o.restart.max_attempts = config_.actions.restart_max_attempts;
  o.restart.window = config_.actions.restart_window;
  o.restart.grace = config_.actions.restart_grace;
  o.restart.miner_timeout = config_.scrape.timeout * 2;
  for (const HostServiceConfig& s : config_.host.services) {
    if (s.restart.empty()) continue;  // watched only
    actions::HostService h{s.name, s.restart, s.timeout, s.start_timeout};
    if (!s.check.kind.empty()) {
      services::ServiceMonitor* mon = services_.get();
      h.probe = [mon, name = s.name](std::string* why) {
        std::optional<services::CheckResult> r = mon->CheckNow(name);
        if (r && !r->up) *why = r->error;
        return r && r->up;
      };
    }
    o.services.push_back(std::move(h));
  }
  o.guard_fraction = config_.actions.guard_fraction;
  const SmtpConfig& m = config_.notify.smtp;
  if (!m.to.empty()) {
    RW_ASSIGN_OR_RETURN(o.smtp, ToSmtpOptions(m));
  }
  o.alertmanager.url = config_.notify.alertmanager.url;
  o.group_wait = config_.notify.group_wait;
  o.repeat_interval = config_.notify.repeat_interval;
  o.external_url = config_.notify.external_url;
  rules::RuleEngine* engine = rules_.get();
  RW_ASSIGN_OR_RETURN(actions_,
                      actions::Actions::Create(
                          std::move(o), clock_, store_.get(), pipeline_.get(),
                          [engine](const std::string& target, Duration d) {
                            Status s = engine->StartGrace(target, d);
                            if (!s.ok())
                              LogWarn("grace_not_persisted").Kv("err", s);
                          }));
  actions_->Start();
  return Status::Ok();
}

Status Agent::StartPoller() {
  RW_ASSIGN_OR_RETURN(poller_,
                      Poller::Start(ToPollerOptions(config_.scrape), *pipeline_,
                                    registry_.get(), *clock_, &FindExporter));
  target_files_ = std::make_unique<TargetFiles>(config_.miner_files);
  ApplyTargets(true);
  return Status::Ok();
}

Status Agent::StartHttp() {
  HttpServerOptions ho;
  ho.listen = config_.http.listen;
  ho.threads = config_.http.threads;
  ho.request_timeout = config_.http.read_timeout;
  ho.users = ToHttpUsers(config_.http.basic_auth_users);
  http_ = std::make_unique<HttpServer>(ho);
  api::RegisterRoutes(*http_, *this);
  RW_RETURN_IF_ERROR(http_->Start());
  LogInfo("http_listening").Kv("address", http_->BoundAddress());
  return Status::Ok();
}

Status Agent::Start() {
  Result<LogLevel> level = ParseLogLevel(config_.log.level);
  if (level.ok()) SetLogLevel(*level);
  if (config_.host.enabled) {
    host::Options ho;
    ho.root = config_.host.root;
    ho.filesystems = config_.host.filesystems;
    ho.clock = clock_;
    host_ = std::make_unique<host::Exporter>(ho);
  }
  Status s = StartStore();
  if (s.ok()) {
    pipeline_ = std::make_unique<Pipeline>(live_.get(), store_.get());
    Pipeline* p = pipeline_.get();
    // Process and cgroup checks read the host's /proc and /sys, below
    // host.root like the host collector.
    services::CheckEnv env;
    std::string root = config_.host.root;
    if (root.empty() || root.back() != '/') root += '/';
    env.proc_root = root + "proc";
    env.cgroup_root = root + "sys/fs/cgroup";
    services_ = std::make_unique<services::ServiceMonitor>(
        config_.host.services, clock_,
        [p](const std::string& name, WallTime t, const Samples& samples) {
          p->OnServiceSamples(name, t, samples);
        },
        std::move(env));
    s = StartRules();
  }
  if (s.ok()) s = StartActions();
  if (s.ok()) {
    pipeline_->Connect(rules_.get(), actions_.get());
    s = StartPoller();
  }
  if (s.ok()) {
    pipeline_->SetPoller(poller_.get());
    pipeline_->Start();
    pipeline_started_ = true;
    services_->Start();
    s = StartHttp();
  }
  if (!s.ok()) {
    Stop();
    return s;
  }
  if (backups_) {
    // Check at least every 30 s, and often enough for short schedules.
    backups_->Start(std::min<std::chrono::milliseconds>(
        std::chrono::seconds(30), config_.backup.every));
  }
  collector_.Start();
  return Status::Ok();
}

void Agent::Stop() {
  {
    std::lock_guard<std::mutex> l(stop_mu_);
    if (stopped_) return;
    stopped_ = true;
  }
  // Stop accepting first; civetweb waits for requests in flight.
  if (http_) http_->Stop();
  collector_.Stop();
  // No more judging, then no more actions (a restart in progress finishes:
  // it holds the poller), then no more polls.
  if (pipeline_) pipeline_->Stop();
  if (actions_) actions_->Stop();
  if (services_) services_->Stop();
  if (pipeline_) pipeline_->SetPoller(nullptr);
  poller_.reset();  // in-flight exchanges aborted
  if (backups_) backups_->Stop();
  if (store_) {
    Status s = store_->Close();  // drains the queue and syncs
    if (!s.ok()) LogError("store_close_failed").Kv("err", s);
  }
}

void Agent::ApplyTargets(bool log_unchanged) {
  // The collector loop and a SIGHUP reload both get here; TargetFiles is
  // single-threaded.
  std::lock_guard<std::mutex> targets_lock(targets_mu_);
  std::vector<MinerTarget> targets;
  std::set<std::string> names;
  {
    std::lock_guard<std::mutex> l(config_mu_);
    for (const MinerConfig& m : config_.miners) {
      Result<HostPort> hp = ParseHostPort(m.address, 0);
      if (!hp.ok()) continue;  // validated at load; cannot happen
      targets.push_back({m.name, m.kind, hp->host, hp->port});
      names.insert(m.name);
    }
  }
  TargetFiles::Update u = target_files_->Poll();
  if (!u.error.ok()) {
    LogError("miner_files_rejected").Kv("err", u.error);
  }
  if (!u.changed && !log_unchanged) return;
  for (const MinerTarget& t : target_files_->targets()) {
    if (!names.insert(t.name).second) {
      LogWarn("miner_files_duplicate")
          .Kv("miner", t.name)
          .Kv("kept", "the entry in the config file");
      continue;
    }
    targets.push_back(t);
  }
  size_t n = targets.size();
  if (!pipeline_started_) {
    std::vector<std::pair<std::string, std::string>> warm;
    for (const MinerTarget& t : targets) warm.emplace_back(t.name, t.kind);
    if (config_.host.enabled) warm.emplace_back("host", "host");
    for (const HostServiceConfig& svc : config_.host.services) {
      warm.emplace_back(svc.name, "service");
    }
    pipeline_->SetWarmTargets(std::move(warm));
  }
  Status s = poller_->SetTargets(std::move(targets));
  if (!s.ok()) LogWarn("targets_skipped").Kv("err", s);
  LogInfo("targets_applied").Kv("miners", static_cast<uint64_t>(n));
}

void Agent::Reload(Config config) {
  {
    std::lock_guard<std::mutex> l(config_mu_);
    if (config.http.listen != config_.http.listen) {
      LogWarn("config_reload_needs_restart")
          .Kv("key", "http.listen")
          .Kv("running", config_.http.listen)
          .Kv("configured", config.http.listen);
      config.http.listen = config_.http.listen;
    }
    if (config.storage.path != config_.storage.path) {
      LogWarn("config_reload_needs_restart")
          .Kv("key", "storage.path")
          .Kv("running", config_.storage.path)
          .Kv("configured", config.storage.path);
      config.storage.path = config_.storage.path;
    }
  }
  if (rules_) {
    Result<rules::RuleSet> set = rules::LoadRuleFiles(config.rule_files);
    if (!set.ok()) {
      LogError("rules_reload_rejected").Kv("err", set.status());
      LogWarn("rules_reload_kept_old");
    } else {
      // The pipeline keeps the old and new rules' metrics until the new
      // rules are in place, then just the new ones.
      const std::vector<std::string> next = SelectedMetrics(*set);
      pipeline_->AddRuleMetrics(next);
      Status s = rules_->SetRules(std::move(*set));
      if (!s.ok()) LogError("rules_reload_failed").Kv("err", s);
      pipeline_->SetRuleMetrics(next);
    }
  }
  if (http_) http_->SetUsers(ToHttpUsers(config.http.basic_auth_users));
  Result<LogLevel> level = ParseLogLevel(config.log.level);
  if (level.ok()) SetLogLevel(*level);
  bool files_changed;
  {
    std::lock_guard<std::mutex> l(config_mu_);
    files_changed = config.miner_files != config_.miner_files;
    config_ = std::move(config);
    LogInfo("config_reloaded")
        .Kv("file", config_.file)
        .Kv("miners", static_cast<int64_t>(config_.miners.size()));
  }
  if (poller_) {
    if (files_changed) {
      std::lock_guard<std::mutex> targets_lock(targets_mu_);
      std::lock_guard<std::mutex> l(config_mu_);
      target_files_ = std::make_unique<TargetFiles>(config_.miner_files);
    }
    ApplyTargets(true);
  }
}

std::string Agent::HttpAddress() const {
  return http_ ? http_->BoundAddress() : std::string();
}

bool Agent::Healthy() const {
  int64_t last = last_collect_ms_.load();
  int64_t interval_ms;
  {
    std::lock_guard<std::mutex> l(config_mu_);
    interval_ms = config_.scrape.interval.count();
  }
  int64_t now = ToUnixMillis(clock_->Now());
  return last > 0 && now - last < 3 * interval_ms + 5000;
}

Duration Agent::CollectTick() {
  // Between rounds, not before the first: Start() has applied the targets.
  if (collected_once_ && poller_) ApplyTargets(false);
  CollectOnce();
  collected_once_ = true;
  last_collect_ms_ = ToUnixMillis(clock_->Now());
  ready_ = true;
  std::lock_guard<std::mutex> l(config_mu_);
  return config_.scrape.interval;
}

void Agent::CollectOnce() {
  Samples self;
  self.push_back({"rigwatch_build_info",
                  {{"version", kVersion}, {"revision", kRevision}},
                  1});
  self.push_back({"rigwatch_start_time_seconds", {}, start_time_});
  if (const size_t rss = ResidentBytes(); rss > 0) {
    self.push_back(
        {"process_resident_memory_bytes", {}, static_cast<double>(rss)});
  }
  if (host_) {
    host::Scrape scrape = host_->Collect();
    if (pipeline_) pipeline_->OnHostSamples(clock_->Now(), scrape.samples);
    HostUsage usage = usage_tracker_.Update(scrape.samples);
    {
      std::lock_guard<std::mutex> l(usage_mu_);
      usage_ = std::move(usage);
    }
    for (const host::CollectorOutcome& o : scrape.collectors) {
      self.push_back({"rigwatch_collector_success",
                      {{"collector", "host_" + o.name}},
                      o.success ? 1.0 : 0.0});
      self.push_back({"rigwatch_collector_duration_seconds",
                      {{"collector", "host_" + o.name}},
                      o.duration_seconds});
      if (!o.success) {
        LogDebug("collector_failed").Kv("collector", o.name).Kv("err", o.error);
      }
    }
  }
  self.push_back(
      {"rigwatch_series", {}, static_cast<double>(live_->SeriesCount())});
  if (http_) {
    self.push_back({"rigwatch_http_auth_failures_total",
                    {},
                    static_cast<double>(http_->auth_failures())});
  }
  if (pipeline_) {
    self.push_back({"rigwatch_rule_rounds_total",
                    {},
                    static_cast<double>(pipeline_->rounds_judged())});
    self.push_back({"rigwatch_rule_rounds_merged_total",
                    {},
                    static_cast<double>(pipeline_->rounds_merged())});
  }
  if (rules_) {
    self.push_back({"rigwatch_rule_series",
                    {},
                    static_cast<double>(rules_->SeriesCount())});
    live_->Update(kRulesTarget, "", rules_->MetricSamples());
  }
  if (backups_) {
    self.push_back({"rigwatch_backup_failures_total",
                    {},
                    static_cast<double>(backups_->failures())});
    if (std::optional<backup::BackupInfo> b = backups_->last_success()) {
      self.push_back({"rigwatch_backup_last_success_timestamp_seconds",
                      {},
                      ToUnixSeconds(b->time)});
      self.push_back({"rigwatch_backup_last_size_bytes",
                      {},
                      static_cast<double>(b->size_bytes)});
    }
  }
  if (store_) live_->Update(kStoreTarget, "", store_->SelfMetrics());
  if (actions_) {
    self.push_back(
        {"rigwatch_fleet_unreachable", {}, actions_->fleet_down() ? 1.0 : 0.0});
    live_->Update(kActionsTarget, "", actions_->SelfMetrics());
  }
  live_->Update(kSelfTarget, "", self);
}

std::string Agent::RenderMetrics() const {
  // prometheus-cpp throws only on misuse (bad names); those are bugs caught
  // by the promtool integration test, so no try/catch here.
  prometheus::TextSerializer serializer;
  // The agent's own (small) part first: Render then sizes the buffer once
  // for the whole body, which is tens of MB for a large fleet.
  std::string out = serializer.Serialize(registry_->Collect());
  live_->Render(&out);
  return out;
}

}  // namespace rigwatch
