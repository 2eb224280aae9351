#include "agent/app/agent.h"

#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <map>
#include <set>

#include "agent/actions/actions.h"
#include "agent/api/routes.h"
#include "agent/app/config_map.h"
#include "agent/app/pipeline.h"
#include "agent/backup/backup.h"
#include "agent/common/log.h"
#include "agent/common/memory.h"
#include "agent/common/rfc3339.h"
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
    MetricDesc{"rigwatch_config_restart_required", MetricType::kGauge,
               "1 when the last config reload changed keys that apply only "
               "after a restart (logged as config_reload_needs_restart).",
               ""},
    MetricDesc{"rigwatch_loop_last_beat_timestamp_seconds", MetricType::kGauge,
               "Unix time a background loop last showed it is alive (the "
               "oldest of the loops of that name).",
               "loop"},
    MetricDesc{"rigwatch_loop_stuck", MetricType::kGauge,
               "1 while a background loop has not beaten within its bound "
               "(then /healthz answers 503 and the systemd watchdog is not "
               "fed).",
               "loop"},
};

// The store's self metrics (Store::SelfMetrics) documented for /metrics.
constexpr std::array kStoreMetricsTable = {
    MetricDesc{"rigwatch_store_size_bytes", MetricType::kGauge,
               "Bytes the store occupies on disk.", ""},
    MetricDesc{"rigwatch_store_samples_written_total", MetricType::kCounter,
               "Samples written to the store.", ""},
    MetricDesc{"rigwatch_store_dropped_samples_total", MetricType::kCounter,
               "Samples not stored: queue full, writes paused, or late.", ""},
    MetricDesc{
        "rigwatch_store_late_samples_total", MetricType::kCounter,
        "Samples dropped because they arrived more than 24 h after their "
        "hour, or after their day was deleted.",
        ""},
    MetricDesc{"rigwatch_store_writes_paused", MetricType::kGauge,
               "1 while writes are paused because free disk is below "
               "storage.min_free_bytes.",
               ""},
    MetricDesc{"rigwatch_store_free_bytes", MetricType::kGauge,
               "Free bytes on the store's filesystem.", ""},
    MetricDesc{"rigwatch_store_min_free_bytes", MetricType::kGauge,
               "storage.min_free_bytes: store writes pause below this much "
               "free disk.",
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
constexpr std::string_view kLoopsTarget = "\x01loops";

std::optional<HttpTlsOptions> ToHttpTls(const std::optional<HttpTlsConfig>& c) {
  if (!c) return std::nullopt;
  using CA = HttpTlsOptions::ClientAuth;
  HttpTlsOptions t;
  t.cert_file = c->cert_file;
  t.key_file = c->key_file;
  t.priorities = c->priorities;
  t.client_ca_file = c->client_ca_file;
  switch (c->client_auth_type) {
    case TlsClientAuth::kNoClientCert:
      t.client_auth = CA::kNoClientCert;
      break;
    case TlsClientAuth::kRequestClientCert:
      t.client_auth = CA::kRequestClientCert;
      break;
    case TlsClientAuth::kRequireAnyClientCert:
      t.client_auth = CA::kRequireAnyClientCert;
      break;
    case TlsClientAuth::kVerifyClientCertIfGiven:
      t.client_auth = CA::kVerifyClientCertIfGiven;
      break;
    case TlsClientAuth::kRequireAndVerifyClientCert:
      t.client_auth = CA::kRequireAndVerifyClientCert;
      break;
  }
  return t;
}

// Lets the HTTP server hold many idle connections (slow or keep-alive
// clients): the soft descriptor limit up to the hard one.
void RaiseFileLimit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= rl.rlim_max) return;
  const rlim_t before = rl.rlim_cur;
  rl.rlim_cur = std::min<rlim_t>(rl.rlim_max, 65536);
  if (rl.rlim_cur > before && setrlimit(RLIMIT_NOFILE, &rl) == 0) {
    LogDebug("file_limit_raised")
        .Kv("from", static_cast<uint64_t>(before))
        .Kv("to", static_cast<uint64_t>(rl.rlim_cur));
  }
}

