// PollEngine's `kind: auto` path: the probe steps of exporters/probe.h run
// as a poll would (same slot, deadline, transport limits and backoff), the
// decision logged once per change, and the triggers for probing again.
#include "agent/common/log.h"
#include "agent/poller/engine.h"

namespace rigwatch {

bool PollEngine::Registered(std::string_view kind) const {
  return lookup_(kind) != nullptr;
}

void PollEngine::SetContext(Miner& m) {
  uint16_t port = m.effective.port;
  if (port == 0) port = probe::kDefaultApiPort;  // `kind: auto`, not told yet
  m.context = m.effective.kind + " " + m.effective.name + " (" +
              FormatHostPort(m.effective.host, port) + ")";
}

void PollEngine::StartProbe(Miner& m) {
  m.probe_replies = {};
  m.probe_failure = PollResult::kOk;
  m.poll_start = clock_.Now();
  m.poll_start_steady = clock_.SteadyNow();
  m.poll_deadline = m.poll_start_steady + opts_.timeout;
  ++in_flight_;
  ContinueProbe(m);
}

void PollEngine::ContinueProbe(Miner& m) {
  std::optional<probe::Source> next = probe::NextStep(
      m.probe_replies, [this](std::string_view k) { return Registered(k); });
  if (!next) {
    --in_flight_;
    FinishProbe(m);
    return;
  }
  m.probe_step = *next;
  // A probe exchange needs no credentials, so it cannot fail to build.
  Result<Exchange> ex = MakeExchange(m, probe::RequestFor(*next),
                                     m.poll_deadline, /*fresh=*/false);
  const uint64_t id = m.id;
  m.exchange = transport_.Start(
      std::move(ex).value(),
      [this, id](ExchangeResult r) { OnProbeDone(id, std::move(r)); });
}

void PollEngine::OnProbeDone(uint64_t id, ExchangeResult r) {
  Miner* m = Find(id);
  if (m == nullptr) return;
  m->exchange.reset();
  if (!r.response.transport.ok() && m->probe_failure == PollResult::kOk) {
    m->probe_failure =
        r.result == PollResult::kOk ? PollResult::kRefused : r.result;
  }
  switch (m->probe_step) {
    case probe::Source::kVersion:
      m->probe_replies.version = std::move(r.response);
      break;
    case probe::Source::kDevdetails:
      m->probe_replies.devdetails = std::move(r.response);
      break;
    case probe::Source::kWeb:
      m->probe_replies.web = std::move(r.response);
      break;
  }
  ContinueProbe(*m);
  Reschedule(*m);
}

void PollEngine::FinishProbe(Miner& m) {
  std::optional<probe::Decision> d = probe::Decide(
      m.probe_replies, [this](std::string_view k) { return Registered(k); });
  if (!d) {
    // Down, with the reason; retried with the poll backoff.
    const std::string why = probe::Explain(m.probe_replies);
    // Nothing answered: the transport's class; an answer without a marker
    // is a reply rigwatch cannot read.
    bool answered = false;
    for (const auto* r : {&m.probe_replies.version, &m.probe_replies.devdetails,
                          &m.probe_replies.web}) {
      answered = answered || (*r && (*r)->transport.ok());
    }
    const PollResult cls = answered || m.probe_failure == PollResult::kOk
                               ? PollResult::kParseError
                               : m.probe_failure;
    m.probe_replies = {};
    m.effective.kind = std::string(probe::kAutoKind);
    m.effective.port = m.target.port;
    SetContext(m);
    FinishPoll(
        m, cls,
        UnavailableError(m.context + ": kind: auto could not tell: " + why),
        std::nullopt);
    return;
  }
  m.probe_replies = {};
  const Exporter* e = lookup_(d->kind);
  if (d->kind != m.effective.kind) {
    // Another exporter reads the miner now: its identity starts afresh
    // instead of counting as churn.
    m.info.reset();
    m.info_changed.reset();
  }
  m.exporter = e;
  m.effective.kind = d->kind;
  // The port the evidence came from: the web port for an HTTP kind.
  if (e->GetProtocol() == Protocol::kHttp) {
    m.effective.port =
        m.target.http_port != 0 ? m.target.http_port : probe::kDefaultWebPort;
  } else {
    m.effective.port = m.target.port != 0 ? m.target.port : e->DefaultPort();
  }
  SetContext(m);
  m.probed_firmware.reset();
  m.malformed_polls = 0;
  if (!m.decision || *m.decision != *d) {
    LogInfo("miner_kind_detected")
        .Kv("miner", m.target.name)
        .Kv("kind", d->kind)
        .Kv("evidence", d->evidence);
    m.decision = std::move(d);
  }
  // The poll of this slot follows at once.
  StartPoll(m);
}

void PollEngine::MaybeReprobe(Miner& m, PollResult result,
                              const std::optional<ScrapeResult>& scrape) {
  if (m.exporter == nullptr) return;  // the probe itself failed
  std::string reason;
  if (result == PollResult::kOk && scrape) {
    m.malformed_polls = 0;
    if (!m.probed_firmware) {
      m.probed_firmware = scrape->info.firmware;
    } else if (*m.probed_firmware != scrape->info.firmware) {
      reason = "firmware changed from \"" + *m.probed_firmware + "\" to \"" +
               scrape->info.firmware + "\"";
    }
  } else if (result == PollResult::kParseError) {
    if (++m.malformed_polls >= kReprobeAfterMalformedPolls) {
      reason = std::to_string(m.malformed_polls) + " malformed polls in a row";
    }
  } else {
    m.malformed_polls = 0;
  }
  if (reason.empty()) return;
  LogInfo("miner_kind_reprobe")
      .Kv("miner", m.target.name)
      .Kv("kind", m.effective.kind)
      .Kv("reason", reason);
  m.exporter = nullptr;  // the next attempt probes
}

}  // namespace rigwatch
