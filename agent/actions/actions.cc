#include "agent/actions/actions.h"

#include "agent/common/log.h"

namespace rigwatch::actions {

const MetricDesc kActionsMetrics[4] = {
    {"rigwatch_restarts_total", MetricType::kCounter,
     "Restart decisions per target and result: ok, failed, timeout, denied "
     "(wrong credentials or API access group), unsupported (the kind cannot "
     "restart this firmware), unknown (agent died between journal and "
     "outcome), interrupted (the agent stopped while it ran; not counted "
     "against the limits), cooldown, limit, suppressed (fleet guard), "
     "not_needed, no_such_service, journal_error, not_back (a host service "
     "not up within its start_timeout).",
     "miner,result"},
    {"rigwatch_notifications_total", MetricType::kCounter,
     "Notification delivery attempts per channel (smtp, alertmanager) and "
     "result: sent, failed (will retry), expired, dropped (outbox full).",
     "channel,result"},
    {"rigwatch_outbox_pending", MetricType::kGauge,
     "Notifications written to the durable outbox and not yet accepted by "
     "their receiver.",
     ""},
    {"rigwatch_actions_dropped_total", MetricType::kCounter,
     "Work dropped because a bounded queue was full.", "queue"},
};

Result<std::unique_ptr<Actions>> Actions::Create(ActionsOptions options,
                                                 Clock* clock, DurableKv* kv,
                                                 MinerRestarter* miners,
                                                 GraceSink grace) {
  if (options.smtp) {
    RW_RETURN_IF_ERROR(ValidateSmtpOptions(*options.smtp));
  }
  if (std::string e = FleetGuardOptionsError(options.guard); !e.empty()) {
    return InvalidArgumentError(e);
  }
  if (options.restart.max_attempts < 1) {
    return InvalidArgumentError("restart max_attempts must be at least 1");
  }
  for (const auto& s : options.services) {
    if (s.restart.empty()) {
      return InvalidArgumentError("host service \"" + s.name +
                                  "\" has no restart command");
    }
  }
  std::unique_ptr<Actions> a(
      new Actions(std::move(options), clock, kv, miners, std::move(grace)));
  RW_ASSIGN_OR_RETURN(int unknown, a->restarter_.Recover());
  if (unknown > 0) {
    LogWarn("restart_journal_recovered").Kv("unknown_outcomes", unknown);
  }
  RW_RETURN_IF_ERROR(a->outbox_.Load());
  RW_RETURN_IF_ERROR(a->notifier_.Load());
  RW_RETURN_IF_ERROR(a->guard_.Load());
  a->ReconcileFleet();
  if (a->opt_.active_alerts) {
    const std::vector<Transition> active = a->opt_.active_alerts();
    std::set<std::pair<std::string, std::string>> keys;
    for (const Transition& t : active) keys.emplace(t.rule, t.target);
    a->notifier_.Reconcile(keys);
    // Judged yellow or red, persisted by the rules, and the agent died
    // before the notifier recorded it: new now (mailed once; a restart it
    // asks for is subject to the journal's cooldown like any other).
    const std::vector<Transition> unrecorded = a->notifier_.Unrecorded(active);
    for (const Transition& t : unrecorded) {
      LogInfo("alert_unrecorded_at_start")
          .Kv("rule", t.rule)
          .Kv("target", t.target)
          .Kv("level", LevelName(t.to));
      a->OnTransition(t);
    }
  }
  return a;
}

namespace {
NotifierOptions MakeNotifierOptions(const ActionsOptions& o) {
  NotifierOptions n;
  n.mail = o.smtp.has_value();
  if (o.smtp) {
    n.from = o.smtp->from;
    n.to = o.smtp->to;
    n.host = o.smtp->helo_host;
  }
  if (n.host.empty()) n.host = LocalHostName();
  n.group_wait = o.group_wait;
  n.repeat_interval = o.repeat_interval;
  n.external_url = o.external_url;
  n.alert_template = o.alert_template;
  n.alertmanager = !o.alertmanager.url.empty();
  n.am_resend_interval = o.alertmanager.resend_interval;
  n.last_error = o.last_error;
  return n;
}
}  // namespace

Actions::Actions(ActionsOptions options, Clock* clock, DurableKv* kv,
                 MinerRestarter* miners, GraceSink grace)
    : opt_(std::move(options)),
      clock_(clock),
      outbox_(opt_.outbox, clock, kv, &notifications_),
      notifier_(
          [this] {
            NotifierOptions n = MakeNotifierOptions(opt_);
            n.action_taken = [this](const std::string& target, WallTime since) {
              return restarter_.Describe(target, since);
            };
            return n;
          }(),
          clock, &outbox_, kv),
      guard_(
          opt_.guard, [this](const Notice& n) { HandleNotice(n); }, kv),
      restarter_(
          opt_.restart, opt_.services, clock, kv, miners,
          [this, grace = std::move(grace)](const std::string& target,
                                           Duration d) {
            {
              std::lock_guard<std::mutex> l(mu_);
              grace_until_[target] = clock_->SteadyNow() + d;
            }
            if (grace) grace(target, d);
          },
          [this](const Notice& n) { notifier_.OnNotice(n); }, &restarts_) {
  if (opt_.smtp) {
    smtp_channel_ = std::make_unique<SmtpMailChannel>(*opt_.smtp);
    outbox_.AddChannel(Notifier::kMailChannel, smtp_channel_.get());
    notifications_.Touch(Notifier::kMailChannel, "sent");
    notifications_.Touch(Notifier::kMailChannel, "failed");
  }
  if (!opt_.alertmanager.url.empty()) {
    am_channel_ = std::make_unique<AlertmanagerChannel>(opt_.alertmanager);
    outbox_.AddChannel(Notifier::kAmChannel, am_channel_.get());
    notifications_.Touch(Notifier::kAmChannel, "sent");
    notifications_.Touch(Notifier::kAmChannel, "failed");
  }
}

Actions::~Actions() { Stop(); }

void Actions::ReconcileFleet() {
  const bool down = guard_.tripped();
  const bool recorded = notifier_.FleetRecordedDown();
  Notice last = guard_.LastNotice();
  if (down && recorded) {
    // Tripped before the restart and said so: per-target mails stay held,
    // the fleet alert was pushed again by Notifier::Load.
    notifier_.OnFleetTripped();
  } else if (down) {
    // The guard persisted its trip, the agent died before the notice.
    if (last.kind != "fleet_unreachable") {
      last = Notice{};
      last.kind = "fleet_unreachable";
      last.target = "fleet";
      last.subject = "fleet unreachable";
      last.body =
          "Too many targets failed together. Restarts are suspended and "
          "per-miner notifications are held until the fleet is reachable "
          "again.\n";
    }
    LogInfo("fleet_notice_resent").Kv("kind", "fleet_unreachable");
    HandleNotice(last);
  } else if (recorded) {
    // Recovered (persisted) before the restart, the recovery notice was
    // lost: sent now, once.
    if (last.kind != "fleet_reachable") {
      last = Notice{};
      last.kind = "fleet_reachable";
      last.target = "fleet";
      last.subject = "fleet reachable again";
      last.body =
          "The fleet is reachable again. Normal judging, restarts and "
          "notifications resume.\n";
    }
    LogInfo("fleet_notice_resent").Kv("kind", "fleet_reachable");
    HandleNotice(last);
  }
}

void Actions::HandleNotice(const Notice& n) {
  if (n.kind == "fleet_unreachable") notifier_.OnFleetTripped();
  notifier_.OnNotice(n);
  if (n.kind == "fleet_reachable") {
    notifier_.OnFleetRecovered();
    std::lock_guard<std::mutex> l(mu_);
    release_held_at_ = clock_->SteadyNow() + opt_.group_wait;
  }
}

void Actions::ReleaseHeld() {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (held_while_pending_ && !guard_.pending() && !guard_.tripped() &&
        !release_held_at_) {
      // The bad rounds ended without the guard tripping: the fleet is fine.
      release_held_at_ = clock_->SteadyNow() + opt_.group_wait;
    }
    if (!release_held_at_ || guard_.tripped() || guard_.pending() ||
        clock_->SteadyNow() < *release_held_at_) {
      return;
    }
    release_held_at_.reset();
    held_while_pending_ = false;
    for (auto& [key, t] : held_) {
      if (queue_.size() >= opt_.restart_queue) {
        ++restart_queue_dropped_;
        continue;
      }
      LogInfo("restart_released").Kv("target", t.target).Kv("rule", t.rule);
      queue_.push_back(std::move(t));
    }
    held_.clear();
  }
  worker_.Wake();
}

