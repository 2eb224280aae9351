// The Agent as the HTTP API's source: reads and mutes go to the component
// that owns them.
#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <set>

#include "agent/actions/actions.h"
#include "agent/app/agent.h"
#include "agent/app/pipeline.h"
#include "agent/common/json.h"
#include "agent/common/log.h"
#include "agent/common/rfc3339.h"
#include "agent/http/mutation.h"
#include "agent/http/server.h"
#include "agent/rules/engine.h"
#include "agent/services/monitor.h"
#include "agent/store/store.h"

namespace rigwatch {
namespace {

// DurableKv namespace of the HTTP mutation journal; keys sort by time.
constexpr std::string_view kJournalNamespace = "http_journal";
// Entries kept; older ones are dropped as new ones come.
constexpr size_t kMaxJournalEntries = 1000;

}  // namespace

std::optional<PollError> Agent::LastPollError(std::string_view miner) const {
  if (!pipeline_) return std::nullopt;
  return pipeline_->poll_errors().Last(miner);
}

Result<std::vector<store::SeriesKey>> Agent::MatchSeries(
    const store::Selector& sel) {
  if (!store_) return UnavailableError("the store is not open");
  return store_->MatchSeries(sel);
}

Result<std::vector<store::SeriesPoints>> Agent::Select(
    const store::Selector& sel, WallTime from, WallTime to) {
  if (!store_) return UnavailableError("the store is not open");
  return store_->Select(sel, from, to);
}

Result<std::vector<store::Point>> Agent::ReadRange(const store::SeriesKey& key,
                                                   WallTime from, WallTime to) {
  if (!store_) return UnavailableError("the store is not open");
  return store_->ReadRange(key, from, to);
}

Result<std::unique_ptr<store::RowIterator>> Agent::Scan(WallTime from,
                                                        WallTime to) {
  if (!store_) return UnavailableError("the store is not open");
  return store_->Scan(from, to);
}

std::vector<rules::AlertView> Agent::Alerts(bool include_unknown) const {
  if (!rules_) return {};
  return rules_->Alerts(include_unknown);
}

std::string Agent::AlertsJson(bool include_unknown) const {
  if (!rules_) return "{\"alerts\":[]}";
  return rules_->AlertsJson(include_unknown);
}

Status Agent::CheckKnownTarget(std::string_view target) {
  {
    std::lock_guard<std::mutex> l(targets_mu_);
    if (target_names_.count(std::string(target)) != 0) return Status::Ok();
  }
  if (target == "host") {
    std::lock_guard<std::mutex> l(config_mu_);
    if (config_.host.enabled) return Status::Ok();
  }
  return NotFoundError("unknown target \"" + std::string(target) +
                       "\": not a configured miner or the host");
}

Status Agent::Mute(std::string_view target, WallTime until) {
  if (!rules_) return UnavailableError("rules are not running");
  RW_RETURN_IF_ERROR(CheckKnownTarget(target));
  return rules_->Mute(target, until);
}

Status Agent::Unmute(std::string_view target) {
  if (!rules_) return UnavailableError("rules are not running");
  RW_RETURN_IF_ERROR(CheckKnownTarget(target));
  return rules_->Unmute(target);
}

Result<api::ApiSource::RestartOutcome> Agent::RestartMiner(
    std::string_view miner, bool force) {
  std::shared_ptr<actions::Actions> a = CurrentActions();
  if (!a) return UnavailableError("actions are not running");
  const std::string name(miner);
  {
    std::lock_guard<std::mutex> l(targets_mu_);
    if (target_names_.count(name) == 0) {
      return NotFoundError("no miner named \"" + name +
                           "\" is being watched (neither under miners: nor "
                           "in miner_files)");
    }
  }
  actions::Restarter::Outcome o = a->RestartByName(name, force);
  return RestartOutcome{o.result, o.reason};
}

void Agent::RecordMutation(const MutationRecord& r) {
  if (!store_) return;  // the http_mutation log line is the record then
  std::lock_guard<std::mutex> l(journal_mu_);
  const int64_t ms = ToUnixMillis(clock_->Now());
  char key[48];
  std::snprintf(key, sizeof key, "%016" PRId64 "-%08" PRIu64, ms,
                journal_seq_++);
  Status s = store_->Put(kJournalNamespace, key, MutationJson(r, ms));
  if (!s.ok()) {
    LogError("http_journal_failed").Kv("err", s);
    return;
  }
  Result<std::vector<std::pair<std::string, std::string>>> all =
      store_->List(kJournalNamespace);
  if (!all.ok() || all->size() <= kMaxJournalEntries) return;
  std::sort(all->begin(), all->end());
  for (size_t i = 0; i + kMaxJournalEntries < all->size(); ++i) {
    Status d = store_->Delete(kJournalNamespace, (*all)[i].first);
    if (!d.ok()) LogWarn("http_journal_prune_failed").Kv("err", d);
  }
}

Result<std::string> Agent::MutationsJson(size_t limit) {
  if (!store_) return UnavailableError("the store is not open");
  RW_ASSIGN_OR_RETURN(auto all, store_->List(kJournalNamespace));
  std::sort(all.begin(), all.end(),
            [](const auto& a, const auto& b) { return a.first > b.first; });
  std::string out = "{\"mutations\":[";
  for (size_t i = 0; i < all.size() && i < limit; ++i) {
    if (i) out += ',';
    out += all[i].second;
  }
  out += "]}";
  return out;
}

std::string Agent::ServicesJson() const {
  if (!services_) return "{\"services\":[]}";
  std::vector<services::ServiceState> states = services_->States();
  if (std::shared_ptr<actions::Actions> a = CurrentActions()) {
    for (services::ServiceState& st : states) {
      st.restarts_given_up = a->ServiceGaveUp(st.name);
      if (auto last = a->LastServiceRestart(st.name)) {
        st.last_restart = last->at;
        st.last_restart_result = last->result;
      }
    }
  }
  return services::ServiceMonitor::StatesJson(states);
}

namespace {

void AppendNumber(std::string* out, const std::optional<double>& v) {
  if (!v) {
    *out += "null";
    return;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", *v);
  *out += buf;
}

}  // namespace

std::string Agent::HealthJson() const {
  // The worst rule state over every target; fleet counts over miners.
  std::set<std::string> service_names;
  {
    std::lock_guard<std::mutex> l(config_mu_);
    for (const HostServiceConfig& s : config_.host.services) {
      service_names.insert(s.name);
    }
  }
  Level worst = Level::kGreen;
  std::set<std::string> red, yellow;
  for (const rules::AlertView& a : Alerts(false)) {
    if (a.level == Level::kRed ||
        (a.level == Level::kYellow && worst != Level::kRed)) {
      worst = a.level;
    }
    if (a.target == "host" || service_names.count(a.target) != 0) continue;
    if (a.level == Level::kRed) red.insert(a.target);
    if (a.level == Level::kYellow) yellow.insert(a.target);
  }
  for (const std::string& t : red) yellow.erase(t);
  std::string out = "{\"overall_status\":";
  json::AppendString(&out, worst == Level::kRed      ? "CRITICAL"
                           : worst == Level::kYellow ? "WARNING"
                                                     : "OK");
  out += ",\"time\":";
  json::AppendString(&out, FormatRfc3339(clock_->Now()));
  HostUsage u;
  {
    std::lock_guard<std::mutex> l(usage_mu_);
    u = usage_;
  }
  out += ",\"host\":{\"cpu_percent\":";
  AppendNumber(&out, u.cpu_percent);
  out += ",\"memory_percent\":";
  AppendNumber(&out, u.memory_percent);
  out += ",\"disk_percent\":{";
  bool first = true;
  for (const auto& [mp, pct] : u.disk_percent) {
    if (!first) out += ",";
    first = false;
    json::AppendString(&out, mp);
    out += ":";
    AppendNumber(&out, pct);
  }
  out += "},\"temperature_celsius\":";
  AppendNumber(&out, u.temperature_celsius);
  out += ",\"load\":{\"load1\":";
  AppendNumber(&out, u.load1);
  out += ",\"load5\":";
  AppendNumber(&out, u.load5);
  out += ",\"load15\":";
  AppendNumber(&out, u.load15);
  out += "}}";
  // {"services":[...]} without its braces.
  const std::string services = ServicesJson();
  out += ',';
  out.append(services, 1, services.size() - 2);
  const int targets = pipeline_ ? pipeline_->round_targets() : 0;
  const int failed = pipeline_ ? pipeline_->round_failed() : 0;
  out += ",\"fleet\":{\"miners\":";
  out += std::to_string(targets);
  out += ",\"up\":";
  out += std::to_string(targets - failed);
  out += ",\"down\":";
  out += std::to_string(failed);
  out += ",\"red\":";
  out += std::to_string(red.size());
  out += ",\"yellow\":";
  out += std::to_string(yellow.size());
  out += "}}";
  return out;
}

Status Agent::ResetService(std::string_view name) {
  std::shared_ptr<actions::Actions> a = CurrentActions();
  if (!a) return UnavailableError("actions are not running");
  return a->ResetService(std::string(name));
}

}  // namespace rigwatch