AuthSettings ToAuthSettings(const HttpConfig& c) {
  AuthSettings a;
  auto role = [](bool admin) { return admin ? Role::kAdmin : Role::kRead; };
  for (const BasicAuthUser& u : c.basic_auth_users) {
    a.users.push_back({u.name, u.bcrypt_hash, role(u.admin)});
  }
  for (const HttpTokenConfig& t : c.tokens) {
    a.tokens.push_back({t.name, t.token, role(t.admin)});
  }
  // Default: a loopback listener is reached only from this machine, where
  // whoever can run `rigwatch mute` may as well.
  Result<HostPort> hp = ParseHostPort(c.listen, 0);
  a.allow_loopback_admin =
      c.allow_loopback_admin.value_or(hp.ok() && IsLoopbackAddress(hp->host));
  return a;
}

void LogAuthSettings(const AuthSettings& a) {
  int admins = 0;
  for (const HttpUser& u : a.users) admins += u.role == Role::kAdmin;
  for (const HttpToken& t : a.tokens) admins += t.role == Role::kAdmin;
  LogInfo("http_auth")
      .Kv("users", static_cast<uint64_t>(a.users.size()))
      .Kv("tokens", static_cast<uint64_t>(a.tokens.size()))
      .Kv("admins", admins)
      .Kv("allow_loopback_admin", a.allow_loopback_admin);
  if (admins == 0 && !a.allow_loopback_admin) {
    LogWarn("http_mutations_disabled")
        .Kv("reason",
            "no admin credential and http.allow_loopback_admin is false");
  }
}

Result<actions::ActionsOptions> ToActionsOptions(const Config& c) {
  actions::ActionsOptions o;
  o.restart.cooldown = c.actions.restart_cooldown;
  o.restart.max_attempts = c.actions.restart_max_attempts;
  o.restart.window = c.actions.restart_window;
  o.restart.grace = c.actions.restart_grace;
  o.restart.miner_timeout = c.scrape.timeout * 2;
  for (const HostServiceConfig& s : c.host.services) {
    if (s.restart.empty()) continue;  // watched only
    o.services.push_back({s.name, s.restart, s.timeout, s.start_timeout, {}});
  }
  o.guard.fraction = c.actions.guard_fraction;
  o.guard.min_failed = static_cast<std::size_t>(c.actions.guard_min_failed);
  o.guard.rounds = c.actions.guard_for;
  const SmtpConfig& m = c.notify.smtp;
  if (!m.to.empty()) {
    RW_ASSIGN_OR_RETURN(o.smtp, ToSmtpOptions(m));
  }
  o.alertmanager.url = c.notify.alertmanager.url;
  o.group_wait = c.notify.group_wait;
  o.repeat_interval = c.notify.repeat_interval;
  o.external_url = LinkBaseUrl(c.notify, c.http);
  return o;
}

// Everything ToActionsOptions reads: a change rebuilds the actions.
bool ActionsInputsDiffer(const Config& a, const Config& b) {
  return a.notify != b.notify || a.actions != b.actions ||
         a.host.services != b.host.services ||
         a.scrape.timeout != b.scrape.timeout;
}

std::unique_ptr<host::Exporter> MakeHostExporter(const HostConfig& h,
                                                 Clock* clock) {
  if (!h.enabled) return nullptr;
  host::Options ho;
  ho.root = h.root;
  ho.filesystems = h.filesystems;
  ho.clock = clock;
  return std::make_unique<host::Exporter>(ho);
}

// The scheduler for `b`, started; null when scheduled backups are off.
std::unique_ptr<backup::BackupScheduler> StartBackups(
    store::Snapshotter* snapshots, const BackupConfig& b, Clock* clock) {
  if (snapshots == nullptr || b.every.count() <= 0) return nullptr;
  backup::BackupOptions bo;
  bo.dir = b.dir;
  bo.after_command = b.after_command;
  auto s = std::make_unique<backup::BackupScheduler>(snapshots, bo, b.every,
                                                     b.keep, clock);
  // Check at least every 30 s, and often enough for short schedules.
  s->Start(
      std::min<std::chrono::milliseconds>(std::chrono::seconds(30), b.every));
  return s;
}

