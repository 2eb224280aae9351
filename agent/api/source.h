// ApiSource: what the HTTP API reads and the few things it changes, and
// nothing else. The app implements it over the live state, the store and
// the rule engine; tests implement it with a fake.
#ifndef RIGWATCH_AGENT_API_SOURCE_H_
#define RIGWATCH_AGENT_API_SOURCE_H_

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/common/clock.h"
#include "agent/common/status.h"
#include "agent/live_state/poll_errors.h"
#include "agent/rules/engine.h"
#include "agent/store/store.h"

namespace rigwatch::api {

class ApiSource {
 public:
  virtual ~ApiSource() = default;

  virtual WallTime Now() const = 0;
  // Live state.
  virtual bool Ready() const = 0;
  virtual std::string RenderMetrics() const = 0;  // /metrics text
  // Background loops that have not beaten within their bound (/healthz).
  virtual std::vector<std::string> StuckLoops() const = 0;
  virtual std::optional<PollError> LastPollError(
      std::string_view miner) const = 0;

  // Store queries; Unavailable when the store is not open.
  virtual bool HasStore() const = 0;
  virtual Result<std::vector<store::SeriesKey>> MatchSeries(
      const store::Selector& sel) = 0;
  virtual Result<std::vector<store::SeriesPoints>> Select(
      const store::Selector& sel, WallTime from, WallTime to) = 0;
  // Points of one series with from <= ts < to (store::Store::ReadRange).
  virtual Result<std::vector<store::Point>> ReadRange(
      const store::SeriesKey& key, WallTime from, WallTime to) = 0;
  virtual Result<std::unique_ptr<store::RowIterator>> Scan(WallTime from,
                                                           WallTime to) = 0;

  // Rule states and muting; HasRules false while the rules are not running.
  virtual bool HasRules() const = 0;
  virtual std::vector<rules::AlertView> Alerts(bool include_unknown) const = 0;
  virtual std::string AlertsJson(bool include_unknown) const = 0;
  // NotFound when the target is neither a configured miner nor the host.
  virtual Status Mute(std::string_view target, WallTime until) = 0;
  virtual Status Unmute(std::string_view target) = 0;

  // A miner restart asked for by name, through the same journal, cooldown,
  // limit and fleet guard as a rule's restart; `force` skips cooldown and
  // limit. Blocks for the restart. NotFound when no watched miner (config
  // or miner_files) has that name, Unavailable while actions are not
  // running; otherwise the outcome, sent or not.
  struct RestartOutcome {
    std::string result;  // ok, failed, timeout, cooldown, limit, suppressed...
    std::string reason;  // why it was not sent or failed; empty on ok
  };
  virtual Result<RestartOutcome> RestartMiner(std::string_view miner,
                                              bool force) = 0;
  // {"mutations":[...]}: the most recent changes made through the API, newest
  // first, at most `limit` (MutationJson objects). Unavailable without a
  // store (the log still has every one).
  virtual Result<std::string> MutationsJson(size_t limit) = 0;
  // Host services: {"services":[...]} (ServiceMonitor::StatesJson), and a
  // person's reset of one service's restart limit (NotFound for a name
  // that is not a service with a restart command).
  virtual std::string ServicesJson() const { return "{\"services\":[]}"; }
  virtual Status ResetService(std::string_view /*name*/) {
    return UnavailableError("host services are not running");
  }
  // GET /api/v1/health: overall status, host usage, services, fleet counts.
  virtual std::string HealthJson() const {
    return "{\"overall_status\":\"OK\"}";
  }
};

}  // namespace rigwatch::api

#endif  // RIGWATCH_AGENT_API_SOURCE_H_
