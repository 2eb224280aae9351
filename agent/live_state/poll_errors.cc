#include "agent/live_state/poll_errors.h"

namespace rigwatch {

PollErrors::Change PollErrors::Record(std::string_view target,
                                      std::string_view result,
                                      std::string_view text, WallTime time) {
  const bool ok = result == "ok";
  std::lock_guard<std::mutex> l(mu_);
  auto [it, fresh] = by_target_.try_emplace(std::string(target));
  Entry& e = it->second;
  const bool was_failing = !fresh && e.current != "ok";
  const bool same = !fresh && e.current == result;
  e.current.assign(result);
  if (ok) {
    if (e.last) e.last->failing = false;
    return was_failing ? Change::kRecovered : Change::kNone;
  }
  e.last = PollError{std::string(result), std::string(text), time, true};
  if (same) return Change::kNone;
  return was_failing ? Change::kChanged : Change::kFailing;
}

std::optional<PollError> PollErrors::Last(std::string_view target) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = by_target_.find(std::string(target));
  if (it == by_target_.end()) return std::nullopt;
  return it->second.last;
}

void PollErrors::Remove(std::string_view target) {
  std::lock_guard<std::mutex> l(mu_);
  by_target_.erase(std::string(target));
}

}  // namespace rigwatch
