#include "agent/rules/prometheus_export.h"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "agent/common/units.h"

namespace rigwatch::rules {
namespace {

// Integers print in full ("1000000000", not "1e+09"): the file is read by
// people too.
std::string Num(double v) {
  if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 1e15) {
    return std::to_string(static_cast<int64_t>(v));
  }
  return FormatNumber(v);
}

std::string PromString(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

// A YAML double-quoted scalar.
std::string Quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string RegexEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (std::string_view("\\.+?()[]{}|^$").find(c) != std::string_view::npos) {
      out += '\\';
    }
    out += c == '*' ? std::string(".*") : std::string(1, c);
  }
  return out;
}

std::string SelectorExpr(const Rule& r) {
  std::string out = r.selector.metric;
  std::vector<std::string> m;
  for (const Matcher& x : r.selector.matchers) {
    static constexpr std::string_view kOps[] = {"=", "!=", "=~", "!~"};
    m.push_back(x.label + std::string(kOps[static_cast<int>(x.op)]) +
                PromString(x.value));
  }
  if (!r.targets.empty()) {
    std::string alt;
    for (const std::string& t : r.targets) {
      if (!alt.empty()) alt += '|';
      alt += RegexEscape(t);
    }
    m.push_back("miner=~" + PromString(alt));
  }
  if (!m.empty()) {
    out += '{';
    for (size_t i = 0; i < m.size(); ++i) {
      if (i > 0) out += ',';
      out += m[i];
    }
    out += '}';
  }
  return out;
}

std::string OperandExpr(const Operand& op, const std::string& sel) {
  if (op.is_current) return sel;
  if (op.fn == WindowFn::kNone) return Num(op.factor);
  std::string f = std::string(WindowFnName(op.fn)) + "(" + sel + "[" +
                  FormatDuration(op.window) + "])";
  if (op.factor == 1.0) return f;
  return Num(op.factor) + " * " + f;
}

// {{value}} with its unit, as FormatMetricValue prints it for the agent's
// own descriptions, in Prometheus' template functions.
std::string PromValue(std::string_view metric) {
  if (metric.empty() || metric.ends_with("_total")) return "{{ $value }}";
  switch (MetricDim(metric)) {
    case Dim::kCelsius:
      return "{{ printf \"%.1f\" $value }} \u00b0C";
    case Dim::kRatio:
      return "{{ humanizePercentage $value }}";
    case Dim::kSeconds:
      return "{{ humanizeDuration $value }}";
    case Dim::kHashrate:
      return "{{ humanize $value }}H/s";
    case Dim::kBytes:
      return "{{ humanize $value }}B";
    case Dim::kHertz:
      return "{{ humanize $value }}Hz";
    case Dim::kWatts:
      return "{{ humanize $value }}W";
    case Dim::kVolts:
      return "{{ humanize $value }}V";
    case Dim::kAmperes:
      return "{{ humanize $value }}A";
    case Dim::kRpm:
      return "{{ printf \"%.0f\" $value }} rpm";
    case Dim::kNone:
      break;
  }
  return "{{ $value }}";
}

// Placeholders of our description template in Prometheus' template syntax.
std::string Template(const Rule& r, Level level, const Condition& c) {
  std::string t = r.description;
  if (t.empty()) {
    t = "{{rule}} is {{level}} on {{miner}}: {{value}} (threshold " +
        std::string("{{threshold}}") + ")";
    if (c.absent) t = "{{rule}} is {{level}} on {{miner}}: no sample";
  }
  std::string out;
  size_t i = 0;
  while (i < t.size()) {
    size_t open = t.find("{{", i);
    size_t close = open == std::string::npos ? open : t.find("}}", open + 2);
    if (close == std::string::npos) break;
    out.append(t, i, open - i);
    std::string key = t.substr(open + 2, close - open - 2);
    key.erase(0, key.find_first_not_of(' '));
    key.erase(key.find_last_not_of(' ') + 1);
    if (key == "rule") {
      out += r.name;
    } else if (key == "miner") {
      out += "{{ $labels.miner }}";
    } else if (key == "level") {
      out += LevelName(level);
    } else if (key == "value") {
      out += PromValue(ValueMetric(r, &c));
    } else if (key == "threshold") {
      out += c.text;
    } else if (key.starts_with("label.")) {
      out += "{{ $labels." + key.substr(6) + " }}";
    }
    i = close + 2;
  }
  out.append(t, i, std::string::npos);
  return out;
}