void Actions::OnTransition(const Transition& t) {
  const bool down = guard_.tripped();
  notifier_.OnTransition(t, down);
  if (t.to == Level::kGreen) restarter_.OnGreen(t.target);
  {
    std::lock_guard<std::mutex> l(mu_);
    const std::pair<std::string, std::string> rk{t.rule, t.target};
    if (t.to == Level::kRed) {
      if (red_.insert(rk).second) ++red_rules_[t.target];
    } else if (red_.erase(rk) != 0 && --red_rules_[t.target] == 0) {
      red_rules_.erase(t.target);
    }
    // A newer judgement by the same rule replaces a held restart.
    const std::string held_key = t.rule + '\x1f' + t.target;
    held_.erase(held_key);
    retry_.erase(held_key);
    if (!t.Wants("restart")) return;
    if (down) held_[held_key] = t;
    if (queue_.size() >= opt_.restart_queue) {
      ++restart_queue_dropped_;
      LogError("restart_queue_full").Kv("target", t.target).Kv("rule", t.rule);
      return;
    }
    queue_.push_back(t);
  }
  worker_.Wake();
}

void Actions::CommitRound() {
  Status s = notifier_.Persist();
  if (!s.ok()) LogWarn("notifier_state_not_persisted").Kv("err", s);
}

