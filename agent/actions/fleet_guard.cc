#include "agent/actions/fleet_guard.h"

#include <string>

#include "agent/common/log.h"

namespace rigwatch::actions {

FleetGuard::Change FleetGuard::OnRound(std::size_t targets,
                                       std::size_t failed) {
  if (targets == 0) return Change::kNone;
  const double frac =
      static_cast<double>(failed) / static_cast<double>(targets);
  const bool bad = frac > fraction_;
  Notice n;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (bad == tripped_.load()) return Change::kNone;
    tripped_.store(bad);
  }
  const std::string counts =
      std::to_string(failed) + " of " + std::to_string(targets);
  n.target = "fleet";
  if (bad) {
    LogWarn("fleet_unreachable")
        .Kv("failed", static_cast<uint64_t>(failed))
        .Kv("targets", static_cast<uint64_t>(targets));
    n.kind = "fleet_unreachable";
    n.subject = "fleet unreachable: " + counts + " targets failed";
    n.body = counts +
             " targets failed in the same poll round. This usually means a "
             "network or power problem rather than the miners themselves.\n"
             "Restarts are suspended and per-miner notifications are held "
             "until the fleet is reachable again.\n";
  } else {
    LogInfo("fleet_reachable")
        .Kv("failed", static_cast<uint64_t>(failed))
        .Kv("targets", static_cast<uint64_t>(targets));
    n.kind = "fleet_reachable";
    n.subject = "fleet reachable again: " + counts + " targets failing";
    n.body = "The fleet is reachable again (" + counts +
             " targets failing in the last round). Normal judging, restarts "
             "and notifications resume.\n";
  }
  if (notices_) notices_(n);
  return bad ? Change::kTripped : Change::kRecovered;
}

}  // namespace rigwatch::actions
