#include "agent/actions/restart.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <utility>

#include "agent/actions/subprocess.h"
#include "agent/common/log.h"
#include "agent/common/units.h"
#include "agent/common/rfc3339.h"

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
    attempts_[e.target].push_back(e.at);
    std::lock_guard<std::mutex> ll(last_mu_);
    Decision& d = last_[e.target];
    if (e.at >= d.at) {
      d = Decision{e.at, e.result == "pending" ? "unknown" : e.result};
    }
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
  last_[target] = Decision{clock_->Now(), result};
}

std::string Restarter::Describe(const std::string& target,
                                WallTime since) const {
  Decision d;
  {
    std::lock_guard<std::mutex> l(last_mu_);
    auto it = last_.find(target);
    if (it == last_.end() || it->second.at < since) return "";
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
  if (r == "cooldown") return "no restart at " + at + ": within the cooldown";
  if (r == "limit") return "no restart at " + at + ": restart limit reached";
  if (r == "suppressed") {
    return "no restart at " + at + ": held back by the fleet guard";
  }
  return "no restart at " + at + ": " + r;
}

std::string Restarter::Request(const Transition& t, bool fleet_down) {
  const HostService* svc = nullptr;
  std::string key = t.target;
  if (t.target == "host") {
    std::string name = ServiceLabel(t.labels);
    for (const auto& s : services_) {
      if (s.name == name) svc = &s;
    }
    if (!svc) {
      LogWarn("restart_no_such_service").Kv("rule", t.rule).Kv("service", name);
      Count(t.target, "no_such_service");
      return "no_such_service";
    }
    key = "host/" + svc->name;
  }
  if (fleet_down) {
    LogInfo("restart_suppressed").Kv("target", key).Kv("reason", "fleet_down");
    Count(key, "suppressed");
    return "suppressed";
  }
  return Attempt(key, t.target, svc, t.rule, /*force=*/false).result;
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
  return Attempt(miner, miner, nullptr, "manual", force);
}

Restarter::Outcome Restarter::Attempt(const std::string& key,
                                      const std::string& target,
                                      const HostService* svc,
                                      const std::string& rule, bool force) {
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
          n.body = "rigwatch restarted " + key + " " +
                   std::to_string(in_window) +
                   " times within the restart window and gives up on it "
                   "until it is green again.\nRule: " +
                   rule + "\n";
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

  std::string error;
  std::string result = svc ? RunService(*svc) : RunMiner(target, &error);
  Status fin = journal_.Finish(journal_key, result, force);
  if (!fin.ok()) {
    // The entry stays "pending" and becomes "unknown" at the next start.
    LogError("restart_journal_failed").Kv("target", key).Kv("err", fin);
  }
  if (force) {
    LogInfo("restart_forced").Kv("target", key).Kv("result", result);
  }
  Count(key, result);
  if (grace_) grace_(target, opt_.grace);
  return {result, error};
}

std::string Restarter::RunMiner(const std::string& miner, std::string* error) {
  if (!miners_) {
    LogError("restart_failed").Kv("miner", miner).Kv("err", "no restarter");
    *error = "no poller to send the restart";
    return "failed";
  }
  Status s = miners_->Restart(miner, opt_.miner_timeout);
  if (s.ok()) {
    LogInfo("restart_sent").Kv("miner", miner);
    return "ok";
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

std::string Restarter::RunService(const HostService& svc) {
  if (!svc.check.empty()) {
    auto check = RunCommand(svc.check, svc.timeout);
    if (check.ok() && check->success()) {
      LogInfo("restart_not_needed")
          .Kv("service", svc.name)
          .Kv("check_output", check->output);
      return "not_needed";
    }
  }
  auto run = RunCommand(svc.restart, svc.timeout);
  if (!run.ok()) {
    LogError("restart_failed").Kv("service", svc.name).Kv("err", run.status());
    return "failed";
  }
  LogEvent(run->success() ? LogLevel::kInfo : LogLevel::kWarn,
           run->success() ? "restart_done" : "restart_failed")
      .Kv("service", svc.name)
      .Kv("exit_code", run->exit_code)
      .Kv("signal", run->term_signal)
      .Kv("timed_out", run->timed_out)
      .Kv("output", run->output);
  if (run->timed_out) return "timeout";
  return run->success() ? "ok" : "failed";
}

void Restarter::OnGreen(const std::string& target) {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<std::string> keys;
  for (const auto& k : limit_notified_) {
    if (k == target || (target == "host" && k.rfind("host/", 0) == 0)) {
      keys.push_back(k);
    }
  }
  for (const auto& k : keys) {
    limit_notified_.erase(k);
    kv_->Delete(kLimitNamespace, k).IgnoreError("stale flag: one mail fewer");
  }
}

}  // namespace rigwatch::actions
