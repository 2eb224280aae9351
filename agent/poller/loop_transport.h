// The real Transport: HTTP through libcurl multi (HttpClient) and CGMiner
// TCP (TcpClient), both on one EventLoop. Completions are delivered on a
// later loop turn, never from inside Start (transport.h).
#ifndef RIGWATCH_AGENT_POLLER_LOOP_TRANSPORT_H_
#define RIGWATCH_AGENT_POLLER_LOOP_TRANSPORT_H_

#include <memory>
#include <string>
#include <unordered_map>

#include "agent/poller/event_loop.h"
#include "agent/poller/http_client.h"
#include "agent/poller/tcp_client.h"
#include "agent/poller/transport.h"

namespace rigwatch {

// Loop-thread only. `loop` must outlive it.
class LoopTransport final : public Transport {
 public:
  LoopTransport(EventLoop& loop, size_t max_hosts_per_curl_multi);
  ~LoopTransport() override;

  ExchangeId Start(Exchange exchange, ExchangeDone done) override;
  void Abort(ExchangeId id) override;
  void Forget(const std::string& conn_key) override;

  size_t in_flight() const { return pending_.size(); }
  size_t curl_multi_handles() const { return http_.shards(); }

 private:
  struct Pending {
    Protocol protocol;
    ExchangeDone done;
    std::optional<EventLoop::TimerId> delivery;  // set once completed
  };
  void Complete(ExchangeId id, ExchangeResult r);

  EventLoop& loop_;
  ExchangeId next_id_ = 1;
  std::unordered_map<ExchangeId, Pending> pending_;
  // Declared after pending_: destroyed first, so their destructors (which
  // abort without completing) never touch a dead map.
  HttpClient http_;
  TcpClient tcp_;
};

}  // namespace rigwatch

#endif  // RIGWATCH_AGENT_POLLER_LOOP_TRANSPORT_H_
