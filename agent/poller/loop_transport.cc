#include "agent/poller/loop_transport.h"

#include "agent/common/curl.h"

namespace rigwatch {

LoopTransport::LoopTransport(EventLoop& loop, size_t max_hosts)
    : loop_(loop),
      http_((curl::EnsureGlobalInit(), loop), max_hosts,
            [this](ExchangeId id, ExchangeResult r) {
              Complete(id, std::move(r));
            }),
      tcp_(loop, [this](ExchangeId id, ExchangeResult r) {
        Complete(id, std::move(r));
      }) {}

LoopTransport::~LoopTransport() {
  for (auto& [id, p] : pending_) {
    if (p.delivery) loop_.CancelTimer(*p.delivery);
  }
}

ExchangeId LoopTransport::Start(Exchange ex, ExchangeDone done) {
  const ExchangeId id = next_id_++;
  const Protocol proto = ex.protocol;
  pending_.emplace(id, Pending{proto, std::move(done), std::nullopt});
  if (proto == Protocol::kHttp) {
    http_.Start(id, std::move(ex));
  } else {
    tcp_.Start(id, std::move(ex));
  }
  return id;
}

void LoopTransport::Complete(ExchangeId id, ExchangeResult r) {
  auto it = pending_.find(id);
  if (it == pending_.end()) return;
  // Deliver on a later turn: the client may be inside Start, or deep in a
  // libcurl callback chain.
  it->second.delivery =
      loop_.AddTimer(SteadyTime::min(), [this, id, r = std::move(r)]() mutable {
        auto it = pending_.find(id);
        if (it == pending_.end()) return;
        ExchangeDone done = std::move(it->second.done);
        pending_.erase(it);
        done(std::move(r));
      });
}

void LoopTransport::Abort(ExchangeId id) {
  auto it = pending_.find(id);
  if (it == pending_.end()) return;
  if (it->second.delivery) {
    loop_.CancelTimer(*it->second.delivery);
  } else if (it->second.protocol == Protocol::kHttp) {
    http_.Abort(id);
  } else {
    tcp_.Abort(id);
  }
  pending_.erase(it);
}

void LoopTransport::Forget(const std::string& conn_key) {
  http_.Forget(conn_key);
}

}  // namespace rigwatch
