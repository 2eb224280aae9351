// The seam between the poll logic (PollEngine) and the network. The real
// implementation (LoopTransport) runs libcurl multi and raw TCP on one epoll
// loop; unit tests use a scripted fake.
#ifndef RIGWATCH_AGENT_POLLER_TRANSPORT_H_
#define RIGWATCH_AGENT_POLLER_TRANSPORT_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "agent/common/clock.h"
#include "agent/poller/types.h"
#include "exporters/exporter.h"

namespace rigwatch {

// One request/reply with one miner.
struct Exchange {
  Protocol protocol = Protocol::kHttp;
  std::string conn_key;  // the miner's name: one connection per miner
  std::string host;
  uint16_t port = 0;
  Request request;
  SteadyTime deadline;  // total; the exchange fails with kTimeout after it
  Duration connect_timeout{0};
  Duration first_byte_timeout{0};
  size_t max_response_bytes = 1 << 20;
  // Never reuse or keep the connection (restart requests: a retried POST
  // could restart the device twice).
  bool fresh_connection = false;
  // HTTP Digest credentials (kHttp only); empty username: none sent.
  std::string username;
  std::string password;
};

// The outcome. `result` is kOk iff response.transport is ok; otherwise it
// is the class the transport mapped the failure to (CURLcode/errno mapped
// once, in the transport).
struct ExchangeResult {
  Response response;
  PollResult result = PollResult::kOk;
};

using ExchangeId = uint64_t;
using ExchangeDone = std::function<void(ExchangeResult)>;

// Not thread-safe: used from the loop thread only.
class Transport {
 public:
  virtual ~Transport() = default;
  // Starts an exchange. `done` is called exactly once, later, from the loop
  // (never from inside Start), unless Abort is called first.
  virtual ExchangeId Start(Exchange exchange, ExchangeDone done) = 0;
  // Cancels an exchange in flight; its `done` is never called. Unknown or
  // finished ids are ignored.
  virtual void Abort(ExchangeId id) = 0;
  // The miner is gone: release its connection and any per-miner state.
  virtual void Forget(const std::string& conn_key) = 0;
};

}  // namespace rigwatch

#endif  // RIGWATCH_AGENT_POLLER_TRANSPORT_H_
