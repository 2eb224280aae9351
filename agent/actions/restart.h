// The restart action: limits per target, a crash-safe journal, grace periods.
//
// Every restart is written to the journal (DurableKv namespace
// "restart_journal") BEFORE it is sent. An entry still "pending" when the
// agent starts means the agent died between journal and outcome: it is
// recorded as "unknown" and never re-sent; it still counts against the
// cooldown and the attempt window, so a crash loop cannot become a restart
// loop.
#ifndef RIGWATCH_AGENT_ACTIONS_RESTART_H_
#define RIGWATCH_AGENT_ACTIONS_RESTART_H_

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <stop_token>
#include <string>
#include <vector>

#include "agent/actions/counters.h"
#include "agent/actions/types.h"
#include "agent/common/clock.h"
#include "agent/common/kv.h"
#include "agent/common/status.h"

namespace rigwatch::actions {

struct RestartOptions {
  Duration cooldown = std::chrono::minutes(10);  // between two attempts
  int max_attempts = 3;                          // within `window`
  Duration window = std::chrono::hours(1);
  Duration grace = std::chrono::minutes(5);  // rules skip the target after
  Duration miner_timeout = std::chrono::seconds(30);
};

// A host service's check as the restarter uses it: true when the service
// is up; otherwise `detail` says why. Runs on the actions worker thread.
using ServiceProbe = std::function<bool(std::string* detail)>;

// A host service restarted through configured argv (no shell). With a
// `probe`, a service that is up is not restarted (result "not_needed"), and
// after a restart the probe runs until the service is up or `start_timeout`
// has passed; a "service_restarted" notice says which. A service that
// reaches the attempt limit is not restarted again until Reset (a person
// acts), unlike a miner, which is tried again once its window has room.
struct HostService {
  std::string name;
  std::vector<std::string> restart;
  Duration timeout = std::chrono::seconds(30);  // of the restart command
  Duration start_timeout = std::chrono::seconds(30);
  ServiceProbe probe;  // may be empty
};

// The journal's storage format, separate so a test can write exactly what a
// crashed agent would have left behind. Thread-compatible.
class RestartJournal {
 public:
  static constexpr std::string_view kNamespace = "restart_journal";
  struct Entry {
    std::string key;
    std::string target;
    WallTime at;
    // "pending", "ok", "failed", "timeout", "unknown", "interrupted", ...
    std::string result;
    // Asked for by hand with --force, past cooldown and limit. Stored as
    // " forced" after the result.
    bool forced = false;
  };
  explicit RestartJournal(DurableKv* kv) : kv_(kv) {}
  // Durably records a pending attempt; returns its key.
  Result<std::string> Begin(const std::string& target, WallTime at,
                            bool forced = false);
  Status Finish(const std::string& key, std::string_view result,
                bool forced = false);
  Status Erase(const std::string& key);
  // Every entry; undecodable ones are skipped and logged.
  Result<std::vector<Entry>> Load();

 private:
  DurableKv* kv_;  // not owned
};

// Decides and performs restarts. Thread-safe: Request may be called from any
// thread but performs the restart in the caller's thread (the Actions worker).
class Restarter {
 public:
  // All pointers must outlive the Restarter. `miners` may be null (then miner
  // restarts fail with result "failed"). `counters` receives
  // rigwatch_restarts_total{miner,result}.
  Restarter(RestartOptions options, std::vector<HostService> services,
            Clock* clock, DurableKv* kv, MinerRestarter* miners,
            GraceSink grace, NoticeSink notices, CounterFamily2* counters);

  // Loads the journal; pending entries become "unknown" (never re-sent).
  // Returns how many were found pending. Call once before Request.
  Result<int> Recover();

  // Handles a transition whose actions include "restart". With `fleet_down`
  // nothing is sent (result "suppressed"). Returns the result label counted:
  // ok, failed, timeout, denied (the miner refused: wrong credentials, API
  // access group), unsupported (the kind cannot restart this firmware),
  // cooldown, limit, suppressed, not_needed, no_such_service, journal_error,
  // for a service whose probe did not pass within start_timeout after its
  // restart, not_back, and interrupted (Interrupt() came while it ran).
  std::string Request(const Transition& t, bool fleet_down);

