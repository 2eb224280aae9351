// Alertmanager API v2 push: POST {url}/api/v2/alerts with a JSON array.
#ifndef RIGWATCH_AGENT_ACTIONS_ALERTMANAGER_H_
#define RIGWATCH_AGENT_ACTIONS_ALERTMANAGER_H_

#include <map>
#include <string>
#include <vector>

#include "agent/actions/outbox.h"
#include "agent/common/clock.h"
#include "agent/common/status.h"

namespace rigwatch::actions {

struct AlertmanagerOptions {
  std::string url;  // "http://127.0.0.1:9093"; empty: disabled
  Duration timeout = std::chrono::seconds(10);
  // Active alerts are re-sent this often, with endsAt = now + 4 intervals,
  // so Alertmanager resolves them by itself if the agent goes away.
  Duration resend_interval = std::chrono::minutes(1);
};

struct AmAlert {
  std::map<std::string, std::string> labels;  // alertname, miner, severity...
  std::map<std::string, std::string> annotations;  // summary, description
  WallTime starts_at{};
  WallTime ends_at{};
  std::string generator_url;  // empty: omitted
};

// The request body for POST /api/v2/alerts. Label names are made valid
// ([a-zA-Z_][a-zA-Z0-9_]*, other characters become '_'); invalid UTF-8 in
// values is replaced. Never fails on content; fails with Internal only if
// the JSON library reports an error.
Result<std::string> AlertsToJson(const std::vector<AmAlert>& alerts);

// Delivers AlertsToJson payloads. Ok on HTTP 2xx; Unavailable otherwise
// (the outbox retries). Thread-safe.
class AlertmanagerChannel final : public OutboxChannel {
 public:
  explicit AlertmanagerChannel(AlertmanagerOptions options);
  Status Deliver(const std::string& payload, std::stop_token stop) override;
  // Up to 500 alerts per POST: the JSON arrays are joined into one.
  std::size_t max_batch() const override { return 500; }
  Status DeliverBatch(const std::vector<const std::string*>& payloads,
                      std::stop_token stop) override;
  Duration attempt_timeout() const override { return opt_.timeout; }

 private:
  AlertmanagerOptions opt_;
};

}  // namespace rigwatch::actions

#endif  // RIGWATCH_AGENT_ACTIONS_ALERTMANAGER_H_
