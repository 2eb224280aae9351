#include "agent/agent.h"

#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <array>
#include <chrono>

#include "agent/common/log.h"
#include "agent/http/server.h"
#include "agent/live_state/live_state.h"
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
    MetricDesc{"rigwatch_collector_success", MetricType::kGauge,
               "1 if the collector's last run succeeded, 0 otherwise.",
               "collector"},
    MetricDesc{"rigwatch_collector_duration_seconds", MetricType::kGauge,
               "How long the collector's last run took.", "collector"},
    MetricDesc{"rigwatch_series", MetricType::kGauge,
               "Series currently served on /metrics from the latest-value "
               "table.",
               ""},
};

// LiveState target names of the host and of the agent itself. A miner cannot
// collide with them: miners render under the `miner` label.
constexpr std::string_view kHostTarget = "\x01host";
constexpr std::string_view kSelfTarget = "\x01self";

std::vector<HttpUser> ToHttpUsers(const std::vector<BasicAuthUser>& in) {
  std::vector<HttpUser> out;
  for (const BasicAuthUser& u : in) out.push_back({u.name, u.bcrypt_hash});
  return out;
}

}  // namespace

std::span<const MetricDesc> AgentMetricDescs() { return kAgentMetrics; }

Agent::Agent(Config config, Clock* clock)
    : clock_(clock),
      config_(std::move(config)),
      start_time_(ToUnixSeconds(clock->Now())),
      registry_(std::make_shared<prometheus::Registry>()) {
  live_ = std::make_unique<LiveState>(std::vector<std::span<const MetricDesc>>{
      AgentMetricDescs(), MinerMetricDescs(), host::MetricDescs()});
}

Agent::~Agent() { Stop(); }

Status Agent::Start() {
  const Config& c = config_;
  if (c.host.enabled) {
    host::Options ho;
    ho.root = c.host.root;
    ho.filesystems = c.host.filesystems;
    host_ = std::make_unique<host::Exporter>(ho);
  }

  HttpServerOptions ho;
  ho.listen = c.http.listen;
  ho.threads = c.http.threads;
  ho.request_timeout = c.http.read_timeout;
  ho.users = ToHttpUsers(c.http.basic_auth_users);
  http_ = std::make_unique<HttpServer>(ho);
  RegisterRoutes();
  Status s = http_->Start();
  if (!s.ok()) {
    http_.reset();
    return s;
  }
  LogInfo("http_listening").Kv("address", http_->BoundAddress());

  collector_ = std::thread([this] { CollectLoop(); });
  return Status::Ok();
}

void Agent::Stop() {
  {
    std::lock_guard<std::mutex> l(loop_mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  loop_cv_.notify_all();
  // Stop accepting first; mg_stop waits for requests in flight.
  if (http_) http_->Stop();
  if (collector_.joinable()) collector_.join();
}

void Agent::Reload(Config config) {
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
  if (http_) http_->SetUsers(ToHttpUsers(config.http.basic_auth_users));
  Result<LogLevel> level = ParseLogLevel(config.log.level);
  if (level.ok()) SetLogLevel(*level);
  config_ = std::move(config);
  LogInfo("config_reloaded")
      .Kv("file", config_.file)
      .Kv("miners", static_cast<int64_t>(config_.miners.size()));
}

std::string Agent::HttpAddress() const {
  return http_ ? http_->BoundAddress() : std::string();
}

void Agent::CollectLoop() {
  while (true) {
    CollectOnce();
    ready_ = true;
    std::chrono::milliseconds interval;
    {
      std::lock_guard<std::mutex> l(config_mu_);
      interval = config_.scrape.interval;
    }
    std::unique_lock<std::mutex> l(loop_mu_);
    if (loop_cv_.wait_for(l, interval, [this] { return stopping_; })) return;
  }
}

void Agent::CollectOnce() {
  Samples self;
  self.push_back({"rigwatch_build_info",
                  {{"version", kVersion}, {"revision", kRevision}},
                  1});
  self.push_back({"rigwatch_start_time_seconds", {}, start_time_});
  if (host_) {
    host::Scrape scrape = host_->Collect();
    live_->Update(kHostTarget, "", scrape.samples);
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
  live_->Update(kSelfTarget, "", self);
}

std::string Agent::RenderMetrics() const {
  std::string out;
  live_->Render(&out);
  // prometheus-cpp throws only on misuse (bad names); those are bugs caught
  // by the promtool integration test, so no try/catch here.
  prometheus::TextSerializer serializer;
  out += serializer.Serialize(registry_->Collect());
  return out;
}

void Agent::RegisterRoutes() {
  http_->Handle("/metrics", [this](const HttpRequest&) {
    HttpResponse r;
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.body = RenderMetrics();
    r.gzip_ok = true;
    return r;
  });
  http_->Handle("/healthz", [](const HttpRequest&) {
    return HttpResponse::Text(200, "ok\n");
  });
  http_->Handle("/readyz", [this](const HttpRequest&) {
    return Ready() ? HttpResponse::Text(200, "ready\n")
                   : HttpResponse::Text(503,
                                        "not ready: first collection "
                                        "still running\n");
  });
  http_->Handle("/", [](const HttpRequest& req) {
    if (req.path != "/") return HttpResponse::Text(404, "not found\n");
    HttpResponse r;
    r.content_type = "text/html; charset=utf-8";
    r.body =
        "<!doctype html><html><head><title>rigwatch</title></head><body>"
        "<h1>rigwatch</h1><ul>"
        "<li><a href=\"/metrics\">/metrics</a> Prometheus metrics</li>"
        "<li><a href=\"/healthz\">/healthz</a> liveness</li>"
        "<li><a href=\"/readyz\">/readyz</a> readiness</li>"
        "</ul><p>version " +
        std::string(kVersion) + " (" + kRevision + ")</p></body></html>\n";
    return r;
  });
}

}  // namespace rigwatch