  // The agent is stopping: a restart in progress stops waiting (a miner's
  // reply, a service command, which gets SIGTERM and a second later
  // SIGKILL, the probe after it) and is journaled and counted as
  // "interrupted"; it does not count against the cooldown or the attempt
  // limit, now or after a restart. Later requests are interrupted at once.
  // Thread-safe; final.
  void Interrupt() { stop_.request_stop(); }

  // A miner restart asked for by name (the API behind `rigwatch miner
  // restart`): journal, cooldown, attempt limit and fleet guard as for a
  // rule's restart; `force` skips the cooldown and the limit (not the
  // guard) and is journaled as forced. Blocks for the restart. `reason`
  // says in a sentence why a restart was not sent or failed.
  struct Outcome {
    std::string result;  // as Request's
    std::string reason;
  };
  Outcome RequestManual(const std::string& miner, bool force, bool fleet_down);

  // True when `t` names a configured host service (its restart argv).
  bool ForService(const Transition& t) const { return FindService(t); }

  // The target is green again: a later limit hit notifies again. Host
  // services stay given up until Reset.
  void OnGreen(const std::string& target);

  // The last restart decision about `target` (a miner; "host/<service>")
  // made at or after `since`, as one line for a mail ("restart sent at
  // 2026-12-04T03:10:00Z: the miner accepted it"); "" when there was none.
  // Restarts journaled before an agent restart count. Thread-safe.
  std::string Describe(const std::string& target, WallTime since) const;

  // A person acted on host service `service`: its attempts, journal and
  // limit are cleared, so rules may restart it again. NotFound for a name
  // that is not a configured service. Thread-safe.
  Status Reset(const std::string& service);
  // True while `service` reached its limit and waits for Reset.
  bool GaveUp(const std::string& service) const;
  // The last restart of `service` (kept in the journal) and its result.
  struct LastRestart {
    WallTime at{};
    std::string result;
  };
  std::optional<LastRestart> LastRestartOf(const std::string& service) const;
  // Where a service's restarts are journaled and counted.
  static std::string ServiceKey(const std::string& service) {
    return "host/" + service;
  }

 private:
  // The decision and the restart for `key` (the miner name, or
  // "host/<service>" with `svc`), after the guard was checked.
  Outcome Attempt(const std::string& key, const Transition& t,
                  const HostService* svc, bool force);
  std::string RunMiner(const std::string& miner, std::string* error);
  // Fills `notice` with the outcome's mail (Attempt sends it once the
  // outcome is recorded).
  std::string RunService(const HostService& svc, const Transition& t,
                         Notice* notice);
  const HostService* FindService(const Transition& t) const;
  void Count(const std::string& target, const std::string& result);
  void PruneLocked(WallTime now);

  const RestartOptions opt_;
  const std::vector<HostService> services_;
  Clock* clock_;
  DurableKv* kv_;
  RestartJournal journal_;
  MinerRestarter* miners_;
  GraceSink grace_;
  NoticeSink notices_;
  CounterFamily2* counters_;

  mutable std::mutex mu_;
  std::map<std::string, std::vector<WallTime>> attempts_;  // per target
  std::set<std::string> limit_notified_;  // persisted in "restart_limit"
  // Actual restarts per target, from the journal (LastRestartOf).
  std::map<std::string, LastRestart> last_restart_;

  using Decision = LastRestart;
  mutable std::mutex last_mu_;  // after mu_ when both are held
  // The latest decision per target, sent or not (Describe), and the reason
  // a miner gave for refusing it (denied, unsupported).
  std::map<std::string, Decision> last_decision_;
  std::map<std::string, std::string> last_reason_;

  std::stop_source stop_;  // Interrupt()
};

}  // namespace rigwatch::actions

#endif  // RIGWATCH_AGENT_ACTIONS_RESTART_H_
