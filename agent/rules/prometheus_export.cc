#include "agent/rules/prometheus_export.h"

#include <algorithm>
#include <cctype>
#include <chrono>
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

// A selector with the rule's `targets` as a miner=~ matcher.
std::string SelectorExpr(const Selector& sel, const Rule& r) {
  std::string out = sel.metric;
  std::vector<std::string> m;
  for (const Matcher& x : sel.matchers) {
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

// What identifies a target's series in Prometheus: the agent's scrape
// (job, instance) and the miner label (absent on host series). An
// aggregation keeps them, so it stays per target as in the agent.
constexpr std::string_view kTargetLabels[] = {"job", "instance", "miner"};

int Precedence(const ValueExpr& e) {
  if (e.kind != ValueExpr::Kind::kBinary) return 3;
  return e.op == '+' || e.op == '-' ? 1 : 2;
}

std::string ExprPromQL(const ValueExpr& e, const Rule& r) {
  switch (e.kind) {
    case ValueExpr::Kind::kNumber:
      return Num(e.number);
    case ValueExpr::Kind::kSelector:
      return SelectorExpr(e.selector, r);
    case ValueExpr::Kind::kWindow:
      return std::string(WindowFnName(e.fn)) + "(" +
             SelectorExpr(e.selector, r) + "[" + FormatDuration(e.window) +
             "])";
    case ValueExpr::Kind::kBinary: {
      const int p = Precedence(e);
      std::string a = ExprPromQL(e.args[0], r);
      std::string b = ExprPromQL(e.args[1], r);
      if (Precedence(e.args[0]) < p) a = "(" + a + ")";
      // a - (b - c), a / (b * c): the right side binds first.
      if (Precedence(e.args[1]) < p ||
          (Precedence(e.args[1]) == p && (e.op == '-' || e.op == '/'))) {
        b = "(" + b + ")";
      }
      return a + " " + std::string(1, e.op) + " " + b;
    }
    case ValueExpr::Kind::kAggregate: {
      std::string out = std::string(AggOpName(e.agg));
      std::vector<std::string> g;
      if (!e.without) {
        for (std::string_view l : kTargetLabels) g.emplace_back(l);
      }
      for (const std::string& l : e.grouping) {
        if (std::find(g.begin(), g.end(), l) == g.end()) g.push_back(l);
      }
      if (e.without) {
        // The target's labels are never dropped.
        std::erase_if(g, [](const std::string& l) {
          return std::find(std::begin(kTargetLabels), std::end(kTargetLabels),
                           l) != std::end(kTargetLabels);
        });
      }
      if (!g.empty() || !e.without) {
        out += e.without ? " without (" : " by (";
        for (size_t i = 0; i < g.size(); ++i) {
          out += (i > 0 ? ", " : "") + g[i];
        }
        out += ")";
      }
      return out + " (" + ExprPromQL(e.args[0], r) + ")";
    }
  }
  return "";
}

// `subject` is what the rule judges in PromQL: its selector, or its
// expression; a window function of an expression is a subquery.
std::string OperandExpr(const Operand& op, const std::string& subject,
                        bool is_expr) {
  if (op.is_current) return subject;
  if (op.fn == WindowFn::kNone) return Num(op.factor);
  std::string f = std::string(WindowFnName(op.fn)) + "(" + subject + "[" +
                  FormatDuration(op.window) + (is_expr ? ":])" : "])");
  if (op.factor == 1.0) return f;
  return Num(op.factor) + " * " + f;
}

// Selectors of an expression with the age each must have for its window
// functions (its own window plus the condition's `extra`).
void ExprGuards(const ValueExpr& e, const Rule& r,
                std::chrono::milliseconds extra,
                std::vector<std::string>& out) {
  if (e.kind == ValueExpr::Kind::kSelector ||
      e.kind == ValueExpr::Kind::kWindow) {
    const std::chrono::milliseconds age = e.window + extra;
    if (age.count() > 0) {
      std::string g = " and on(instance, miner) " +
                      SelectorExpr(e.selector, r) + " offset " +
                      FormatDuration(age);
      if (std::find(out.begin(), out.end(), g) == out.end()) out.push_back(g);
    }
  }
  for (const ValueExpr& a : e.args) ExprGuards(a, r, extra, out);
}

// The agent's rule that a window function is undefined until the series
// has been watched for the whole window, in PromQL: the same series also
// had a sample W ago (`offset` looks back from there by the lookback delta,
// 5m by default). Without it Prometheus judges a 15m window from its first
// two scrapes, and `increase(x[15m]) == 0` fires on a fresh start.
std::string CoveredGuard(const std::string& sel, std::chrono::milliseconds w) {
  return " and " + sel + " offset " + FormatDuration(w);
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
    const bool is_expr = r.expr.has_value();
    std::string sel =
        is_expr ? ExprPromQL(*r.expr, r) : SelectorExpr(r.selector, r);
    // `a / b > 0.8` would read right in PromQL too; parentheses say so.
    if (is_expr && r.expr->kind == ValueExpr::Kind::kBinary) {
      sel = "(" + sel + ")";
    }
    std::vector<std::string> notes;
    std::string kind_join;
    // Host and service series carry no miner label: no join on miner_up.
    const bool has_host =
        std::find_if(r.kinds.begin(), r.kinds.end(), [](const std::string& k) {
          return k == "host" || k == "service";
        }) != r.kinds.end();
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
        std::string lhs = OperandExpr(c->lhs, sel, is_expr);
        std::string rhs = OperandExpr(c->rhs, sel, is_expr);
        expr = lhs + " " + std::string(CmpOpText(c->op)) + " " + rhs;
        const std::chrono::milliseconds w =
            std::max(c->lhs.window, c->rhs.window);
        if (is_expr) {
          std::vector<std::string> guards;
          ExprGuards(*r.expr, r, w, guards);
          if (!guards.empty()) expr = "(" + expr + ")";
          for (const std::string& g : guards) expr += g;
        } else if (w.count() > 0) {
          expr = "(" + expr + ")" + CoveredGuard(sel, w);
        }
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
