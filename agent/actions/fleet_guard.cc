#include "agent/actions/fleet_guard.h"

#include <algorithm>
#include <nlohmann/json.hpp>
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

namespace {
constexpr std::string_view kStateKey = "state";
using Json = nlohmann::json;
}  // namespace

Status FleetGuard::Load() {
  if (kv_ == nullptr) return Status::Ok();
  RW_ASSIGN_OR_RETURN(std::optional<std::string> v,
                      kv_->Get(kNamespace, kStateKey));
  if (!v) return Status::Ok();
  std::lock_guard<std::mutex> l(mu_);
  Json j = Json::parse(*v, nullptr, /*allow_exceptions=*/false);
  std::string err = "not a version 1 state";
  try {
    if (j.is_discarded() || !j.is_object() || j.value("v", 0) != 1) {
      j = Json();  // the at() below throws: dropped like a broken field
    }
    const bool tripped = j.at("tripped").get<bool>();
    const int bad = j.at("bad_rounds").get<int>();
    std::set<std::string> episode;
    for (const Json& t : j.at("episode")) episode.insert(t.get<std::string>());
    Notice n;
    if (j.contains("notice")) {
      const Json& jn = j["notice"];
      n.kind = jn.at("kind").get<std::string>();
      n.target = jn.at("target").get<std::string>();
      n.subject = jn.at("subject").get<std::string>();
      n.body = jn.at("body").get<std::string>();
      n.id = jn.at("id").get<std::string>();
    }
    tripped_.store(tripped);
    bad_rounds_ = std::clamp(bad, 0, opt_.rounds);
    pending_.store(!tripped && bad_rounds_ > 0);
    tripped_at_ms_ = j.value("tripped_at_ms", int64_t{0});
    episode_ = std::move(episode);
    last_notice_ = std::move(n);
    persisted_ = *v;
  } catch (const Json::exception& e) {
    if (!j.is_null()) err = e.what();
    LogWarn("fleet_guard_state_undecodable").Kv("value", *v).Kv("err", err);
    return kv_->Delete(kNamespace, kStateKey);
  }
  if (tripped_.load()) {
    LogWarn("fleet_guard_restored")
        .Kv("tripped", true)
        .Kv("episode_targets", static_cast<uint64_t>(episode_.size()));
  }
  return Status::Ok();
}

Notice FleetGuard::LastNotice() const {
  std::lock_guard<std::mutex> l(mu_);
  return last_notice_;
}

void FleetGuard::PersistLocked() {
  if (kv_ == nullptr) return;
  Json j;
  j["v"] = 1;
  j["tripped"] = tripped_.load();
  j["bad_rounds"] = bad_rounds_;
  j["tripped_at_ms"] = tripped_at_ms_;
  j["episode"] = episode_;  // a sorted set: the same state, the same text
  if (!last_notice_.kind.empty()) {
    j["notice"] = {{"kind", last_notice_.kind},
                   {"target", last_notice_.target},
                   {"subject", last_notice_.subject},
                   {"body", last_notice_.body},
                   {"id", last_notice_.id}};
  }
  std::string text = j.dump(-1, ' ', false, Json::error_handler_t::replace);
  if (text == persisted_) return;
  Status s = kv_->Put(kNamespace, kStateKey, text);
  if (!s.ok()) {
    // Kept in memory; the next round tries again.
    LogWarn("fleet_guard_state_not_persisted").Kv("err", s);
    return;
  }
  persisted_ = std::move(text);
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
      bad_rounds_ = std::min(bad_rounds_ + 1, opt_.rounds);
      if (!tripped_.load() && bad_rounds_ >= opt_.rounds) {
        tripped_.store(true);
        tripped_at_ms_ = ToUnixMillis(SystemClock::Default()->Now());
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
    pending_.store(!tripped_.load() && bad_rounds_ > 0);
    if (change == Change::kNone) {
      PersistLocked();
      return change;
    }
  }
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
  {
    // Persisted before it goes out: an agent that dies in between sends it
    // at its next start (Actions compares with what the notifier recorded);
    // the id makes a second copy the same mail.
    std::lock_guard<std::mutex> l(mu_);
    n.id = "fleet." + std::to_string(tripped_at_ms_) +
           (change == Change::kTripped ? ".down" : ".up");
    last_notice_ = n;
    PersistLocked();
  }
  if (notices_) notices_(n);
  return change;
}

}  // namespace rigwatch::actions
