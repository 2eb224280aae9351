#include "agent/poller/engine.h"

#include <algorithm>
#include <set>
#include <utility>

#include "agent/common/log.h"
#include "agent/poller/exchange.h"
#include "exporters/label_caps.h"
#include "exporters/miner_metrics.h"
#include "exporters/registry.h"

namespace rigwatch {
namespace {

bool IsCounter(std::string_view name) {
  const MetricDesc* d = FindDesc(MinerMetricDescs(), name);
  return d != nullptr && d->type == MetricType::kCounter;
}

// Classifies a failed Parse. The parser's code is the first word; HTTP
// statuses decide when the parser only saw a body it could not read.
PollResult ClassifyParseFailure(const Status& st,
                                const std::vector<Response>& responses) {
  if (st.code() == StatusCode::kPermissionDenied) return PollResult::kDenied;
  for (const Response& r : responses) {
    if (r.http_status == 401 || r.http_status == 403) {
      return PollResult::kDenied;
    }
  }
  for (const Response& r : responses) {
    if (r.http_status >= 400) return PollResult::kHttpError;
  }
  if (st.code() == StatusCode::kUnavailable) return PollResult::kRefused;
  return PollResult::kParseError;
}

}  // namespace

PollEngine::PollEngine(const PollerOptions& opts, const Clock& clock,
                       Transport& transport, PollSink& sink,
                       PollerMetrics* metrics, ExporterLookup lookup,
                       uint64_t seed)
    : opts_(opts),
      clock_(clock),
      transport_(transport),
      sink_(sink),
      metrics_(metrics),
      lookup_(std::move(lookup)),
      rng_(seed),
      epoch_(clock.SteadyNow()),
      next_round_(epoch_ + opts.interval) {}

PollEngine::~PollEngine() {
  for (auto& [id, m] : miners_) {
    if (m->exchange) transport_.Abort(*m->exchange);
    for (PendingRestart& r : m->restarts) {
      r.done(UnavailableError(m->context + ": poller stopped"));
    }
  }
}

PollEngine::Miner* PollEngine::Find(uint64_t id) {
  auto it = miners_.find(id);
  return it == miners_.end() ? nullptr : it->second.get();
}

Status PollEngine::SetTargets(std::vector<MinerTarget> targets) {
  std::vector<std::string> problems;
  std::map<std::string, std::pair<MinerTarget, const Exporter*>> wanted;
  for (MinerTarget& t : targets) {
    const bool is_auto = t.kind == probe::kAutoKind;
    const Exporter* e = is_auto ? nullptr : lookup_(t.kind);
    if (e == nullptr && !is_auto) {
      problems.push_back("miner " + t.name + ": unknown kind \"" + t.kind +
                         "\"");
      continue;
    }
    // `kind: auto` keeps port 0: the probe's default, then the told kind's.
    if (t.port == 0 && e != nullptr) t.port = e->DefaultPort();
    if (wanted.count(t.name)) {
      problems.push_back("miner " + t.name + ": duplicate name");
      continue;
    }
    std::string name = t.name;
    wanted.emplace(std::move(name), std::make_pair(std::move(t), e));
  }
  // Removed or changed miners go first, so a changed one is re-added fresh.
  std::vector<uint64_t> gone;
  for (const auto& [name, id] : by_name_) {
    auto it = wanted.find(name);
    if (it == wanted.end() || !(it->second.first == miners_[id]->target)) {
      gone.push_back(id);
    }
  }
  for (uint64_t id : gone) RemoveMiner(id, /*report=*/true);
  for (auto& [name, tw] : wanted) {
    if (!by_name_.count(name)) AddMiner(std::move(tw.first), tw.second);
  }
  if (metrics_ != nullptr) {
    std::map<std::string, int> counts;
    for (const auto& [id, m] : miners_) ++counts[m->target.kind];
    metrics_->SetTargets(counts);
  }
  if (problems.empty()) return Status::Ok();
  std::string msg = "targets skipped:";
  for (const std::string& p : problems) msg += " " + p + ";";
  msg.pop_back();
  return InvalidArgumentError(msg);
}

void PollEngine::AddMiner(MinerTarget target, const Exporter* exporter) {
  auto m = std::make_unique<Miner>(
      MinerSchedule(opts_, target.name, epoch_, clock_.SteadyNow()));
  m->id = next_id_++;
  m->auto_kind = target.kind == probe::kAutoKind;
  m->effective = target;
  m->target = std::move(target);
  m->exporter = exporter;
  SetContext(*m);
  Miner& ref = *m;
  by_name_[ref.target.name] = ref.id;
  miners_.emplace(ref.id, std::move(m));
  Reschedule(ref);
}

void PollEngine::RemoveMiner(uint64_t id, bool report) {
  auto it = miners_.find(id);
  if (it == miners_.end()) return;
  std::unique_ptr<Miner> m = std::move(it->second);
  miners_.erase(it);
  by_name_.erase(m->target.name);
  if (m->exchange) {
    transport_.Abort(*m->exchange);
    --in_flight_;
  }
  transport_.Forget(m->target.name);
  for (PendingRestart& r : m->restarts) {
    r.done(UnavailableError(m->context + ": removed from the configuration"));
  }
  if (report) sink_.OnRemoved(m->effective);
}

void PollEngine::Reschedule(Miner& m) {
  SteadyTime t = m.schedule.next_slot();
  if (!m.exchange) {
    t = std::min(t, m.schedule.next_attempt());
    if (!m.restarts.empty()) t = clock_.SteadyNow();
  } else {
    for (const PendingRestart& r : m.restarts) t = std::min(t, r.deadline);
  }
  wakes_.push(Wake{t, m.id, ++m.wake_gen});
}

SteadyTime PollEngine::Tick() {
  const SteadyTime now = clock_.SteadyNow();
  if (now >= next_round_) {
    // One report for the round that just ended, even if the loop was late
    // by more than an interval.
    EmitRound(clock_.Now());
    while (next_round_ <= now) next_round_ += opts_.interval;
  }
  while (!wakes_.empty() && wakes_.top().t <= now) {
    Wake w = wakes_.top();
    wakes_.pop();
    Miner* m = Find(w.id);
    if (m == nullptr || m->wake_gen != w.gen) continue;  // stale entry
    Visit(*m, now);
    // Visit may have removed nothing, but it may have re-entered the
    // transport; the miner still exists (only SetTargets removes).
    Reschedule(*m);
  }
  SteadyTime next = next_round_;
  if (!wakes_.empty()) next = std::min(next, wakes_.top().t);
  return next;
}

void PollEngine::Visit(Miner& m, SteadyTime now) {
  if (m.schedule.PassSlots(now) && !m.exchange) ReportSkipped(m);
  if (m.exchange) {
    // Restarts whose caller gave up while the poll was still in flight.
    for (auto it = m.restarts.begin(); it != m.restarts.end();) {
      if (it->deadline <= now) {
        it->done(DeadlineExceededError(
            m.context + ": restart: timed out waiting for the poll in flight"));
        it = m.restarts.erase(it);
      } else {
        ++it;
      }
    }
    return;
  }
  if (!m.restarts.empty()) {
    StartRestart(m);
    return;
  }
  if (m.schedule.next_attempt() <= now) StartPoll(m);
}

Result<Exchange> PollEngine::MakeExchange(const Miner& m, Request req,
                                          SteadyTime deadline,
                                          bool fresh) const {
  Exchange ex;
  if (m.exporter == nullptr) {
    ex = ProbeExchangeFor(m.target, std::move(req));
  } else {
    RW_ASSIGN_OR_RETURN(ex,
                        ExchangeFor(*m.exporter, m.effective, std::move(req)));
  }
  // The same timeouts and size cap for polls, probes and restarts.
  ex.deadline = deadline;
  ex.connect_timeout = opts_.connect_timeout;
  ex.first_byte_timeout = opts_.first_byte_timeout;
  ex.max_response_bytes = opts_.max_response_bytes;
  ex.fresh_connection = fresh;
  return ex;
}

void PollEngine::StartPoll(Miner& m) {
  if (m.exporter == nullptr) {
    StartProbe(m);
    return;
  }
  m.requests = m.exporter->PollRequests();
  m.responses.clear();
  m.falling_back = false;
  m.poll_start = clock_.Now();
  m.poll_start_steady = clock_.SteadyNow();
  m.poll_deadline = m.poll_start_steady + opts_.timeout;
  if (m.requests.empty()) {
    // An exporter that needs no exchange (nothing to fetch) is parsed at once.
    Result<ScrapeResult> parsed = m.exporter->Parse(m.responses);
    if (parsed.ok()) {
      FinishPoll(m, PollResult::kOk, Status::Ok(), std::move(parsed).value());
    } else {
      FinishPoll(m, ClassifyParseFailure(parsed.status(), m.responses),
                 parsed.status().WithContext(m.context), std::nullopt);
    }
    return;
  }
  ++in_flight_;
  StartStep(m);
}

void PollEngine::StartStep(Miner& m) {
  const Request& req = m.requests[m.responses.size()];
  const uint64_t id = m.id;
  Result<Exchange> ex = MakeExchange(m, req, m.poll_deadline, /*fresh=*/false);
  if (!ex.ok()) {
    // The miner's credentials cannot be read: we cannot ask it at all.
    --in_flight_;
    FinishPoll(m, PollResult::kDenied,
               ex.status().WithContext(m.context + ": " + req.name),
               std::nullopt);
    Reschedule(m);
    return;
  }
  m.exchange = transport_.Start(
      std::move(ex).value(),
      [this, id](ExchangeResult r) { OnStepDone(id, std::move(r)); });
}

void PollEngine::OnStepDone(uint64_t id, ExchangeResult r) {
  Miner* m = Find(id);
  if (m == nullptr) return;  // removed; Abort should have prevented this
  m->exchange.reset();
  const Request& req = m->requests[m->responses.size()];
  const bool can_fall_back =
      !req.fallback && !m->falling_back &&
      std::any_of(m->requests.begin(), m->requests.end(),
                  [](const Request& q) { return q.fallback; });
  if (!r.response.transport.ok() && !req.optional && can_fall_back) {
    m->falling_back = true;  // the parser sees this failure and the rest
  } else if (!r.response.transport.ok() && !req.optional) {
    --in_flight_;
    std::string where = m->context + ": ";
    if (m->falling_back) {
      // Both sources failed: name the primary failure as well.
      for (size_t i = 0; i < m->responses.size(); ++i) {
        const Request& q = m->requests[i];
        if (q.fallback || q.optional || m->responses[i].transport.ok()) {
          continue;
        }
        where += m->requests[i].name + ": " +
                 m->responses[i].transport.ToString() + "; ";
        break;
      }
    }
    Status err = r.response.transport.WithContext(where + req.name);
    PollResult cls =
        r.result == PollResult::kOk ? PollResult::kRefused : r.result;
    FinishPoll(*m, cls, std::move(err), std::nullopt);
    Reschedule(*m);
    return;
  }
  m->responses.push_back(std::move(r.response));
  if (SkipUnsent(*m)) {
    StartStep(*m);
    return;
  }
  --in_flight_;
  Result<ScrapeResult> parsed = m->exporter->Parse(m->responses);
  if (parsed.ok()) {
    if (m->falling_back != m->fell_back) {
      // Once per change of source, not per poll.
      LogInfo("miner_data_source")
          .Kv("miner", m->target.name)
          .Kv("source", m->falling_back ? "fallback" : "primary");
      m->fell_back = m->falling_back;
    }
    FinishPoll(*m, PollResult::kOk, Status::Ok(), std::move(parsed).value());
  } else {
    FinishPoll(*m, ClassifyParseFailure(parsed.status(), m->responses),
               parsed.status().WithContext(m->context), std::nullopt);
  }
  Reschedule(*m);
}

bool PollEngine::SkipUnsent(Miner& m) const {
  while (m.responses.size() < m.requests.size() &&
         m.requests[m.responses.size()].fallback != m.falling_back) {
    m.responses.push_back(NotSentResponse());
  }
  return m.responses.size() < m.requests.size();
}

void PollEngine::AppendCommonSamples(const Miner& m, bool up,
                                     Samples& out) const {
  out.push_back(Sample{
      std::string(metric::kUp), {{"kind", m.effective.kind}}, up ? 1.0 : 0.0});
  if (m.info) {
    out.push_back(Sample{std::string(metric::kInfo),
                         {{"kind", m.effective.kind},
                          {"model", m.info->model},
                          {"firmware", m.info->firmware},
                          {"hostname", m.info->hostname}},
                         1.0});
  }
  if (m.last_success) {
    out.push_back(Sample{
        std::string(metric::kLastSuccess), {}, ToUnixSeconds(*m.last_success)});
  }
  if (m.ever_ok) {
    out.push_back(Sample{std::string(metric::kRestartsDetected),
                         {},
                         static_cast<double>(m.counters.restarts_detected())});
  }
  for (const auto& [reason, n] : m.counters.rejected()) {
    out.push_back(Sample{std::string(metric::kSamplesRejected),
                         {{"reason", reason}},
                         static_cast<double>(n)});
  }
  out.push_back(Sample{std::string(kCircuitOpenMetric),
                       {},
                       m.schedule.circuit_open() ? 1.0 : 0.0});
}

void PollEngine::FinishPoll(Miner& m, PollResult result, Status error,
                            std::optional<ScrapeResult> scrape) {
  const SteadyTime now = clock_.SteadyNow();
  // The replies are parsed: free them now rather than at the next poll
  // (an Antminer's stats reply alone is 10-60 KB, times the fleet).
  m.requests = {};
  m.responses = {};
  PollReport rep;
  rep.target = m.effective;
  rep.time = m.poll_start;
  rep.attempted = true;
  rep.duration = now - m.poll_start_steady;
  if (m.auto_kind) MaybeReprobe(m, result, scrape);
  if (result == PollResult::kOk && scrape) {
    m.schedule.OnSuccess(now);
    m.ever_ok = true;
    m.last_success = clock_.Now();
    m.counters.CountRejected("label_truncated", CapScrapeStrings(*scrape));
    if (!m.info || scrape->info != *m.info) {
      // Each distinct info is a new miner_info series in the store: a miner
      // whose identity changes every poll would add one per poll. A change
      // is accepted at most once per kMinInfoChangeInterval.
      if (m.info && m.info_changed &&
          now - *m.info_changed < kMinInfoChangeInterval) {
        m.counters.CountRejected("info_churn");
      } else {
        if (m.info) m.info_changed = now;
        m.info = scrape->info;
      }
    }
    m.round = RoundState::kOk;
    m.counters.CountRejected("too_many_series",
                             m.series.Apply(scrape->samples, now));
    m.counters.Apply(
        scrape->samples, scrape->uptime_seconds, &IsCounter,
        std::chrono::duration<double>(now.time_since_epoch()).count());
    rep.samples = std::move(scrape->samples);
    AppendCommonSamples(m, /*up=*/true, rep.samples);
  } else {
    if (result == PollResult::kOk) {
      result = PollResult::kParseError;
      error = InternalError(m.context + ": exporter returned no result");
    }
    m.schedule.OnFailure(now,
                         std::uniform_real_distribution<double>(0, 1)(rng_));
    m.round = RoundState::kFailed;
    rep.error = std::move(error);
    AppendCommonSamples(m, /*up=*/false, rep.samples);
  }
  rep.result = result;
  m.last_result = result;
  rep.circuit_open = m.schedule.circuit_open();
  if (metrics_ != nullptr) {
    metrics_->ObservePoll(m.effective.kind, result, rep.duration);
  }
  sink_.OnPoll(rep);
}

void PollEngine::ReportSkipped(Miner& m) {
  PollReport rep;
  rep.target = m.effective;
  rep.time = clock_.Now();
  rep.attempted = false;
  rep.circuit_open = m.schedule.circuit_open();
  rep.result = m.last_result;
  rep.error = UnavailableError(
      m.context +
      (rep.circuit_open ? ": circuit open after " : ": backing off after ") +
      std::to_string(m.schedule.consecutive_failures()) +
      " consecutive failures");
  m.round = RoundState::kFailed;
  AppendCommonSamples(m, /*up=*/false, rep.samples);
  sink_.OnPoll(rep);
}

void PollEngine::EmitRound(WallTime t) {
  RoundReport r;
  r.time = t;
  for (const auto& [id, m] : miners_) {
    ++r.targets;
    switch (m->round) {
      case RoundState::kOk:
        ++r.ok;
        break;
      case RoundState::kFailed:
        ++r.failed;
        break;
      case RoundState::kPending:
        ++r.pending;
        break;
    }
    if (m->schedule.circuit_open()) ++r.circuit_open;
  }
  sink_.OnRound(r);
}

}  // namespace rigwatch
