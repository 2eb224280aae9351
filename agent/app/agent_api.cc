// The Agent as the HTTP API's source: reads and mutes go to the component
// that owns them.
#include "agent/actions/actions.h"
#include "agent/app/agent.h"
#include "agent/app/pipeline.h"
#include "agent/http/server.h"
#include "agent/rules/engine.h"
#include "agent/store/store.h"

namespace rigwatch {

std::optional<PollError> Agent::LastPollError(std::string_view miner) const {
  if (!pipeline_) return std::nullopt;
  return pipeline_->poll_errors().Last(miner);
}

Result<std::vector<store::SeriesKey>> Agent::MatchSeries(
    const store::Selector& sel) {
  if (!store_) return UnavailableError("the store is not open");
  return store_->MatchSeries(sel);
}

Result<std::vector<store::SeriesPoints>> Agent::Select(
    const store::Selector& sel, WallTime from, WallTime to) {
  if (!store_) return UnavailableError("the store is not open");
  return store_->Select(sel, from, to);
}

Result<std::unique_ptr<store::RowIterator>> Agent::Scan(WallTime from,
                                                        WallTime to) {
  if (!store_) return UnavailableError("the store is not open");
  return store_->Scan(from, to);
}

std::vector<rules::AlertView> Agent::Alerts(bool include_unknown) const {
  if (!rules_) return {};
  return rules_->Alerts(include_unknown);
}

std::string Agent::AlertsJson(bool include_unknown) const {
  if (!rules_) return "{\"alerts\":[]}";
  return rules_->AlertsJson(include_unknown);
}

Status Agent::Mute(std::string_view target, WallTime until) {
  if (!rules_) return UnavailableError("rules are not running");
  return rules_->Mute(target, until);
}

Status Agent::Unmute(std::string_view target) {
  if (!rules_) return UnavailableError("rules are not running");
  return rules_->Unmute(target);
}

Result<api::ApiSource::RestartOutcome> Agent::RestartMiner(
    std::string_view miner, bool force) {
  std::shared_ptr<actions::Actions> a = CurrentActions();
  if (!a) return UnavailableError("actions are not running");
  const std::string name(miner);
  {
    std::lock_guard<std::mutex> l(targets_mu_);
    if (target_names_.count(name) == 0) {
      return NotFoundError("no miner named \"" + name +
                           "\" is being watched (neither under miners: nor "
                           "in miner_files)");
    }
  }
  actions::Restarter::Outcome o = a->RestartByName(name, force);
  return RestartOutcome{o.result, o.reason};
}

}  // namespace rigwatch
