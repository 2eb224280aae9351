// What the engine shows: rigwatch_rule_* samples for /metrics and the
// GET /api/v1/alerts JSON document.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <set>

#include "agent/common/json.h"
#include "agent/common/rfc3339.h"
#include "agent/rules/engine_impl.h"
#include "agent/rules/template.h"

namespace rigwatch::rules {
namespace {

constexpr std::string_view kStateMetric = "rigwatch_rule_state";
constexpr std::string_view kTransitionsMetric =
    "rigwatch_rule_transitions_total";

constexpr std::array kDescs = {
    MetricDesc{kStateMetric, MetricType::kGauge,
               "Worst level of a rule over a target's series: 0 green, "
               "1 yellow, 2 red; absent while every series is unknown (no "
               "data).",
               "rule,miner"},
    MetricDesc{kTransitionsMetric, MetricType::kCounter,
               "Level changes announced by the rule engine since the agent "
               "started, by level entered (green, yellow, red, unknown).",
               "rule,to"},
};

void AppendNumber(std::string& out, std::optional<double> v) {
  if (!v || !std::isfinite(*v)) {
    out += "null";
  } else {
    out += FormatNumber(*v);
  }
}

}  // namespace

std::span<const MetricDesc> RuleMetricDescs() { return kDescs; }

Samples RuleEngine::MetricSamples() const {
  std::lock_guard<std::mutex> l(impl_->mu);
  const Impl& im = *impl_;
  Samples out;
  std::vector<const std::string*> names;
  for (const auto& [name, t] : im.targets) names.push_back(&name);
  std::sort(names.begin(), names.end(),
            [](const std::string* a, const std::string* b) { return *a < *b; });
  for (size_t i = 0; i < im.rules.size(); ++i) {
    for (const std::string* name : names) {
      const TargetState& t = im.targets.at(*name);
      if (i >= t.by_rule.size()) continue;
      Level worst = Level::kUnknown;
      for (const Series& s : t.by_rule[i]) worst = std::max(worst, s.level);
      if (worst == Level::kUnknown) continue;
      out.push_back(Sample{std::string(kStateMetric),
                           {{"rule", im.rules[i].rule.name}, {"miner", *name}},
                           static_cast<double>(static_cast<int>(worst))});
    }
  }
  // Every (rule, level) from the start, at 0 until it happens, then the
  // counts of rules since removed from the files.
  std::set<std::pair<std::string, Level>> shown;
  for (const auto& r : im.rules) {
    for (Level to :
         {Level::kGreen, Level::kYellow, Level::kRed, Level::kUnknown}) {
      auto it = im.transitions_total.find({r.rule.name, to});
      double n = it == im.transitions_total.end()
                     ? 0.0
                     : static_cast<double>(it->second);
      out.push_back(
          Sample{std::string(kTransitionsMetric),
                 {{"rule", r.rule.name}, {"to", std::string(LevelName(to))}},
                 n});
      shown.insert({r.rule.name, to});
    }
  }
  for (const auto& [key, n] : im.transitions_total) {
    if (shown.count(key) > 0) continue;
    out.push_back(Sample{
        std::string(kTransitionsMetric),
        {{"rule", key.first}, {"to", std::string(LevelName(key.second))}},
        static_cast<double>(n)});
  }
  return out;
}

std::vector<AlertView> RuleEngine::Alerts(bool include_unknown) const {
  std::lock_guard<std::mutex> l(impl_->mu);
  const Impl& im = *impl_;
  const int64_t now_wall = ToUnixMillis(im.clock->Now());
  std::vector<AlertView> out;
  for (const auto& [name, t] : im.targets) {
    auto mute = im.mute_until_wall_ms.find(name);
    const bool muted =
        mute != im.mute_until_wall_ms.end() && mute->second > now_wall;
    for (size_t i = 0; i < t.by_rule.size() && i < im.rules.size(); ++i) {
      const Rule& rule = im.rules[i].rule;
      for (const Series& s : t.by_rule[i]) {
        if (s.level == Level::kGreen) continue;
        if (s.level == Level::kUnknown && !include_unknown) continue;
        AlertView a;
        a.rule = rule.name;
        a.target = name;
        a.labels = s.labels;
        a.level = s.level;
        a.since = FromUnixMillis(s.since_wall_ms);
        a.value = s.shown_value;
        const std::optional<Condition>& c =
            s.level == Level::kYellow ? rule.yellow : rule.red;
        if (s.level != Level::kUnknown && c) a.threshold = c->text;
        a.value_metric = std::string(ValueMetric(rule, c ? &*c : nullptr));
        a.threshold_value = s.shown_threshold;
        if (!muted && s.level != Level::kUnknown) {
          a.actions = rule.ActionsOf(s.level);
        }
        a.severity = std::string(rule.SeverityOf(s.level));
        a.muted = muted;
        if (muted) a.muted_until = FromUnixMillis(mute->second);
        a.description = RenderDescription(rule, name, s.level, a.value,
                                          a.threshold, s.labels);
        out.push_back(std::move(a));
      }
    }
  }
  std::sort(out.begin(), out.end(), [](const AlertView& a, const AlertView& b) {
    if (a.level != b.level) return a.level > b.level;
    if (a.rule != b.rule) return a.rule < b.rule;
    if (a.target != b.target) return a.target < b.target;
    return a.labels.size() != b.labels.size()
               ? a.labels.size() < b.labels.size()
               : std::lexicographical_compare(
                     a.labels.begin(), a.labels.end(), b.labels.begin(),
                     b.labels.end(), [](const Label& x, const Label& y) {
                       return std::tie(x.name, x.value) <
                              std::tie(y.name, y.value);
                     });
  });
  return out;
}

std::string RuleEngine::AlertsJson(bool include_unknown) const {
  std::vector<AlertView> alerts = Alerts(include_unknown);
  std::string out = "{\"alerts\":[";
  for (size_t i = 0; i < alerts.size(); ++i) {
    const AlertView& a = alerts[i];
    if (i > 0) out += ',';
    out += "{\"rule\":";
    json::AppendString(&out, a.rule);
    out += ",\"miner\":";
    json::AppendString(&out, a.target);
    out += ",\"labels\":{";
    for (size_t k = 0; k < a.labels.size(); ++k) {
      if (k > 0) out += ',';
      json::AppendString(&out, a.labels[k].name);
      out += ':';
      json::AppendString(&out, a.labels[k].value);
    }
    out += "},\"level\":";
    json::AppendString(&out, LevelName(a.level));
    out += ",\"since\":";
    json::AppendString(&out, FormatRfc3339(a.since));
    out += ",\"value\":";
    AppendNumber(out, a.value);
    out += ",\"threshold\":";
    json::AppendString(&out, a.threshold);
    out += ",\"severity\":";
    json::AppendString(&out, a.severity);
    out += ",\"muted\":";
    out += a.muted ? "true" : "false";
    out += ",\"muted_until\":";
    if (a.muted_until) {
      json::AppendString(&out, FormatRfc3339(*a.muted_until));
    } else {
      out += "null";
    }
    out += ",\"description\":";
    json::AppendString(&out, a.description);
    out += '}';
  }
  out += "]}";
  return out;
}

}  // namespace rigwatch::rules
