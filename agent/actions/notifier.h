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
// Group and reminder state lives in memory: after an agent restart the rules
// engine's restored states decide again; mails already queued are in the
// outbox and are not lost.
#ifndef RIGWATCH_AGENT_ACTIONS_NOTIFIER_H_
#define RIGWATCH_AGENT_ACTIONS_NOTIFIER_H_

#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "agent/actions/alertmanager.h"
#include "agent/actions/counters.h"
#include "agent/actions/mail.h"
#include "agent/actions/outbox.h"
#include "agent/actions/types.h"
#include "agent/common/clock.h"

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
};

class Notifier {
 public:
  // Channel names used in the outbox.
  static constexpr const char* kMailChannel = "smtp";
  static constexpr const char* kAmChannel = "alertmanager";

  // `clock` and `outbox` must outlive the Notifier. Thread-safe.
  Notifier(NotifierOptions options, Clock* clock, Outbox* outbox);

  // Records a change. Nothing is sent from here except an Alertmanager
  // update; mails wait for the group to close (Tick).
  void OnTransition(const Transition& t, bool fleet_down);

  // A notice goes out as its own mail at once (not grouped).
  void OnNotice(const Notice& n);

  // The fleet guard changed: kTripped drops per-target changes still waiting
  // in the group; kRecovered queues what changed while it was tripped.
  void OnFleetTripped();
  void OnFleetRecovered();

  // Closes a group that is due, queues due reminders and Alertmanager
  // re-sends. Call about once a second.
  void Tick();

  // Mails queued so far (for tests and self metrics).
  int mails_queued() const;

 private:
  using Key = std::pair<std::string, std::string>;  // rule, target
  struct Alert {
    Transition last;
    bool firing = false;     // at a level that notifies
    bool mailed = false;     // a firing mail went out (resolved is due)
    SteadyTime last_mail{};  // firing or reminder mail
    WallTime starts_at{};    // for Alertmanager
    bool am_active = false;  // Alertmanager believes it is firing
    SteadyTime am_last{};    // last push
  };
  enum class Kind { kFiring, kResolved, kReminder };

  void AddToGroupLocked(const Key& key, Kind kind, SteadyTime now);
  void FlushGroupLocked();
  void QueueMailLocked(const std::string& subject, const std::string& body);
  void PushAmLocked(const Key& key, Alert& a, bool active);
  std::string RenderAlert(const Alert& a, Kind kind) const;

  const NotifierOptions opt_;
  Clock* clock_;
  Outbox* outbox_;

  mutable std::mutex mu_;
  std::map<Key, Alert> alerts_;
  std::map<Key, Kind> group_;  // what the next digest will say
  SteadyTime group_opened_{};
  bool fleet_down_ = false;
  int mails_queued_ = 0;
};

}  // namespace rigwatch::actions

#endif  // RIGWATCH_AGENT_ACTIONS_NOTIFIER_H_
