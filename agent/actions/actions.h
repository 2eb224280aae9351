// The actions component's front door: the agent creates one Actions, feeds
// it rule transitions and poll-round reports, and reads its self metrics.
//
//   auto actions = Actions::Create(opts, clock, kv, poller, grace_sink);
//   (*actions)->Start();
//   ... (*actions)->OnTransition(t); (*actions)->OnRound(n, failed_names);
//   (*actions)->Stop();
//
// Restarts run on a worker thread behind a bounded queue; mails and
// Alertmanager pushes go through the durable outbox and its sender thread.
// Nothing here blocks the caller for longer than a DurableKv write.
#ifndef RIGWATCH_AGENT_ACTIONS_ACTIONS_H_
#define RIGWATCH_AGENT_ACTIONS_ACTIONS_H_

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <stop_token>
#include <vector>

#include "agent/actions/alertmanager.h"
#include "agent/actions/counters.h"
#include "agent/actions/fleet_guard.h"
#include "agent/actions/notifier.h"
#include "agent/actions/outbox.h"
#include "agent/actions/restart.h"
#include "agent/actions/smtp.h"
#include "agent/actions/types.h"
#include "agent/common/kv.h"
#include "agent/common/periodic_worker.h"
#include "exporters/sample.h"

namespace rigwatch::actions {

struct ActionsOptions {
  RestartOptions restart;
  std::vector<HostService> services;
  FleetGuardOptions guard;
  std::optional<SmtpOptions> smtp;   // absent: no mail
  AlertmanagerOptions alertmanager;  // empty url: no Alertmanager
  Duration group_wait = std::chrono::seconds(30);
  Duration repeat_interval = std::chrono::hours(4);
  std::string external_url;
  std::string alert_template = std::string(kDefaultAlertTemplate);
  OutboxOptions outbox;
  std::size_t restart_queue = 256;  // pending restarts; beyond: dropped
  // The target's last poll error as one line for mails; may be empty.
  std::function<std::string(const std::string& target)> last_error;
  // Every yellow and red state the rules engine holds, as the transition
  // into its level, asked once at Create to reconcile the notifier's
  // restored state (cleared or entered while the agent was dying); may be
  // empty.
  std::function<std::vector<Transition>()> active_alerts;
};

// The self metrics Actions exports (HELP texts are the documentation).
extern const MetricDesc kActionsMetrics[4];

class Actions {
 public:
  // Validates options, loads the restart journal (pending entries become
  // "unknown", never re-sent), the outbox and the notifier's alert state
  // (active alerts are pushed to Alertmanager again at once). `clock`, `kv` and
  // `miners` must outlive the Actions; `miners` may be null when no miner
  // restarts.
  static Result<std::unique_ptr<Actions>> Create(ActionsOptions options,
                                                 Clock* clock, DurableKv* kv,
                                                 MinerRestarter* miners,
                                                 GraceSink grace);
  ~Actions();  // Stop()s

  // Thread-safe and non-blocking: updates the notifier and queues a restart
  // when the transition asks for one.
  void OnTransition(const Transition& t);

  // A configured target: its restart counter is exported at 0 from now on
  // (rigwatch_restarts_total{miner,result="ok"}). Thread-safe, cheap.
  void KnowTarget(const std::string& target) { restarts_.Touch(target, "ok"); }

  // A miner restart asked for by name (`rigwatch miner restart`), in the
  // caller's thread: see Restarter::RequestManual. Thread-safe.
  Restarter::Outcome RestartByName(const std::string& miner, bool force) {
    return restarter_.RequestManual(miner, force, guard_.tripped());
  }

  // Host services (Restarter::Reset / GaveUp). Thread-safe.
  Status ResetService(const std::string& name) {
    return restarter_.Reset(name);
  }
  bool ServiceGaveUp(const std::string& name) const {
    return restarter_.GaveUp(name);
  }
  std::optional<Restarter::LastRestart> LastServiceRestart(
      const std::string& name) const {
    return restarter_.LastRestartOf(name);
  }

