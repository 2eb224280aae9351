// The service monitor: runs every configured host service's check on its
// interval (one PeriodicWorker, one check at a time), keeps each service's
// last outcome for the API, and hands each check's samples to a sink:
//   rigwatch_service_up{service}                       1 up, 0 down
//   rigwatch_service_check_duration_seconds{service}   the check's latency
//   node_systemd_unit_state{name,state,type}           systemd checks only
//
//   ServiceMonitor m(config.host.services, clock, sink);
//   m.Start(); ... m.States(); m.CheckNow("web"); ... m.Stop();
#ifndef RIGWATCH_AGENT_SERVICES_MONITOR_H_
#define RIGWATCH_AGENT_SERVICES_MONITOR_H_

#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <stop_token>
#include <string>
#include <vector>

#include "agent/common/clock.h"
#include "agent/common/periodic_worker.h"
#include "agent/config/config.h"
#include "agent/services/check.h"
#include "exporters/sample.h"

namespace rigwatch::services {

// HELP/TYPE of the series above.
std::span<const MetricDesc> MetricDescs();

// One service as the API shows it.
struct ServiceState {
  std::string name;
  std::string check;     // the check's kind; empty when it has none
  bool checked = false;  // a check has run
  bool up = false;
  std::string error;  // the last failure's text (kept after recovery)
  std::optional<WallTime> last_check;
  std::optional<WallTime> last_failure;
  double duration_seconds = 0;
  std::string active_state, sub_state, via;  // systemd checks
  // Filled by the agent from the restarter.
  std::optional<WallTime> last_restart;
  std::string last_restart_result;
  bool restarts_given_up = false;
};

class ServiceMonitor {
 public:
  // Called on the thread that ran the check, without the monitor's lock.
  using Sink = std::function<void(const std::string& service, WallTime time,
                                  const Samples& samples)>;

  // `clock` must outlive the monitor.
  ServiceMonitor(std::vector<HostServiceConfig> services, Clock* clock,
                 Sink sink, CheckEnv env = {});
  ~ServiceMonitor();  // Stop()s

  void Start();
  void Stop();
  // The agent is stopping: a check running now (scheduled, or CheckNow for
  // a restart) ends at once, later ones are not run. Final; any thread.
  void Interrupt() { interrupt_.request_stop(); }

  // Runs `name`'s check now (any thread; the restart verification uses it)
  // and publishes the outcome like a scheduled check. Empty when the
  // service is unknown or has no check.
  std::optional<CheckResult> CheckNow(const std::string& name);

  bool Has(const std::string& name) const;
  std::vector<ServiceState> States() const;
  // {"services":[{"name","check","checked","up","error","last_check",
  //   "last_failure","check_duration_seconds","active_state","sub_state",
  //   "via","last_restart","last_restart_result"}]}
  static std::string StatesJson(const std::vector<ServiceState>& states);

  // The samples of one check outcome (for tests and the sink).
  static Samples ToSamples(const HostServiceConfig& svc, const CheckResult& r);

 private:
  struct Entry {
    HostServiceConfig config;
    ServiceState state;
    SteadyTime next_due{};
  };
  Duration Tick();
  void Publish(Entry& e, const CheckResult& r);  // mu_ not held
  Entry* Find(const std::string& name);

  Clock* clock_;
  Sink sink_;
  const CheckEnv env_;
  mutable std::mutex mu_;
  std::vector<Entry> entries_;  // fixed size after construction
  std::stop_source interrupt_;  // Interrupt()
  // Last: stopped before the state above goes away.
  PeriodicWorker worker_{"services",
                         [this](std::stop_token) { return Tick(); }};
};

}  // namespace rigwatch::services

#endif  // RIGWATCH_AGENT_SERVICES_MONITOR_H_
