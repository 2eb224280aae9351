// PollEngine's restart path: queued per miner behind its poll in flight,
// sent on a fresh connection, judged by the exporter.
#include "agent/common/log.h"
#include "agent/poller/engine.h"

namespace rigwatch {

void PollEngine::Restart(const std::string& name, Duration timeout,
                         std::function<void(Status)> done) {
  auto it = by_name_.find(name);
  if (it == by_name_.end()) {
    done(NotFoundError("restart: no configured miner named " + name));
    return;
  }
  Miner& m = *miners_[it->second];
  m.restarts.push_back(
      PendingRestart{clock_.SteadyNow() + timeout, std::move(done)});
  Reschedule(m);
}

void PollEngine::StartRestart(Miner& m) {
  const uint64_t id = m.id;
  ++in_flight_;
  m.restarting = true;
  m.exchange = transport_.Start(
      MakeExchange(m, m.exporter->RestartRequest(), m.restarts.front().deadline,
                   /*fresh=*/true),
      [this, id](ExchangeResult r) { OnRestartDone(id, std::move(r)); });
}

void PollEngine::OnRestartDone(uint64_t id, ExchangeResult r) {
  Miner* m = Find(id);
  if (m == nullptr) return;
  m->exchange.reset();
  m->restarting = false;
  --in_flight_;
  Status st = m->exporter->ParseRestartReply(r.response);
  PendingRestart pr = std::move(m->restarts.front());
  m->restarts.erase(m->restarts.begin());
  if (st.ok()) {
    LogInfo("miner_restart_requested").Kv("miner", m->target.name);
  } else {
    st = st.WithContext(m->context + ": restart");
  }
  pr.done(st);
  Reschedule(*m);
}

}  // namespace rigwatch
