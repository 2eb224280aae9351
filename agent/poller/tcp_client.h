// CGMiner-API transport: one request per non-blocking TCP connection on the
// EventLoop. Connects, sends the payload in one write (never a newline),
// reads to EOF (docs/protocols.md §2.1, §5.1). Host names are resolved on a
// helper thread so the loop never blocks in getaddrinfo.
#ifndef RIGWATCH_AGENT_POLLER_TCP_CLIENT_H_
#define RIGWATCH_AGENT_POLLER_TCP_CLIENT_H_

#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <unordered_map>

#include "agent/common/periodic_worker.h"
#include "agent/poller/event_loop.h"
#include "agent/poller/transport.h"

namespace rigwatch {

// Loop-thread only, except for its resolver thread (internal).
class TcpClient {
 public:
  // `complete` receives each exchange's outcome (from the loop thread,
  // possibly from inside Start; LoopTransport defers it).
  using CompleteFn = std::function<void(ExchangeId, ExchangeResult)>;
  TcpClient(EventLoop& loop, CompleteFn complete);
  // Aborts whatever is in flight (no callbacks) and joins the resolver.
  ~TcpClient();

  // Starts an exchange; Abort cancels it without calling `complete`.
  void Start(ExchangeId id, Exchange ex);
  void Abort(ExchangeId id);
  size_t in_flight() const { return conns_.size(); }

 private:
  struct Conn;
  void Resolved(ExchangeId id, Result<std::string> sockaddr_bytes);
  void Connect(Conn& c, const void* addr, unsigned addrlen);
  void OnEvents(ExchangeId id, uint32_t ev);
  void OnTimer(ExchangeId id);
  void ArmTimer(Conn& c);
  void Finish(ExchangeId id, Status st, PollResult cls);
  void Close(Conn& c);
  // One run of the resolver thread: every queued lookup, one at a time.
  Duration ResolveQueued(std::stop_token st);

  EventLoop& loop_;
  CompleteFn complete_;
  std::unordered_map<ExchangeId, std::unique_ptr<Conn>> conns_;

  // Resolver thread: (id, host, port) in, sockaddr bytes or error out via
  // loop_.Post. `alive_` guards the posted callbacks against destruction.
  struct Lookup {
    ExchangeId id;
    std::string host;
    uint16_t port;
  };
  std::shared_ptr<bool> alive_;
  std::mutex mu_;
  std::deque<Lookup> lookups_;
  // Started by the first lookup; Start() wakes it for each one.
  PeriodicWorker resolver_{
      "resolver", [this](std::stop_token st) { return ResolveQueued(st); }};
};

}  // namespace rigwatch

#endif  // RIGWATCH_AGENT_POLLER_TCP_CLIENT_H_
