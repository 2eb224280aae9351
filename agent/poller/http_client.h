// AxeOS HTTP transport: libcurl multi handles driven by the EventLoop via
// the socket-action API. Miners are spread over several multi handles of at
// most `max_hosts_per_multi` hosts each (docs/architecture.md "Transports":
// libcurl's per-multi tables slow down with many hosts). One connection per
// miner, keep-alive allowed; libcurl retries once on a reused connection the
// device closed.
#ifndef RIGWATCH_AGENT_POLLER_HTTP_CLIENT_H_
#define RIGWATCH_AGENT_POLLER_HTTP_CLIENT_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "agent/poller/event_loop.h"
#include "agent/poller/transport.h"

namespace rigwatch {

// Loop-thread only.
class HttpClient {
 public:
  using CompleteFn = std::function<void(ExchangeId, ExchangeResult)>;
  // Call curl_global_init first (LoopTransport does).
  HttpClient(EventLoop& loop, size_t max_hosts_per_multi, CompleteFn complete);
  // Aborts whatever is in flight (no callbacks).
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Starts an exchange; `complete` may be called from inside Start (an
  // immediate failure). Abort cancels without calling it.
  void Start(ExchangeId id, Exchange ex);
  void Abort(ExchangeId id);
  // The miner is gone: its shard slot is freed.
  void Forget(const std::string& conn_key);

  size_t shards() const { return shards_.size(); }
  size_t in_flight() const { return xfers_.size(); }

 private:
  struct Shard;
  struct Xfer;
  friend struct HttpCallbacks;  // libcurl's C callbacks (http_client.cc)

  Shard& ShardFor(const std::string& conn_key);
  void Action(Shard& sh, int fd, int ev_bitmask);
  void Drain(Shard& sh);
  void Finish(Xfer& x, int curl_code);
  void FailEarly(Xfer& x, Status st, PollResult cls);
  void Release(ExchangeId id);

  EventLoop& loop_;
  size_t max_hosts_;
  CompleteFn complete_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::unordered_map<std::string, size_t> shard_of_;
  std::unordered_map<ExchangeId, std::unique_ptr<Xfer>> xfers_;
};

}  // namespace rigwatch

#endif  // RIGWATCH_AGENT_POLLER_HTTP_CLIENT_H_
