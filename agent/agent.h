// The Agent wires every component from a Config and owns their lifetimes.
// Members are declared in dependency order, so destruction (reverse order)
// stops consumers before what they consume.
#ifndef RIGWATCH_AGENT_AGENT_H_
#define RIGWATCH_AGENT_AGENT_H_

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>

#include "agent/common/clock.h"
#include "agent/common/status.h"
#include "agent/config/config.h"
#include "exporters/sample.h"

namespace prometheus {
class Registry;
}

namespace rigwatch {

class HttpServer;
class LiveState;
namespace host {
class Exporter;
}

// The agent's own series (rigwatch_*) rendered from LiveState.
std::span<const MetricDesc> AgentMetricDescs();

class Agent {
 public:
  explicit Agent(Config config, Clock* clock = SystemClock::Default());
  ~Agent();
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

  // Starts every component; on error nothing is left running.
  Status Start();
  // Stops accepting, finishes in-flight work, flushes. Idempotent.
  void Stop();

  // Applies a new, already validated config. What can change live (miners,
  // rules, users, log level, host filesystems) changes; what cannot (listen
  // address, storage path) is logged as needing a restart.
  void Reload(Config config);

  // "host:port" the HTTP server is bound to.
  std::string HttpAddress() const;
  bool Ready() const { return ready_.load(); }

 private:
  void CollectLoop();
  void CollectOnce();
  std::string RenderMetrics() const;
  void RegisterRoutes();

  Clock* clock_;
  mutable std::mutex config_mu_;
  Config config_;
  const double start_time_;
  std::atomic<bool> ready_{false};

  // The agent's own counters and histograms (prometheus-cpp); miner and host
  // series live in LiveState, rendered without per-series objects.
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<LiveState> live_;
  std::unique_ptr<host::Exporter> host_;
  std::unique_ptr<HttpServer> http_;

  std::mutex loop_mu_;
  std::condition_variable loop_cv_;
  bool stopping_ = false;
  std::thread collector_;
};

}  // namespace rigwatch

#endif  // RIGWATCH_AGENT_AGENT_H_