  // The rules finished a round: the notifier's changes are persisted now, in
  // one batch (Tick does it too, within a second). Thread-safe.
  void CommitRound();

  // One poll round: how many targets are configured and which failed.
  // Targets rigwatch restarted (grace window) or that were red before the
  // round do not count as new failures for the fleet guard. Thread-safe.
  void OnRound(std::size_t targets, const std::vector<std::string>& failed);

  // Starts / stops the restart worker and the outbox sender. Stop lets a
  // restart in progress finish (a reload must not cut a service's restart
  // command short) unless Interrupt() came first.
  void Start();
  void Stop();
  // The agent is stopping: a restart in progress, on the worker or asked
  // for by hand in an HTTP handler, stops waiting within about a second
  // (Restarter::Interrupt). Final: later restarts are interrupted at once.
  void Interrupt() { restarter_.Interrupt(); }

  // Without threads (tests): runs the queued restarts, then one notifier
  // tick, then one outbox run.
  void RunOnce();

  bool fleet_down() const { return guard_.tripped(); }
  std::size_t outbox_pending() const { return outbox_.pending(); }
  const CounterFamily2& restarts() const { return restarts_; }
  const CounterFamily2& notifications() const { return notifications_; }

  // rigwatch_restarts_total{miner,result},
  // rigwatch_notifications_total{channel,result}, rigwatch_outbox_pending,
  // rigwatch_actions_dropped_total{queue}.
  Samples SelfMetrics() const;

 private:
  Actions(ActionsOptions options, Clock* clock, DurableKv* kv,
          MinerRestarter* miners, GraceSink grace);
  void DrainRestarts(std::stop_token st);
  void ReleaseHeld();
  void QueueDueRetries();
  // One run of the worker thread: held restarts, queued restarts, then the
  // notifier's timers; every second, or at once when a restart is queued.
  void WorkerTick(std::stop_token st);
  void HandleNotice(const Notice& n);
  // At Create: the guard's restored state against the notifier's record of
  // its notices; a notice the guard persisted and the notifier never
  // recorded goes out now.
  void ReconcileFleet();
  // The fleet guard's excuse: in a restart's grace window, or red.
  bool Excused(const std::string& target);

  const ActionsOptions opt_;
  Clock* clock_;
  // Counters first: the parts below hold pointers to them.
  CounterFamily2 restarts_{"rigwatch_restarts_total", "miner", "result"};
  CounterFamily2 notifications_{"rigwatch_notifications_total", "channel",
                                "result"};
  std::atomic<uint64_t> restart_queue_dropped_{0};
  Outbox outbox_;
  std::unique_ptr<SmtpMailChannel> smtp_channel_;
  std::unique_ptr<AlertmanagerChannel> am_channel_;
  Notifier notifier_;
  FleetGuard guard_;
  Restarter restarter_;

  std::mutex mu_;
  std::deque<Transition> queue_;
  // Restarts the guard suppressed, per (rule, target). After the fleet recovers
  // they are retried once the rules had group_wait to see the targets
  // again, unless the target turned green meanwhile.
  std::map<std::string, Transition> held_;
  std::optional<SteadyTime> release_held_at_;
  // Some of held_ were held because the guard was pending (not tripped):
  // released group_wait after it stops pending without tripping.
  bool held_while_pending_ = false;
  std::map<std::string, SteadyTime> grace_until_;      // restarts we sent
  std::map<std::string, int> red_rules_;               // target -> red rules
  std::set<std::pair<std::string, std::string>> red_;  // (rule, target)
  // Service restarts that did not bring the service back, per (rule,
  // target): asked for again once the cooldown has passed, until the
  // service is up, the limit is reached or the rule judges again.
  std::map<std::string, std::pair<Transition, SteadyTime>> retry_;
  // Last: stopped and joined before the state above goes away.
  PeriodicWorker worker_{"actions", [this](std::stop_token st) {
                           WorkerTick(st);
                           return Duration(std::chrono::seconds(1));
                         }};
};

}  // namespace rigwatch::actions

#endif  // RIGWATCH_AGENT_ACTIONS_ACTIONS_H_
