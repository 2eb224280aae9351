#include "agent/services/monitor.h"

#include <algorithm>

#include "agent/common/json.h"
#include "agent/common/log.h"
#include "agent/common/rfc3339.h"

namespace rigwatch::services {
namespace {

constexpr MetricDesc kDescs[] = {
    {"rigwatch_service_up", MetricType::kGauge,
     "1 when the host service's last check passed, 0 when it failed.",
     "service"},
    {"rigwatch_service_check_duration_seconds", MetricType::kGauge,
     "How long the host service's last check took (an HTTP check's response "
     "time).",
     "service"},
    {"node_systemd_unit_state", MetricType::kGauge,
     "1 for the systemd unit's current ActiveState, 0 for the others "
     "(node_exporter's series; systemd checks only).",
     "name,state,type"},
};

// node_exporter's list of unit states.
constexpr std::string_view kUnitStates[] = {
    "activating", "active", "deactivating", "failed", "inactive"};

void AppendTime(std::string* out, const std::optional<WallTime>& t) {
  if (t) {
    json::AppendString(out, FormatRfc3339(*t));
  } else {
    *out += "null";
  }
}

}  // namespace

std::span<const MetricDesc> MetricDescs() { return kDescs; }

ServiceMonitor::ServiceMonitor(std::vector<HostServiceConfig> services,
                               Clock* clock, Sink sink, CheckEnv env)
    : clock_(clock), sink_(std::move(sink)), env_(std::move(env)) {
  for (HostServiceConfig& s : services) {
    Entry e;
    e.state.name = s.name;
    e.state.check = s.check.kind;
    e.config = std::move(s);
    entries_.push_back(std::move(e));
  }
}

ServiceMonitor::~ServiceMonitor() { Stop(); }

void ServiceMonitor::Start() {
  bool any = std::any_of(entries_.begin(), entries_.end(), [](const Entry& e) {
    return !e.config.check.kind.empty();
  });
  if (any) worker_.Start();
}

void ServiceMonitor::Stop() { worker_.Stop(); }

ServiceMonitor::Entry* ServiceMonitor::Find(const std::string& name) {
  for (Entry& e : entries_) {
    if (e.config.name == name) return &e;
  }
  return nullptr;
}

bool ServiceMonitor::Has(const std::string& name) const {
  return std::any_of(entries_.begin(), entries_.end(),
                     [&](const Entry& e) { return e.config.name == name; });
}

Samples ServiceMonitor::ToSamples(const HostServiceConfig& svc,
                                  const CheckResult& r) {
  Samples out;
  out.push_back(
      {"rigwatch_service_up", {{"service", svc.name}}, r.up ? 1.0 : 0.0});
  out.push_back({"rigwatch_service_check_duration_seconds",
                 {{"service", svc.name}},
                 r.duration_seconds});
  if (svc.check.kind == "systemd" && !r.active_state.empty()) {
    for (std::string_view st : kUnitStates) {
      out.push_back({"node_systemd_unit_state",
                     {{"name", svc.check.target},
                      {"state", std::string(st)},
                      {"type", r.unit_type}},
                     r.active_state == st ? 1.0 : 0.0});
    }
  }
  return out;
}

void ServiceMonitor::Publish(Entry& e, const CheckResult& r) {
  const WallTime now = clock_->Now();
  bool changed;
  {
    std::lock_guard<std::mutex> l(mu_);
    ServiceState& s = e.state;
    changed = !s.checked || s.up != r.up;
    s.checked = true;
    s.up = r.up;
    s.last_check = now;
    s.duration_seconds = r.duration_seconds;
    s.active_state = r.active_state;
    s.sub_state = r.sub_state;
    s.via = r.via;
    if (!r.up) {
      s.error = r.error;
      s.last_failure = now;
    }
  }
  if (changed) {
    if (r.up) {
      LogInfo("service_up").Kv("service", e.config.name);
    } else {
      LogWarn("service_down").Kv("service", e.config.name).Kv("err", r.error);
    }
  }
  if (sink_) sink_(e.config.name, now, ToSamples(e.config, r));
}

std::optional<CheckResult> ServiceMonitor::CheckNow(const std::string& name) {
  Entry* e = Find(name);
  if (e == nullptr || e->config.check.kind.empty()) return std::nullopt;
  if (interrupt_.stop_requested()) return std::nullopt;
  CheckResult r = RunCheck(e->config.check, env_, interrupt_.get_token());
  if (interrupt_.stop_requested()) return std::nullopt;  // cut short
  Publish(*e, r);
  return r;
}

Duration ServiceMonitor::Tick() {
  const SteadyTime now = clock_->SteadyNow();
  for (Entry& e : entries_) {
    if (e.config.check.kind.empty() || now < e.next_due) continue;
    if (interrupt_.stop_requested()) break;
    // Due times advance from the plan, not from when the check ended.
    e.next_due =
        std::max(e.next_due + e.config.interval, now + e.config.interval / 2);
    CheckResult r = RunCheck(e.config.check, env_, interrupt_.get_token());
    if (interrupt_.stop_requested()) break;  // cut short: not an outcome
    Publish(e, r);
  }
  SteadyTime next = SteadyTime::max();
  for (const Entry& e : entries_) {
    if (!e.config.check.kind.empty()) next = std::min(next, e.next_due);
  }
  return next - clock_->SteadyNow();
}

std::vector<ServiceState> ServiceMonitor::States() const {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<ServiceState> out;
  for (const Entry& e : entries_) out.push_back(e.state);
  return out;
}

std::string ServiceMonitor::StatesJson(
    const std::vector<ServiceState>& states) {
  std::string out = "{\"services\":[";
  bool first = true;
  for (const ServiceState& s : states) {
    if (!first) out += ",";
    first = false;
    out += "{\"name\":";
    json::AppendString(&out, s.name);
    out += ",\"check\":";
    json::AppendString(&out, s.check);
    out += ",\"checked\":";
    out += s.checked ? "true" : "false";
    out += ",\"up\":";
    out += s.checked ? (s.up ? "true" : "false") : "null";
    out += ",\"state\":";
    json::AppendString(&out, !s.checked ? "unknown"
                             : s.up     ? "running"
                                        : "down");
    out += ",\"error\":";
    json::AppendString(&out, s.error);
    out += ",\"last_check\":";
    AppendTime(&out, s.last_check);
    out += ",\"last_failure\":";
    AppendTime(&out, s.last_failure);
    out += ",\"check_duration_seconds\":";
    out += std::to_string(s.duration_seconds);
    out += ",\"active_state\":";
    json::AppendString(&out, s.active_state);
    out += ",\"sub_state\":";
    json::AppendString(&out, s.sub_state);
    out += ",\"via\":";
    json::AppendString(&out, s.via);
    out += ",\"last_restart\":";
    AppendTime(&out, s.last_restart);
    out += ",\"last_restart_result\":";
    json::AppendString(&out, s.last_restart_result);
    out += ",\"restarts_given_up\":";
    out += s.restarts_given_up ? "true" : "false";
    out += "}";
  }
  out += "]}";
  return out;
}

}  // namespace rigwatch::services