std::string JoinNames(const std::vector<std::string>& v) {
  std::string out;
  for (const std::string& n : v) out += (out.empty() ? "" : ",") + n;
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
  RW_ASSIGN_OR_RETURN(
      store_, store::OpenRocksStore(
                  ToStoreOptions(config_.storage, store::OpenMode::kReadWrite,
                                 options_.repair_store),
                  &snapshots_));
  LogInfo("store_opened").Kv("path", config_.storage.path);
  return Status::Ok();
}

namespace {
std::vector<std::string> SelectedMetrics(const rules::RuleSet& set) {
  std::vector<std::string> out;
  for (const rules::Rule& r : set.rules) {
    for (std::string& m : r.Metrics()) out.push_back(std::move(m));
  }
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

Result<std::shared_ptr<actions::Actions>> Agent::MakeActions(const Config& c) {
  RW_ASSIGN_OR_RETURN(actions::ActionsOptions o, ToActionsOptions(c));
  // A service with a check is probed before and after its restart.
  for (actions::HostService& h : o.services) {
    auto cfg = std::find_if(
        c.host.services.begin(), c.host.services.end(),
        [&](const HostServiceConfig& s) { return s.name == h.name; });
    if (cfg == c.host.services.end() || cfg->check.kind.empty()) continue;
    services::ServiceMonitor* mon = services_.get();
    h.probe = [mon, name = h.name](std::string* why) {
      std::optional<services::CheckResult> r = mon->CheckNow(name);
      if (r && !r->up) *why = r->error;
      return r && r->up;
    };
  }
  Pipeline* pipeline = pipeline_.get();
  o.last_error = [pipeline](const std::string& target) -> std::string {
    std::optional<PollError> e = pipeline->poll_errors().Last(target);
    if (!e) return "";
    return e->result + " at " + FormatRfc3339(e->time) + ": " + e->text +
           (e->failing ? "" : " (it has answered since)");
  };
  rules::RuleEngine* engine = rules_.get();
  o.active_alerts = [engine] {
    std::vector<actions::Transition> out;
    for (const rules::AlertView& a : engine->Alerts(false)) {
      actions::Transition t;
      t.rule = a.rule;
      t.target = a.target;
      t.labels = a.labels;
      t.from = Level::kGreen;
      t.to = a.level;
      t.value = a.value;
      t.value_metric = a.value_metric;
      t.threshold = a.threshold;
      t.threshold_value = a.threshold_value;
      t.since = a.since;
      t.severity = a.severity;
      t.actions = a.actions;
      t.muted = a.muted;
      t.description = a.description;
      out.push_back(std::move(t));
    }
    return out;
  };
  RW_ASSIGN_OR_RETURN(std::unique_ptr<actions::Actions> a,
                      actions::Actions::Create(
                          std::move(o), clock_, store_.get(), pipeline_.get(),
                          [engine](const std::string& target, Duration d) {
                            Status s = engine->StartGrace(target, d);
                            if (!s.ok())
                              LogWarn("grace_not_persisted").Kv("err", s);
                          }));
  return std::shared_ptr<actions::Actions>(std::move(a));
}

Status Agent::StartActions() {
  RW_ASSIGN_OR_RETURN(std::shared_ptr<actions::Actions> a,
                      MakeActions(config_));
  a->Start();
  pipeline_->Connect(rules_.get(), std::move(a));
  return Status::Ok();
}

std::shared_ptr<actions::Actions> Agent::CurrentActions() const {
  return pipeline_ ? pipeline_->actions() : nullptr;
}

Status Agent::StartPoller() {
  RW_ASSIGN_OR_RETURN(std::unique_ptr<Poller> p,
                      Poller::Start(ToPollerOptions(config_.scrape), *pipeline_,
                                    registry_.get(), *clock_, &FindExporter));
  {
    std::lock_guard<std::mutex> l(targets_mu_);
    poller_ = std::move(p);
    target_files_ = std::make_unique<TargetFiles>(config_.miner_files);
  }
  ApplyTargets(true);
  return Status::Ok();
}

Status Agent::StartHttp() {
  HttpServerOptions ho;
  ho.listen = config_.http.listen;
  ho.threads = config_.http.threads;
  ho.request_timeout = config_.http.read_timeout;
  ho.handler_timeout = config_.http.handler_timeout;
  ho.auth = ToAuthSettings(config_.http);
  LogAuthSettings(ho.auth);
  ho.on_mutation = [this](const MutationRecord& r) { RecordMutation(r); };
  ho.tls = ToHttpTls(config_.http.tls);
  RaiseFileLimit();
  http_ = std::make_unique<HttpServer>(ho);
  api::RegisterRoutes(*http_, *this);
  RW_RETURN_IF_ERROR(http_->Start());
  LogInfo("http_listening")
      .Kv("address", http_->BoundAddress())
      .Kv("scheme", ho.tls ? "https" : "http");
  return Status::Ok();
}

Status Agent::Start() {
  Result<LogLevel> level = ParseLogLevel(config_.log.level);
  if (level.ok()) SetLogLevel(*level);
  host_ = MakeHostExporter(config_.host, clock_);
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
  if (s.ok()) s = StartPoller();
  if (s.ok()) {
    pipeline_->SetPoller(poller_);
    pipeline_->SetStallBound(
        PeriodicWorker::StallBoundFor(config_.scrape.interval));
    pipeline_->Start();
    pipeline_started_ = true;
    services_->Start();
    s = StartHttp();
  }
  if (!s.ok()) {
    Stop();
    return s;
  }
  {
    std::lock_guard<std::mutex> l(backup_mu_);
    backups_ = StartBackups(snapshots_, config_.backup, clock_);
  }
  collector_.SetStallBound(
      PeriodicWorker::StallBoundFor(config_.scrape.interval));
  collector_.Start();
  return Status::Ok();
}

void Agent::Stop() {
  {
    std::lock_guard<std::mutex> l(stop_mu_);
    if (stopped_) return;
    stopped_ = true;
  }
  // A restart in progress (a rule's, or one asked for by hand in an HTTP
  // handler) and a service check stop waiting at once, so no step below
  // waits for them.
  if (auto a = CurrentActions()) a->Interrupt();
  if (services_) services_->Interrupt();
  // Stop accepting first; the server waits for handlers running.
  if (http_) http_->Stop();
  collector_.Stop();
  // No more judging, then no more actions, then no more polls.
  if (pipeline_) pipeline_->Stop();
  if (auto a = CurrentActions()) a->Stop();
  if (services_) services_->Stop();
  if (pipeline_) pipeline_->SetPoller(nullptr);
  {
    std::lock_guard<std::mutex> l(targets_mu_);
    poller_.reset();  // in-flight exchanges aborted
  }
  {
    std::lock_guard<std::mutex> l(backup_mu_);
    if (backups_) backups_->Stop();
  }
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
      Result<MinerTarget> t = ToMinerTarget(m);
      if (!t.ok()) continue;  // validated at load; cannot happen
      targets.push_back(std::move(t).value());
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
  target_names_ = std::move(names);
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

Status Agent::Reload(Config config) {
  std::lock_guard<std::mutex> reload_lock(reload_mu_);
  Config running;
  {
    std::lock_guard<std::mutex> l(config_mu_);
    running = config_;
  }
  size_t watched;
  {
    std::lock_guard<std::mutex> l(targets_mu_);
    watched = target_names_.size();
  }
  if (std::string why = ReloadRefusal(config, watched); !why.empty()) {
    LogWarn("config_reload_refused").Kv("file", config.file).Kv("reason", why);
    return FailedPreconditionError(config.file + ": reload refused: " + why);
  }
  const std::vector<std::string> restart_keys =
      RestartOnlyChanges(running, config);
  KeepRestartOnly(running, &config);
  if (!restart_keys.empty()) {
    LogWarn("config_reload_needs_restart")
        .Kv("keys", JoinNames(restart_keys))
        .Kv("effect", "kept their running values until the agent restarts");
  }
  restart_required_ = !restart_keys.empty();

  std::vector<std::string> changed;  // sections applied, for the log
  if (rules_) {
    Result<rules::RuleSet> set = rules::LoadRuleFiles(config.rule_files);
    if (!set.ok()) {
      LogError("rules_reload_rejected").Kv("err", set.status());
      LogWarn("rules_reload_kept_old");
      config.rule_files = running.rule_files;
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
  if (http_) {
    // Token files are read with the config, so every reload re-reads them.
    AuthSettings auth = ToAuthSettings(config.http);
    LogAuthSettings(auth);
    http_->auth().SetSettings(std::move(auth));
    if (config.http != running.http) changed.push_back("http");
    // The certificate files' contents (http.tls settings need a restart).
    // A failure is logged by the server, which keeps the pair it has.
    http_->ReloadTlsIfChanged().IgnoreError("logged; old certificate kept");
  }
  if (config.log != running.log) {
    Result<LogLevel> level = ParseLogLevel(config.log.level);
    if (level.ok()) SetLogLevel(*level);
    changed.push_back("log");
  }
  if (config.scrape != running.scrape && poller_) {
    if (ReloadPoller(config)) {
      changed.push_back("scrape");
    } else {
      config.scrape = running.scrape;
    }
  }
  if (ActionsInputsDiffer(running, config) && CurrentActions()) {
    if (ReloadActions(config)) {
      changed.push_back("notify/actions");
    } else {
      config.notify = running.notify;
      config.actions = running.actions;
      config.host.services = running.host.services;
    }
  }
  if (config.host.enabled != running.host.enabled ||
      config.host.root != running.host.root ||
      config.host.filesystems != running.host.filesystems) {
    ReloadHost(config.host);
    changed.push_back("host");
  }
  if (config.backup != running.backup && store_) {
    ReloadBackups(config.backup);
    changed.push_back("backup");
  }
  bool files_changed = config.miner_files != running.miner_files;
  if (files_changed || config.miners != running.miners) {
    changed.push_back("miners");
  }
  {
    std::lock_guard<std::mutex> l(config_mu_);
    config_ = std::move(config);
    LogInfo("config_reloaded")
        .Kv("file", config_.file)
        .Kv("miners", static_cast<int64_t>(config_.miners.size()))
        .Kv("changed", changed.empty() ? "none" : JoinNames(changed));
  }
  if (poller_) {
    if (files_changed) {
      std::lock_guard<std::mutex> targets_lock(targets_mu_);
      std::lock_guard<std::mutex> l(config_mu_);
      target_files_ = std::make_unique<TargetFiles>(config_.miner_files);
    }
    ApplyTargets(true);
  }
  return Status::Ok();
}

bool Agent::ReloadPoller(const Config& next) {
  Result<std::unique_ptr<Poller>> p =
      Poller::Start(ToPollerOptions(next.scrape), *pipeline_, registry_.get(),
                    *clock_, &FindExporter);
  if (!p.ok()) {
    LogError("scrape_reload_rejected").Kv("err", p.status());
    return false;
  }
  std::shared_ptr<Poller> old;
  {
    std::lock_guard<std::mutex> l(targets_mu_);
    old = std::move(poller_);
    poller_ = std::move(*p);
    pipeline_->SetPoller(poller_);
  }
  // Loops paced by the scrape interval are stuck only past 5 intervals.
  const Duration bound = PeriodicWorker::StallBoundFor(next.scrape.interval);
  pipeline_->SetStallBound(bound);
  collector_.SetStallBound(bound);
  // The old poller stops here (its exchanges aborted) unless a restart is
  // still using it; the targets go to the new one when the caller applies
  // them. Miner state (backoff, breaker) starts afresh.
  old.reset();
  return true;
}

bool Agent::ReloadActions(const Config& next) {
  // Validate before anything stops: a refused SMTP section keeps the old.
  Result<actions::ActionsOptions> o = ToActionsOptions(next);
  if (o.ok() && o->smtp) {
    Status v = actions::ValidateSmtpOptions(*o->smtp);
    if (!v.ok()) o = v;
  }
  if (!o.ok()) {
    LogError("actions_reload_rejected").Kv("err", o.status());
    return false;
  }
  // The old actions stop first, so their outbox sender and the new one
  // never deliver the same entry; what they queued meanwhile is durable
  // and the new ones load it. The restart journal carries over the same
  // way.
  std::shared_ptr<actions::Actions> old = CurrentActions();
  old->Stop();
  Result<std::shared_ptr<actions::Actions>> a = MakeActions(next);
  if (!a.ok()) {
    LogError("actions_reload_rejected").Kv("err", a.status());
    old->Start();
    return false;
  }
  (*a)->Start();
  pipeline_->SetActions(*a);
  return true;
}

void Agent::ReloadHost(const HostConfig& next) {
  std::unique_ptr<host::Exporter> h = MakeHostExporter(next, clock_);
  std::lock_guard<std::mutex> l(host_mu_);
  host_ = std::move(h);
}

void Agent::ReloadBackups(const BackupConfig& next) {
  std::unique_ptr<backup::BackupScheduler> old;
  {
    std::lock_guard<std::mutex> l(backup_mu_);
    old = std::move(backups_);
  }
  // A backup in progress finishes first; the new schedule continues from
  // the newest backup in its directory.
  if (old) old->Stop();
  old.reset();
  std::unique_ptr<backup::BackupScheduler> b =
      StartBackups(snapshots_, next, clock_);
  std::lock_guard<std::mutex> l(backup_mu_);
  backups_ = std::move(b);
}

std::string Agent::HttpAddress() const {
  return http_ ? http_->BoundAddress() : std::string();
}

std::vector<std::string> Agent::StuckLoops() const {
  std::set<std::string> stuck;
  for (const PeriodicWorker::LoopStatus& s : PeriodicWorker::Loops()) {
    if (s.stuck) stuck.insert(s.name);
  }
  return {stuck.begin(), stuck.end()};
}

Duration Agent::CollectTick() {
  // Between rounds, not before the first: Start() has applied the targets.
  if (collected_once_ && pipeline_started_) ApplyTargets(false);
  // Renewed certificates are picked up without a SIGHUP, too.
  if (http_) {
    http_->ReloadTlsIfChanged().IgnoreError("logged; old certificate kept");
  }
  CollectOnce();
  collected_once_ = true;
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
  Samples store_self;
  if (store_) store_self = store_->SelfMetrics();
  std::unique_lock<std::mutex> host_lock(host_mu_);
  if (host_) {
    host::Scrape scrape = host_->Collect();
    host_lock.unlock();
    // The store's disk figures are judged on the host target (the shipped
    // store_disk_low rule), without being exported twice.
    Samples for_rules;
    for (const Sample& s : store_self) {
      if (s.name == "rigwatch_store_free_bytes" ||
          s.name == "rigwatch_store_min_free_bytes") {
        for_rules.push_back(s);
      }
    }
    if (pipeline_) {
      pipeline_->OnHostSamples(clock_->Now(), scrape.samples, for_rules);
    }
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
                    static_cast<double>(http_->auth().failures())});
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
  self.push_back({"rigwatch_config_restart_required",
                  {},
                  restart_required_.load() ? 1.0 : 0.0});
  std::unique_lock<std::mutex> backup_lock(backup_mu_);
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
  backup_lock.unlock();
  if (store_) live_->Update(kStoreTarget, "", store_self);
  if (std::shared_ptr<actions::Actions> a = CurrentActions()) {
    self.push_back(
        {"rigwatch_fleet_unreachable", {}, a->fleet_down() ? 1.0 : 0.0});
    live_->Update(kActionsTarget, "", a->SelfMetrics());
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
  // Loop heartbeats are read now, not by the collector: a stuck collector
  // must show too.
  std::map<std::string, PeriodicWorker::LoopStatus> loops;
  for (PeriodicWorker::LoopStatus& s : PeriodicWorker::Loops()) {
    auto [it, fresh] = loops.emplace(s.name, s);
    if (!fresh && s.since > it->second.since) it->second = std::move(s);
  }
  Samples beats;
  for (const auto& [name, s] : loops) {
    beats.push_back({"rigwatch_loop_last_beat_timestamp_seconds",
                     {{"loop", name}},
                     ToUnixSeconds(s.last_beat)});
    beats.push_back(
        {"rigwatch_loop_stuck", {{"loop", name}}, s.stuck ? 1.0 : 0.0});
  }
  live_->Update(kLoopsTarget, "", beats);
  live_->Render(&out);
  return out;
}

}  // namespace rigwatch
