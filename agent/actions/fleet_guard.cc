#include "agent/actions/fleet_guard.h"

#include <string>

#include "agent/common/log.h"

namespace rigwatch::actions {

std::string FleetGuardOptionsError(const FleetGuardOptions& o) {
  if (!(o.fraction > 0 && o.fraction <= 1)) {
    return "guard fraction must be in (0, 1]";
  }
  if (o.min_failed < 1) return "guard min_failed must be at least 1";
  if (o.rounds < 1) return "guard rounds must be at least 1";
  return "";
}

bool FleetGuard::RoundIsBad(std::size_t targets, std::size_t fresh) const {
  if (targets == 0 || fresh < opt_.min_failed) return false;
  return static_cast<double>(fresh) >
         opt_.fraction * static_cast<double>(targets);
}

std::size_t FleetGuard::NewFailuresLocked(
    const std::vector<std::string>& failed, const Excused& excused) {
  // Failing longer than this before the episode: an outage of its own.
  const int fresh_rounds = opt_.rounds + 2;
  std::map<std::string, Streak> next;
  std::size_t n = 0;
  for (const std::string& t : failed) {
    auto old = streaks_.find(t);
    Streak s;
    if (old != streaks_.end()) {
      s = old->second;
    } else {
      s.excused = excused && excused(t);
    }
    ++s.rounds;
    if (!s.excused && (s.rounds <= fresh_rounds || episode_.count(t) != 0)) {
      ++n;
      episode_.insert(t);
    }
    next.emplace(t, s);
  }
  streaks_ = std::move(next);
  return n;
}

FleetGuard::Change FleetGuard::OnRound(std::size_t targets,
                                       const std::vector<std::string>& failed,
                                       const Excused& excused) {
  if (targets == 0) return Change::kNone;
  std::size_t fresh = 0;
  Change change = Change::kNone;
  {
    std::lock_guard<std::mutex> l(mu_);
    fresh = NewFailuresLocked(failed, excused);
    if (RoundIsBad(targets, fresh)) {
      ++bad_rounds_;
      if (!tripped_.load() && bad_rounds_ >= opt_.rounds) {
        tripped_.store(true);
        change = Change::kTripped;
      }
    } else {
      bad_rounds_ = 0;
      if (tripped_.load()) {
        tripped_.store(false);
        change = Change::kRecovered;
      }
      episode_.clear();
    }
  }
  if (change == Change::kNone) return change;
  const std::string counts =
      std::to_string(failed.size()) + " of " + std::to_string(targets);
  Notice n;
  n.target = "fleet";
  if (change == Change::kTripped) {
    LogWarn("fleet_unreachable")
        .Kv("failed", static_cast<uint64_t>(failed.size()))
        .Kv("new_failures", static_cast<uint64_t>(fresh))
        .Kv("targets", static_cast<uint64_t>(targets));
    n.kind = "fleet_unreachable";
    n.subject = "fleet unreachable: " + counts + " targets failed";
    n.body = counts + " targets failed (" + std::to_string(fresh) +
             " of them newly) for " + std::to_string(opt_.rounds) +
             (opt_.rounds == 1 ? " poll round" : " poll rounds in a row") +
             ". This usually means a network or power problem rather than "
             "the miners themselves.\n"
             "Restarts are suspended and per-miner notifications are held "
             "until the fleet is reachable again.\n";
  } else {
    LogInfo("fleet_reachable")
        .Kv("failed", static_cast<uint64_t>(failed.size()))
        .Kv("targets", static_cast<uint64_t>(targets));
    n.kind = "fleet_reachable";
    n.subject = "fleet reachable again: " + counts + " targets failing";
    n.body = "The fleet is reachable again (" + counts +
             " targets failing in the last round). Normal judging, restarts "
             "and notifications resume.\n";
  }
  if (notices_) notices_(n);
  return change;
}

}  // namespace rigwatch::actions