bool Actions::Excused(const std::string& target) {
  std::lock_guard<std::mutex> l(mu_);
  if (red_rules_.count(target) != 0) return true;
  auto it = grace_until_.find(target);
  if (it == grace_until_.end()) return false;
  if (clock_->SteadyNow() < it->second) return true;
  grace_until_.erase(it);
  return false;
}

void Actions::OnRound(std::size_t targets,
                      const std::vector<std::string>& failed) {
  guard_.OnRound(targets, failed,
                 [this](const std::string& t) { return Excused(t); });
}

void Actions::DrainRestarts(std::stop_token st) {
  for (;;) {
    Transition t;
    {
      std::lock_guard<std::mutex> l(mu_);
      if (queue_.empty() || st.stop_requested()) return;
      t = std::move(queue_.front());
      queue_.pop_front();
      if (guard_.pending()) {
        // Asked for while the guard counts bad rounds: wait for its
        // decision instead of restarting a fleet that may be unreachable.
        LogInfo("restart_held")
            .Kv("target", t.target)
            .Kv("rule", t.rule)
            .Kv("reason", "fleet_guard_pending");
        held_while_pending_ = true;
        held_[t.rule + '\x1f' + t.target] = std::move(t);
        continue;
      }
    }
    // The guard is checked when the restart would be sent, not when it was
    // queued: a round reported in between counts.
    const std::string result = restarter_.Request(t, guard_.tripped());
    // A service still down stays red without a new transition: try again
    // after the cooldown (Monit's "N restarts, then give up").
    if ((result == "not_back" || result == "failed" || result == "timeout") &&
        restarter_.ForService(t)) {
      std::lock_guard<std::mutex> l(mu_);
      retry_[t.rule + '\x1f' + t.target] = {
          t, clock_->SteadyNow() + opt_.restart.cooldown};
    }
    worker_.Beat();  // each restart is bounded; a queue of them is progress
  }
}

void Actions::QueueDueRetries() {
  std::lock_guard<std::mutex> l(mu_);
  const SteadyTime now = clock_->SteadyNow();
  for (auto it = retry_.begin(); it != retry_.end();) {
    if (it->second.second > now || queue_.size() >= opt_.restart_queue) {
      ++it;
      continue;
    }
    queue_.push_back(std::move(it->second.first));
    it = retry_.erase(it);
  }
}

void Actions::RunOnce() {
  WorkerTick({});
  outbox_.RunDue();
}

void Actions::WorkerTick(std::stop_token st) {
  ReleaseHeld();
  QueueDueRetries();
  DrainRestarts(st);
  notifier_.Tick(/*hold_group=*/guard_.pending());
}

void Actions::Start() {
  worker_.Start();
  outbox_.Start();
}

void Actions::Stop() {
  // The outbox first: its deliveries abort at once, while a restart in
  // progress on the worker is finished (unless Interrupt() came first).
  outbox_.Stop();
  worker_.Stop();
  // What the last second changed in the notifier, before the store closes.
  CommitRound();
}

Samples Actions::SelfMetrics() const {
  Samples out;
  restarts_.AppendSamples(out);
  notifications_.AppendSamples(out);
  out.push_back(Sample{
      "rigwatch_outbox_pending", {}, static_cast<double>(outbox_.pending())});
  out.push_back(Sample{"rigwatch_actions_dropped_total",
                       {{"queue", "restart"}},
                       static_cast<double>(restart_queue_dropped_.load())});
  return out;
}

}  // namespace rigwatch::actions