bool ValidAlertName(std::string_view s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

}  // namespace

Result<std::string> ExportPrometheusRules(const RuleSet& rules,
                                          std::string_view source) {
  std::string out =
      "# Prometheus alerting rules generated by rigwatch from its rule "
      "files";
  if (!source.empty()) out += " (" + std::string(source) + ")";
  out +=
      ".\n# Regenerate instead of editing; docs/rules.md explains the "
      "translation.\ngroups:\n  - name: rigwatch\n    rules:\n";
  bool any = false;
  for (const Rule& r : rules.rules) {
    if (!ValidAlertName(r.name)) {
      return InvalidArgumentError("rule \"" + r.name +
                                  "\" is not a valid Prometheus alert name");
    }
    const std::string sel = SelectorExpr(r);
    std::vector<std::string> notes;
    std::string kind_join;
    const bool has_host =
        std::find(r.kinds.begin(), r.kinds.end(), "host") != r.kinds.end();
    if (!r.kinds.empty() && !has_host) {
      std::string alt;
      for (const std::string& k : r.kinds) alt += (alt.empty() ? "" : "|") + k;
      kind_join = " and on(miner) miner_up{kind=~" + PromString(alt) + "}";
    } else if (has_host && r.kinds.size() > 1) {
      notes.push_back(
          "kinds mixes host and miner kinds; not expressed, the "
          "alert covers every target");
    }
    if (r.clear > 0) {
      notes.push_back("clear: " + Num(r.clear) +
                      " (hysteresis) has no PromQL equivalent; the alert "
                      "resolves as soon as the threshold is crossed back");
    }
    if (r.IsAbsenceRule()) {
      notes.push_back(
          "absent() fires only when no target has the series; "
          "the agent judges absence per target");
    }
    for (int k = 1; k >= 0; --k) {
      const std::optional<Condition>& c = k == 1 ? r.red : r.yellow;
      if (!c) continue;
      const Level level = k == 1 ? Level::kRed : Level::kYellow;
      std::string expr;
      if (c->absent) {
        expr = "absent(" + sel + ")";
      } else {
        std::string lhs = OperandExpr(c->lhs, sel);
        std::string rhs = OperandExpr(c->rhs, sel);
        expr = lhs + " " + std::string(CmpOpText(c->op)) + " " + rhs;
        if (!kind_join.empty()) expr = "(" + expr + ")" + kind_join;
      }
      out += "      # " + r.name + " " + std::string(LevelName(level)) + ": " +
             c->text + "\n";
      for (const std::string& n : notes) out += "      # " + n + "\n";
      out += "      - alert: " + r.name + "\n";
      out += "        expr: " + Quote(expr) + "\n";
      if (r.for_duration.count() > 0) {
        out += "        for: " + FormatDuration(r.for_duration) + "\n";
      }
      out += "        labels:\n";
      out += "          severity: " + std::string(r.SeverityOf(level)) + "\n";
      out += "          level: " + std::string(LevelName(level)) + "\n";
      out += "        annotations:\n";
      out += "          summary: " +
             Quote(r.name + " " + std::string(LevelName(level)) +
                   " on {{ $labels.miner }}") +
             "\n";
      out += "          description: " + Quote(Template(r, level, *c)) + "\n";
      any = true;
    }
  }
  if (!any) {
    // An empty group still has to be valid YAML for promtool.
    out.replace(out.rfind("rules:\n"), 7, "rules: []\n");
  }
  return out;
}

}  // namespace rigwatch::rules
