// Turns rule transitions and notices into mails and Alertmanager pushes,
// all through the durable outbox.
//
// Mail grouping: changes that arrive within group_wait of the first one go
// out as ONE digest; while an alert stays red a reminder goes out every
// repeat_interval; an alert that was mailed and then ends gets a resolved
// mail. Alertmanager gets each alert on every change (it groups by itself),
// re-sent every resend_interval while active, and endsAt=now when resolved.
// While the fleet guard is tripped nothing per target is sent; when it
// recovers, what changed meanwhile goes out in the next digest.
//
// Durable: what the notifier knows about each alert (firing, mailed, when
// the last mail went out, what Alertmanager was told, a digest still being
// grouped) is written to DurableKv namespace "notifier" in one batch per
// rules round and per tick (Persist). After an agent restart Load() brings
// it back: reminders continue on their schedule, alerts Alertmanager knows
// as active are pushed again at once, a clear sends one resolved mail.
// Digest Message-IDs come from a persisted sequence, so a digest queued just
// before a crash and queued again after it has the same Message-ID and the
// outbox drops the copy.
//   alert<US>RULE<US>TARGET -> JSON {"v":1, the Transition, "firing",
//       "mailed", "last_mail_ms", "starts_at_ms", "am_active",
//       "am_severity", "group"}; the fleet guard's alert is one of these
//       (rule rigwatch_fleet_unreachable, target "fleet"), kept while the
//       guard is tripped, also without Alertmanager

//   meta -> JSON {"v":1, "instance", "seq", "group_opened_ms"}
#ifndef RIGWATCH_AGENT_ACTIONS_NOTIFIER_H_
#define RIGWATCH_AGENT_ACTIONS_NOTIFIER_H_

#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "agent/actions/alertmanager.h"
#include "agent/actions/counters.h"
#include "agent/actions/mail.h"
#include "agent/actions/outbox.h"
#include "agent/actions/types.h"
#include "agent/common/clock.h"
#include "agent/common/kv.h"

namespace rigwatch::actions {

struct NotifierOptions {
  bool mail = true;  // false: no mail at all (no smtp configured)
  std::string from;
  std::vector<std::string> to;
  Duration group_wait = std::chrono::seconds(30);
  Duration repeat_interval = std::chrono::hours(4);
  std::string external_url;  // base of links: "http://rig-pi:9842"
  std::string alert_template = std::string(kDefaultAlertTemplate);
  std::string host;  // for Message-IDs and subjects
  bool alertmanager = false;
  Duration am_resend_interval = std::chrono::minutes(1);
  // What rigwatch did about the target since `since` ("restart sent at T:
  // accepted"); "" when nothing. May be empty.
  std::function<std::string(const std::string& target, WallTime since)>
      action_taken;
  // The target's last poll error as one line; "" when none. May be empty.
  std::function<std::string(const std::string& target)> last_error;
};

class Notifier {
 public:
  // Channel names used in the outbox.
  static constexpr const char* kMailChannel = "smtp";
  static constexpr const char* kAmChannel = "alertmanager";
  static constexpr std::string_view kNamespace = "notifier";

  // `clock`, `outbox` and `kv` must outlive the Notifier; with a null `kv`
  // nothing persists. Thread-safe.
  Notifier(NotifierOptions options, Clock* clock, Outbox* outbox,
           DurableKv* kv = nullptr);

  // Reads the state an earlier run persisted and pushes every alert
  // Alertmanager knew as active again. Undecodable entries are logged and
  // dropped. Call once, before the first OnTransition.
  Status Load();

  // After Load: `active` holds every (rule, target) the rules engine has at
  // yellow or red now. A restored alert not in it turned green while the
  // agent was stopping (the rules persisted that, the notifier had not yet):
  // it is resolved now, as if the green transition had come.
  void Reconcile(const std::set<std::pair<std::string, std::string>>& active);

  // After Load, the other half: `active` holds the rules engine's yellow and
  // red states as transitions into their level. Returns those that notify
  // and that the notifier never recorded at that level: the rules persisted
  // the level, the agent died before the notifier persisted the change. The
  // caller treats them as new (OnTransition: mailed once). Changes nothing.
  std::vector<Transition> Unrecorded(
      const std::vector<Transition>& active) const;

  // After Load: what the notifier recorded about the fleet guard. True while
  // its "fleet unreachable" notice went out and no "reachable again" after
  // it.
  bool FleetRecordedDown() const;

  // Writes every change since the last call in one batch. On failure the
  // changes stay queued for the next call. Tick calls it too.
  Status Persist();

  // Records a change. Nothing is sent from here except an Alertmanager
  // update; mails wait for the group to close (Tick).
  void OnTransition(const Transition& t, bool fleet_down);

  // A notice goes out as its own mail at once (not grouped), with a
  // Message-ID from `n.id` when set (the same notice queued twice is
  // delivered once).
  void OnNotice(const Notice& n);

  // The fleet guard changed: kTripped drops per-target changes still waiting
  // in the group; kRecovered queues what changed while it was tripped.
  void OnFleetTripped();
  void OnFleetRecovered();

  // Closes a group that is due, queues due reminders and Alertmanager
  // re-sends. Call about once a second. `hold_group`: the fleet guard is
  // pending; the group stays open until it decides (a trip replaces it).
  void Tick(bool hold_group = false);

  // Mails queued so far (for tests and self metrics).
  int mails_queued() const;

 private:
  using Key = std::pair<std::string, std::string>;  // rule, target
  struct Alert {
    Transition last;
    bool firing = false;      // at a level that notifies
    bool mailed = false;      // a firing mail went out (resolved is due)
    SteadyTime last_mail{};   // firing or reminder mail
    WallTime starts_at{};     // for Alertmanager
    bool am_active = false;   // Alertmanager believes it is firing
    SteadyTime am_last{};     // last push
    std::string am_severity;  // the severity label it was pushed with
  };
  // Numbers are persisted: do not renumber.
  enum class Kind { kFiring = 0, kResolved = 1, kReminder = 2 };

  void AddToGroupLocked(const Key& key, Kind kind, SteadyTime now);
  void FlushGroupLocked();
  // Queues one mail; `message_id` empty: a fresh one.
  void QueueMailLocked(const std::string& subject, const std::string& body,
                       std::string message_id = "");
  Status PersistLocked();
  std::string EncodeLocked(const Key& key, const Alert& a) const;
  bool DecodeLocked(std::string_view value, SteadyTime steady_now,
                    WallTime wall_now);
  void PushAmLocked(const Key& key, Alert& a, bool active);
  std::string RenderAlert(const Alert& a, Kind kind) const;
  void Dirty(const Key& key) { dirty_.insert(key); }

  const NotifierOptions opt_;
  Clock* clock_;
  Outbox* outbox_;
  DurableKv* kv_;

  mutable std::mutex mu_;
  std::map<Key, Alert> alerts_;
  std::map<Key, Kind> group_;  // what the next digest will say
  SteadyTime group_opened_{};
  bool fleet_down_ = false;
  int mails_queued_ = 0;
  std::set<Key> dirty_;  // alerts changed since the last Persist
  bool meta_dirty_ = false;
  std::string instance_;    // random, persisted: part of digest Message-IDs
  uint64_t seq_ = 0;        // the next digest's number
  bool persist_ok_ = true;  // for logging a change only
};

}  // namespace rigwatch::actions

#endif  // RIGWATCH_AGENT_ACTIONS_NOTIFIER_H_
