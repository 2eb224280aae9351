#include "agent/actions/restart.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <thread>
#include <utility>

#include "agent/actions/subprocess.h"
#include "agent/common/log.h"
#include "agent/common/rfc3339.h"
#include "agent/common/units.h"

namespace rigwatch::actions {
namespace {

constexpr std::string_view kLimitNamespace = "restart_limit";
// Key: target, 0x1F, zero-padded unix millis, so List() is per target and
// in time order. Target names cannot contain control characters.
constexpr char kSep = '\x1f';

std::string JournalKey(const std::string& target, WallTime at) {
  char ms[24];
  std::snprintf(ms, sizeof ms, "%016lld",
                static_cast<long long>(ToUnixMillis(at)));
  return target + kSep + ms;
}

std::string Human(Duration d) {
  return FormatDuration(
      std::chrono::duration_cast<std::chrono::milliseconds>(d));
}

bool ParseJournalKey(const std::string& key, std::string* target,
                     WallTime* at) {
  auto pos = key.rfind(kSep);
  if (pos == std::string::npos) return false;
  long long ms = 0;
  const char* b = key.data() + pos + 1;
  const char* e = key.data() + key.size();
  auto [p, ec] = std::from_chars(b, e, ms);
  if (ec != std::errc() || p != e) return false;
  *target = key.substr(0, pos);
  *at = FromUnixMillis(ms);
  return true;
}

std::string ServiceLabel(const Labels& labels) {
  for (const auto& l : labels) {
    if (l.name == "service") return l.value;
  }
  return "";
}

}  // namespace

constexpr std::string_view kForcedSuffix = " forced";

Result<std::string> RestartJournal::Begin(const std::string& target,
                                          WallTime at, bool forced) {
  std::string key = JournalKey(target, at);
  // Two attempts in the same millisecond are impossible (cooldown), but a
  // clash must never overwrite history: move on by a millisecond.
  for (int i = 0; i < 1000; ++i) {
    RW_ASSIGN_OR_RETURN(auto existing, kv_->Get(kNamespace, key));
    if (!existing) break;
    at += std::chrono::milliseconds(1);
    key = JournalKey(target, at);
  }
  RW_RETURN_IF_ERROR(kv_->Put(kNamespace, key,
                              forced ? "pending" + std::string(kForcedSuffix)
                                     : std::string("pending")));
  return key;
}

Status RestartJournal::Finish(const std::string& key, std::string_view result,
                              bool forced) {
  return kv_->Put(kNamespace, key,
                  std::string(result) +
                      (forced ? std::string(kForcedSuffix) : std::string()));
}

Status RestartJournal::Erase(const std::string& key) {
  return kv_->Delete(kNamespace, key);
}

Result<std::vector<RestartJournal::Entry>> RestartJournal::Load() {
  RW_ASSIGN_OR_RETURN(auto rows, kv_->List(kNamespace));
  std::vector<Entry> out;
  for (auto& [key, value] : rows) {
    Entry e;
    if (!ParseJournalKey(key, &e.target, &e.at)) {
      LogWarn("restart_journal_bad_key").Kv("key", key);
      continue;
    }
    e.key = key;
    e.result = value;
    if (e.result.size() > kForcedSuffix.size() &&
        e.result.compare(e.result.size() - kForcedSuffix.size(),
                         kForcedSuffix.size(), kForcedSuffix) == 0) {
      e.forced = true;
      e.result.resize(e.result.size() - kForcedSuffix.size());
    }
    out.push_back(std::move(e));
  }
  return out;
}

Restarter::Restarter(RestartOptions options, std::vector<HostService> services,
                     Clock* clock, DurableKv* kv, MinerRestarter* miners,
                     GraceSink grace, NoticeSink notices,
                     CounterFamily2* counters)
    : opt_(options),
      services_(std::move(services)),
      clock_(clock),
      kv_(kv),
      journal_(kv),
      miners_(miners),
      grace_(std::move(grace)),
      notices_(std::move(notices)),
      counters_(counters) {}

Result<int> Restarter::Recover() {
  RW_ASSIGN_OR_RETURN(auto entries, journal_.Load());
  RW_ASSIGN_OR_RETURN(auto limits, kv_->List(kLimitNamespace));
  int pending = 0;
  std::lock_guard<std::mutex> l(mu_);
  for (const auto& e : entries) {
    if (e.result == "pending") {
      ++pending;
      // The agent died after journaling: the restart may or may not have
      // reached the target. Never re-send it; keep it as an attempt.
      LogWarn("restart_outcome_unknown")
          .Kv("target", e.target)
          .Kv("at_ms", ToUnixMillis(e.at));
      RW_RETURN_IF_ERROR(journal_.Finish(e.key, "unknown", e.forced));
      Count(e.target, "unknown");
    }
    // Cut short by a stop: not an attempt that counts against the limits.
    if (e.result != "interrupted") attempts_[e.target].push_back(e.at);
    const Decision d{e.at, e.result == "pending" ? "unknown" : e.result};
    LastRestart& r = last_restart_[e.target];
    if (e.at >= r.at) r = d;
    std::lock_guard<std::mutex> ll(last_mu_);
    Decision& latest = last_decision_[e.target];
    if (e.at >= latest.at) latest = d;
  }
  for (const auto& [target, v] : limits) limit_notified_.insert(target);
  PruneLocked(clock_->Now());
  return pending;
}

void Restarter::PruneLocked(WallTime now) {
  const Duration keep = std::max(opt_.window, opt_.cooldown);
  // Old journal entries go too, so the journal stays small for months.
  auto entries = journal_.Load();
  if (entries.ok()) {
    for (const auto& e : *entries) {
      if (e.result != "pending" && now - e.at > keep) {
        journal_.Erase(e.key).IgnoreError("pruning retries next time");
      }
    }
  }
  for (auto it = attempts_.begin(); it != attempts_.end();) {
    auto& v = it->second;
    v.erase(std::remove_if(v.begin(), v.end(),
                           [&](WallTime t) { return now - t > keep; }),
            v.end());
    it = v.empty() ? attempts_.erase(it) : std::next(it);
  }
}

void Restarter::Count(const std::string& target, const std::string& result) {
  if (counters_) counters_->Inc(target, result);
  std::lock_guard<std::mutex> l(last_mu_);
  last_decision_[target] = Decision{clock_->Now(), result};
}

std::string Restarter::Describe(const std::string& target,
                                WallTime since) const {
  Decision d;
  {
    std::lock_guard<std::mutex> l(last_mu_);
    auto it = last_decision_.find(target);
    if (it == last_decision_.end() || it->second.at < since) return "";
    d = it->second;
  }
  const std::string at = FormatRfc3339(d.at);
  const std::string& r = d.result;
  if (r == "ok") return "restart sent at " + at + ": accepted";
  if (r == "not_needed") {
    return "restart not needed at " + at + ": the service check passed";
  }
  if (r == "failed" || r == "timeout") {
    return "restart sent at " + at + ": " + r + " (see the agent log)";
  }
  if (r == "unknown") {
    return "restart sent at " + at +
           ": outcome unknown (the agent stopped meanwhile)";
  }
  if (r == "interrupted") {
    return "restart sent at " + at + ": interrupted (the agent was stopping)";
  }
  if (r == "unsupported" || r == "denied") {
    std::string reason;
    {
      std::lock_guard<std::mutex> l(last_mu_);
      auto it = last_reason_.find(target);
      if (it != last_reason_.end()) reason = it->second;
    }
    if (reason.empty()) reason = "(see the agent log)";
    return r == "unsupported"
               ? "restart not supported by this firmware: " + reason
               : "restart refused by the miner at " + at + ": " + reason;
  }
  if (r == "cooldown") return "no restart at " + at + ": within the cooldown";
  if (r == "limit") return "no restart at " + at + ": restart limit reached";
  if (r == "suppressed") {
    return "no restart at " + at + ": held back by the fleet guard";
  }
  return "no restart at " + at + ": " + r;
}

const HostService* Restarter::FindService(const Transition& t) const {
  const std::string name = ServiceLabel(t.labels);
  if (name.empty()) return nullptr;
  // A service's own series (target = the service), or a host series that
  // names it.
  if (t.target != "host" && t.target != name) return nullptr;
  for (const auto& s : services_) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

std::string Restarter::Request(const Transition& t, bool fleet_down) {
  const HostService* svc = FindService(t);
  std::string key = t.target;
  if (svc != nullptr) {
    key = ServiceKey(svc->name);
  } else if (t.target == "host" || ServiceLabel(t.labels) == t.target) {
    LogWarn("restart_no_such_service")
        .Kv("rule", t.rule)
        .Kv("target", t.target)
        .Kv("service", ServiceLabel(t.labels));
    Count(t.target, "no_such_service");
    return "no_such_service";
  }
  if (fleet_down) {
    LogInfo("restart_suppressed").Kv("target", key).Kv("reason", "fleet_down");
    Count(key, "suppressed");
    return "suppressed";
  }
  return Attempt(key, t, svc, /*force=*/false).result;
}

Restarter::Outcome Restarter::RequestManual(const std::string& miner,
                                            bool force, bool fleet_down) {
  if (fleet_down) {
    LogInfo("restart_suppressed")
        .Kv("target", miner)
        .Kv("reason", "fleet_down")
        .Kv("manual", true);
    Count(miner, "suppressed");
    return {"suppressed",
            "the fleet guard is holding restarts back: too many miners "
            "failed their last polls at once (--force does not override it)"};
  }
  Transition t;
  t.rule = "manual";
  t.target = miner;
  return Attempt(miner, t, nullptr, force);
}

Restarter::Outcome Restarter::Attempt(const std::string& key,
                                      const Transition& t,
                                      const HostService* svc, bool force) {
  if (stop_.stop_requested()) {
    Count(key, "interrupted");
    return {"interrupted", "not sent: the agent is stopping"};
  }
  const WallTime now = clock_->Now();
  std::string journal_key;
  {
    std::lock_guard<std::mutex> l(mu_);
    PruneLocked(now);
    auto& tries = attempts_[key];
    int in_window = 0;
    WallTime last{};
    for (WallTime at : tries) {
      if (now - at < opt_.window) ++in_window;
      last = std::max(last, at);
    }
    // A service that reached its limit waits for a person (Reset).
    if (svc != nullptr && limit_notified_.count(key) != 0) {
      Count(key, "limit");
      return {"limit", key +
                           " reached its restart limit and waits for "
                           "rigwatch service reset " +
                           svc->name};
    }
    if (!force && in_window >= opt_.max_attempts) {
      if (limit_notified_.insert(key).second) {
        kv_->Put(kLimitNamespace, key, "1")
            .IgnoreError("worst case: one more limit mail after a restart");
        LogWarn("restart_limit_reached")
            .Kv("target", key)
            .Kv("attempts", in_window);
        if (notices_) {
          Notice n;
          n.kind = "restart_limit";
          n.target = key;
          n.subject = "restart limit reached for " + key;
          const std::string until =
              svc != nullptr
                  ? "until a person resets it: rigwatch service reset " +
                        svc->name + " (or POST /api/v1/services/" + svc->name +
                        "/reset)"
                  : "until it is green again";
          n.body = "rigwatch restarted " + key + " " +
                   std::to_string(in_window) +
                   " times within the restart window and gives up on it " +
                   until + ".\nRule: " + t.rule + "\n";
          notices_(n);
        }
      }
      Count(key, "limit");
      return {"limit", key + " was restarted " + std::to_string(in_window) +
                           " times within the restart window (" +
                           Human(opt_.window) + "), the limit is " +
                           std::to_string(opt_.max_attempts)};
    }
    if (!force && !tries.empty() && now - last < opt_.cooldown) {
      LogDebug("restart_cooldown").Kv("target", key);
      Count(key, "cooldown");
      return {"cooldown",
              key + " was restarted " +
                  Human(std::chrono::duration_cast<std::chrono::seconds>(
                      now - last)) +
                  " ago; the cooldown is " + Human(opt_.cooldown)};
    }
    // Journal BEFORE sending: if we die after this line, the next start sees
    // "pending" and records an unknown outcome instead of restarting again.
    auto begun = journal_.Begin(key, now, force);
    if (!begun.ok()) {
      LogError("restart_journal_failed")
          .Kv("target", key)
          .Kv("err", begun.status());
      Count(key, "journal_error");
      return {"journal_error", "the restart journal could not be written: " +
                                   begun.status().message()};
    }
    journal_key = *begun;
    tries.push_back(now);
  }
  LogInfo("restart_started").Kv("target", key).Kv("forced", force);

  std::string error;
  Notice outcome;  // a service restart's mail, sent once recorded below
  std::string result =
      svc ? RunService(*svc, t, &outcome) : RunMiner(t.target, &error);
  Status fin = journal_.Finish(journal_key, result, force);
  if (!fin.ok()) {
    // The entry stays "pending" and becomes "unknown" at the next start.
    LogError("restart_journal_failed").Kv("target", key).Kv("err", fin);
  }
  if (force) {
    LogInfo("restart_forced").Kv("target", key).Kv("result", result);
  }
  if (result == "interrupted") {
    // The agent is stopping: no grace, no mail, and no count against the
    // limits (Recover skips it too).
    LogWarn("restart_interrupted").Kv("target", key);
    {
      std::lock_guard<std::mutex> l(mu_);
      auto& tries = attempts_[key];
      auto it = std::find(tries.begin(), tries.end(), now);
      if (it != tries.end()) tries.erase(it);
    }
    Count(key, result);
    return {result, "interrupted: the agent is stopping"};
  }
  if (result == "unsupported" || result == "denied") {
    std::lock_guard<std::mutex> l(last_mu_);
    last_reason_[key] = error;
  }
  Count(key, result);
  {
    std::lock_guard<std::mutex> l(mu_);
    last_restart_[key] = {now, result};
  }
  if (grace_) grace_(t.target, opt_.grace);
  if (!outcome.kind.empty() && notices_) notices_(outcome);
  return {result, error};
}

std::string Restarter::RunMiner(const std::string& miner, std::string* error) {
  if (!miners_) {
    LogError("restart_failed").Kv("miner", miner).Kv("err", "no restarter");
    *error = "no poller to send the restart";
    return "failed";
  }
  Status s = miners_->Restart(miner, opt_.miner_timeout, stop_.get_token());
  if (s.ok()) {
    LogInfo("restart_sent").Kv("miner", miner);
    return "ok";
  }
  if (stop_.stop_requested()) {
    *error = s.ToString();
    return "interrupted";
  }
  LogWarn("restart_failed").Kv("miner", miner).Kv("err", s);
  *error = s.ToString();
  switch (s.code()) {
    case StatusCode::kDeadlineExceeded:
      return "timeout";
    case StatusCode::kPermissionDenied:  // wrong credentials, Code 45
      return "denied";
    case StatusCode::kFailedPrecondition:  // this firmware cannot restart so
      return "unsupported";
    default:
      return "failed";
  }
}

std::string Restarter::RunService(const HostService& svc, const Transition& t,
                                  Notice* notice) {
  std::string detail;
  if (svc.probe && svc.probe(&detail)) {
    LogInfo("restart_not_needed").Kv("service", svc.name);
    return "not_needed";
  }
  const std::string was_down = detail;
  auto run = RunCommand(svc.restart, svc.timeout, 4096, stop_.get_token());
  std::string result;
  if (run.ok() && run->interrupted) {
    LogWarn("restart_command_interrupted")
        .Kv("service", svc.name)
        .Kv("output", run->output);
    return "interrupted";
  }
  if (!run.ok()) {
    LogError("restart_failed").Kv("service", svc.name).Kv("err", run.status());
    detail = run.status().message();
    result = "failed";
  } else {
    LogEvent(run->success() ? LogLevel::kInfo : LogLevel::kWarn,
             run->success() ? "restart_done" : "restart_failed")
        .Kv("service", svc.name)
        .Kv("exit_code", run->exit_code)
        .Kv("signal", run->term_signal)
        .Kv("timed_out", run->timed_out)
        .Kv("output", run->output);
    result = run->timed_out ? "timeout" : run->success() ? "ok" : "failed";
    if (!run->success()) {
      detail =
          run->timed_out
              ? "the restart command did not finish within " +
                    FormatDuration(
                        std::chrono::duration_cast<std::chrono::milliseconds>(
                            svc.timeout))
              : "the restart command exited with status " +
                    std::to_string(run->exit_code);
      if (!run->output.empty()) detail += ": " + run->output.substr(0, 300);
    }
  }
  // Did it come back? The probe in real time (the service runs in it).
  bool back = false;
  double took = 0;
  if (result == "ok" && svc.probe) {
    const auto t0 = std::chrono::steady_clock::now();
    const auto deadline = t0 + svc.start_timeout;
    for (;;) {
      detail.clear();
      back = svc.probe(&detail);
      took =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
              .count();
      if (back || std::chrono::steady_clock::now() >= deadline) break;
      if (stop_.stop_requested()) return "interrupted";
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    if (!back) result = "not_back";
    LogEvent(back ? LogLevel::kInfo : LogLevel::kWarn,
             back ? "service_back" : "service_not_back")
        .Kv("service", svc.name)
        .Kv("seconds", took)
        .Kv("err", detail);
  }
  {
    const std::string start_timeout =
        FormatDuration(std::chrono::duration_cast<std::chrono::milliseconds>(
            svc.start_timeout));
    char secs[32];
    std::snprintf(secs, sizeof secs, "%.1f", took);
    Notice& n = *notice;
    n.kind = "service_restarted";
    n.target = ServiceKey(svc.name);
    std::string what;
    if (result == "ok" && svc.probe) {
      n.subject = "service " + svc.name + " restarted and came back";
      what = "It was restarted and came back: its check passed " +
             std::string(secs) + " s after the restart.";
    } else if (result == "ok") {
      n.subject = "service " + svc.name + " restarted";
      what =
          "It was restarted (it has no check, so rigwatch cannot tell "
          "whether it came back).";
    } else if (result == "not_back") {
      n.subject = "service " + svc.name + " restarted but did not come back";
      what = "It was restarted but did not come back within " + start_timeout +
             ": " + detail;
    } else {
      n.subject = "service " + svc.name + " restart failed";
      what = "The restart failed: " + detail;
    }
    n.body = "rigwatch restarted host service " + svc.name + " because rule " +
             t.rule + " turned " + std::string(LevelName(t.to)) + ".\n" +
             (was_down.empty() ? "" : "Its check said: " + was_down + "\n") +
             what + "\n";
  }
  return result;
}

void Restarter::OnGreen(const std::string& target) {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<std::string> keys;
  for (const auto& k : limit_notified_) {
    bool service = false;
    for (const auto& s : services_) service |= k == ServiceKey(s.name);
    if (!service && k == target) keys.push_back(k);
  }
  for (const auto& k : keys) {
    limit_notified_.erase(k);
    kv_->Delete(kLimitNamespace, k).IgnoreError("stale flag: one mail fewer");
  }
}

Status Restarter::Reset(const std::string& service) {
  const bool known =
      std::any_of(services_.begin(), services_.end(),
                  [&](const HostService& s) { return s.name == service; });
  if (!known) {
    return NotFoundError("no host service \"" + service +
                         "\" with a restart command");
  }
  const std::string key = ServiceKey(service);
  std::lock_guard<std::mutex> l(mu_);
  RW_RETURN_IF_ERROR(kv_->Delete(kLimitNamespace, key));
  RW_ASSIGN_OR_RETURN(auto entries, journal_.Load());
  for (const auto& e : entries) {
    if (e.target == key && e.result != "pending") {
      RW_RETURN_IF_ERROR(journal_.Erase(e.key));
    }
  }
  const bool was_given_up = limit_notified_.erase(key) != 0;
  attempts_.erase(key);
  LogInfo("restart_reset")
      .Kv("service", service)
      .Kv("was_given_up", was_given_up);
  return Status::Ok();
}

std::optional<Restarter::LastRestart> Restarter::LastRestartOf(
    const std::string& service) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = last_restart_.find(ServiceKey(service));
  if (it == last_restart_.end()) return std::nullopt;
  return it->second;
}

bool Restarter::GaveUp(const std::string& service) const {
  std::lock_guard<std::mutex> l(mu_);
  return limit_notified_.count(ServiceKey(service)) != 0;
}

}  // namespace rigwatch::actions
