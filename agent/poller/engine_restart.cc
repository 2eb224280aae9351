// PollEngine's restart path: queued per miner behind its poll in flight, run
// as the exporter's chain of exchanges (Exporter::NextRestartRequest), each
// on a fresh connection, judged by the exporter.
#include "agent/common/log.h"
#include "agent/poller/engine.h"
#include "agent/poller/exchange.h"

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
  ++in_flight_;
  m.restarting = true;
  m.restart_replies.clear();
  ContinueRestart(m);
}

void PollEngine::ContinueRestart(Miner& m) {
  if (m.exporter == nullptr) {
    FinishRestart(m, FailedPreconditionError(
                         "kind: auto has not told the miner's kind yet"));
    return;
  }
  Credentials login;
  if (m.exporter->RestartUsesLogin()) {
    Result<Credentials> c = LoginFor(*m.exporter, m.target);
    if (!c.ok()) {
      FinishRestart(m, c.status());
      return;
    }
    login = std::move(c).value();
  }
  Result<std::optional<Request>> next =
      m.exporter->NextSignedRestartRequest(m.restart_replies, login);
  if (!next.ok()) {
    FinishRestart(m, next.status());
    return;
  }
  if (!next->has_value()) {
    FinishRestart(
        m, m.restart_replies.empty()
               ? InternalError("the kind's restart chain is empty")
               : m.exporter->ParseSignedRestartReply(m.restart_replies, login));
    return;
  }
  Result<Exchange> ex =
      MakeExchange(m, std::move(**next), m.restarts.front().deadline,
                   /*fresh=*/true);
  if (!ex.ok()) {
    FinishRestart(m, ex.status());
    return;
  }
  const uint64_t id = m.id;
  m.exchange = transport_.Start(
      std::move(ex).value(),
      [this, id](ExchangeResult r) { OnRestartDone(id, std::move(r)); });
}

void PollEngine::OnRestartDone(uint64_t id, ExchangeResult r) {
  Miner* m = Find(id);
  if (m == nullptr) return;
  m->exchange.reset();
  m->restart_replies.push_back(std::move(r.response));
  ContinueRestart(*m);
}

void PollEngine::FinishRestart(Miner& m, Status st) {
  m.restarting = false;
  m.restart_replies.clear();
  --in_flight_;
  PendingRestart pr = std::move(m.restarts.front());
  m.restarts.erase(m.restarts.begin());
  if (st.ok()) {
    LogInfo("miner_restart_requested").Kv("miner", m.target.name);
  } else {
    st = st.WithContext(m.context + ": restart");
  }
  pr.done(st);
  Reschedule(m);
}

}  // namespace rigwatch
