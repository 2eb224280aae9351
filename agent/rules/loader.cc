// The yaml-cpp adapter of the rules component: every yaml-cpp exception is
// caught in this file and becomes a FILE:LINE:COL error.
#include "agent/rules/loader.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include "agent/common/file_read.h"
#include "agent/common/units.h"
#include "agent/common/yaml_mark.h"
#include "agent/rules/expr.h"
#include "agent/rules/match.h"
#include "agent/rules/template.h"
#include "exporters/registry.h"

namespace rigwatch::rules {
namespace {

constexpr std::string_view kTopKeys[] = {"rules"};
constexpr std::string_view kRuleKeys[] = {
    "name",     "metric", "expr",    "yellow",   "red",
    "for",      "clear",  "stale",   "on_red",   "on_yellow",
    "on_green", "kinds",  "targets", "severity", "description"};
constexpr std::string_view kSeverities[] = {"info", "warning", "critical"};
constexpr std::string_view kPlaceholders[] = {"rule", "miner", "level", "value",
                                              "threshold"};

template <typename List>
std::string Join(const List& items) {
  std::string out;
  for (const auto& s : items) {
    if (!out.empty()) out += ", ";
    out += s;
  }
  return out;
}

template <typename List>
bool Contains(const List& items, std::string_view s) {
  for (const auto& i : items) {
    if (i == s) return true;
  }
  return false;
}

class FileLoader {
 public:
  FileLoader(std::string_view text, std::string file,
             const LoadOptions& options, std::vector<std::string>& errors,
             std::map<std::string, std::string>& names, RuleSet& out)
      : file_(std::move(file)),
        options_(options),
        errors_(errors),
        names_(names),
        out_(out) {
    std::string line;
    std::istringstream in{std::string(text)};
    while (std::getline(in, line)) lines_.push_back(line);
  }

  void Load(std::string_view text) {
    LoadText(text);
    Flush();
  }

 private:
  struct Found {
    int line, col;
    size_t seq;
    std::string message;
  };

  void LoadText(std::string_view text) {
    YAML::Node root;
    try {
      root = YAML::Load(std::string(text));
    } catch (const YAML::Exception& e) {
      AddAt(PositionOf(e.mark), "invalid YAML: " + e.msg);
      return;
    }
    try {
      LoadRoot(root);
    } catch (const YAML::Exception& e) {
      // Conversions are checked before use; this is a last line of defence
      // so a yaml-cpp surprise is an error in the file, never a crash.
      AddAt(PositionOf(e.mark), "invalid rule file: " + e.msg);
    }
  }

  void AddAt(YamlPosition p, const std::string& message) {
    found_.push_back(Found{p.line, p.column, found_.size(), message});
  }
  // Reports this file's errors in the order they appear in the file.
  void Flush() {
    std::sort(found_.begin(), found_.end(), [](const Found& a, const Found& b) {
      return std::tie(a.line, a.col, a.seq) < std::tie(b.line, b.col, b.seq);
    });
    for (const Found& f : found_) {
      errors_.push_back(file_ + ":" + std::to_string(f.line) + ":" +
                        std::to_string(f.col) + ": " + f.message);
    }
    found_.clear();
  }
  void Add(const YAML::Node& n, const std::string& message) {
    AddAt(PositionOf(n), message);
  }
  std::string Where(const YAML::Node& n) const {
    return FormatPosition(file_, n.Mark());
  }
  // An error at `offset` inside the string of scalar `n`: the column moves
  // past an opening quote when the scalar is quoted.
  void AddInside(const YAML::Node& n, const std::string& key, size_t offset,
                 const std::string& message) {
    YamlPosition p = PositionOf(n);
    if (static_cast<size_t>(p.line) <= lines_.size()) {
      const std::string& l = lines_[p.line - 1];
      const size_t col = static_cast<size_t>(p.column - 1);
      if (col < l.size() && (l[col] == '"' || l[col] == '\'')) ++p.column;
    }
    p.column += static_cast<int>(offset);
    AddAt(p, key + ": " + message);
  }

  // The scalar's text or an error.
  std::optional<std::string> Scalar(const YAML::Node& n, const std::string& key,
                                    std::string_view what) {
    if (!n.IsScalar()) {
      Add(n, key + ": expected " + std::string(what));
      return std::nullopt;
    }
    return n.Scalar();
  }

  void LoadRoot(const YAML::Node& root) {
    if (root.IsNull()) {
      AddAt(YamlPosition{},
            "empty rule file: expected a mapping with key \"rules\"");
      return;
    }
    if (!root.IsMap()) {
      Add(root, "expected a mapping with key \"rules\"");
      return;
    }
    YAML::Node rules;
    for (auto it = root.begin(); it != root.end(); ++it) {
      std::string key = it->first.IsScalar() ? it->first.Scalar() : "";
      if (!Contains(kTopKeys, key)) {
        Add(it->first,
            "unknown key \"" + key + "\"; allowed keys: " + Join(kTopKeys));
        continue;
      }
      rules = it->second;
    }
    if (!rules.IsDefined()) {
      Add(root, "missing key \"rules\"");
      return;
    }
    if (rules.IsNull()) return;  // "rules:" with no entries: an empty set
    if (!rules.IsSequence()) {
      Add(rules, "rules: expected a list of rules");
      return;
    }
    for (const YAML::Node& r : rules) LoadRule(r);
  }

  std::optional<std::vector<std::string>> StringList(const YAML::Node& n,
                                                     const std::string& key) {
    if (!n.IsSequence()) {
      Add(n, key + ": expected a list such as [a, b]");
      return std::nullopt;
    }
    std::vector<std::string> out;
    bool ok = true;
    for (const YAML::Node& e : n) {
      if (!e.IsScalar() || e.Scalar().empty()) {
        Add(e, key + ": expected a non-empty name");
        ok = false;
        continue;
      }
      out.push_back(e.Scalar());
    }
    if (!ok) return std::nullopt;
    return out;
  }

  std::optional<std::vector<std::string>> NameList(
      const YAML::Node& n, const std::string& key,
      const std::vector<std::string>& allowed) {
    auto list = StringList(n, key);
    if (!list) return std::nullopt;
    bool ok = true;
    size_t i = 0;
    for (const YAML::Node& e : n) {
      const std::string& v = (*list)[i++];
      if (std::find(allowed.begin(), allowed.end(), v) == allowed.end()) {
        Add(e,
            key + ": unknown value \"" + v + "\"; allowed: " + Join(allowed));
        ok = false;
      }
    }
    if (!ok) return std::nullopt;
    return list;
  }

  static bool ValidName(std::string_view s) {
    if (s.empty() ||
        !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) {
      return false;
    }
    return std::all_of(s.begin(), s.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
    });
  }

  void LoadRule(const YAML::Node& r) {
    size_t errors_before = found_.size();
    if (!r.IsMap()) {
      Add(r, "a rule must be a mapping with keys: " + Join(kRuleKeys));
      return;
    }
    Rule rule;
    rule.file = file_;
    rule.line = PositionOf(r).line;
    std::map<std::string, YAML::Node> nodes;
    std::map<std::string, YAML::Node> key_nodes;
    for (auto it = r.begin(); it != r.end(); ++it) {
      std::string key = it->first.IsScalar() ? it->first.Scalar() : "";
      if (!Contains(kRuleKeys, key)) {
        Add(it->first,
            "unknown key \"" + key + "\"; allowed keys: " + Join(kRuleKeys));
        continue;
      }
      if (nodes.count(key)) {
        Add(it->first, "duplicate key \"" + key + "\"");
        continue;
      }
      nodes[key] = it->second;
      key_nodes[key] = it->first;
    }
    auto get = [&](const std::string& k) -> const YAML::Node* {
      auto it = nodes.find(k);
      return it == nodes.end() ? nullptr : &it->second;
    };

    if (const YAML::Node* n = get("name")) {
      if (auto s = Scalar(*n, "name", "a rule name")) {
        if (!ValidName(*s)) {
          Add(*n, "name: \"" + *s +
                      "\" is not a valid rule name (letters, digits and _, "
                      "not starting with a digit)");
        } else {
          auto [it, inserted] = names_.emplace(*s, Where(*n));
          if (!inserted) {
            Add(*n, "name: duplicate rule name \"" + *s +
                        "\" (first defined at " + it->second + ")");
          }
          rule.name = *s;
        }
      }
    } else {
      Add(r, "rule is missing required key \"name\"");
    }

    bool have_selector = false;
    if (const YAML::Node* n = get("metric")) {
      if (auto s = Scalar(*n, "metric", "a metric selector")) {
        ExprResult<Selector> sel = ParseSelector(*s);
        if (auto* e = std::get_if<ExprError>(&sel)) {
          AddInside(*n, "metric", e->offset, e->message);
        } else {
          rule.selector = std::get<Selector>(std::move(sel));
          have_selector = true;
        }
      }
    } else if (const YAML::Node* x = get("expr")) {
      if (auto s = Scalar(*x, "expr", "an expression")) {
        int nodes = 0;
        ExprResult<ValueExpr> e = ParseValueExpr(*s, &nodes);
        if (auto* err = std::get_if<ExprError>(&e)) {
          AddInside(*x, "expr", err->offset, err->message);
        } else {
          rule.expr = std::get<ValueExpr>(std::move(e));
          rule.expr_text = *s;
          rule.expr_nodes = nodes;
          have_selector = true;
        }
      }
    } else {
      Add(r, "rule is missing required key \"metric\" (or \"expr\")");
    }
    if (get("metric") != nullptr && get("expr") != nullptr) {
      Add(key_nodes["expr"],
          "expr: a rule judges either a metric or an expression; remove "
          "\"metric\" or \"expr\"");
    }
    // The metric whose unit the conditions' constants must fit ("" =
    // any unit).
    const std::string unit_metric =
        rule.expr ? ExprMetric(*rule.expr) : rule.selector.metric;

    for (const char* level : {"yellow", "red"}) {
      const YAML::Node* n = get(level);
      if (n == nullptr || !have_selector) continue;
      if (!n->IsScalar()) {
        Add(*n, std::string(level) +
                    ": expected a condition such as \"> 72\" or \"absent\"");
        continue;
      }
      ExprResult<Condition> c = ParseCondition(n->Scalar(), unit_metric);
      if (auto* e = std::get_if<ExprError>(&c)) {
        AddInside(*n, level, e->offset, e->message);
        continue;
      }
      (std::string_view(level) == "red" ? rule.red : rule.yellow) =
          std::get<Condition>(std::move(c));
    }
    if (rule.expr && rule.IsAbsenceRule()) {
      Add(*get(rule.red && rule.red->absent ? "red" : "yellow"),
          std::string(rule.red && rule.red->absent ? "red" : "yellow") +
              ": \"absent\" judges a metric's samples; a rule with "
              "\"expr\" cannot use it");
    }
    if (get("yellow") == nullptr && get("red") == nullptr) {
      Add(r, "rule needs at least one of \"yellow\", \"red\"");
    }
    if (rule.yellow && rule.red && rule.yellow->absent != rule.red->absent) {
      Add(*get(rule.red->absent ? "red" : "yellow"),
          std::string(rule.red->absent ? "red" : "yellow") +
              ": \"absent\" cannot be combined with a value condition in the "
              "same rule; write a separate rule");
    }

    if (const YAML::Node* n = get("for")) {
      if (auto s = Scalar(*n, "for", "a duration such as 5m")) {
        auto d = ParseDuration(*s);
        if (!d.ok()) {
          Add(*n, "for: " + d.status().message());
        } else {
          rule.for_duration = *d;
        }
      }
    }
    if (const YAML::Node* n = get("stale")) {
      if (auto s = Scalar(*n, "stale", "a duration such as 5m")) {
        auto d = ParseDuration(*s);
        if (!d.ok()) {
          Add(*n, "stale: " + d.status().message());
        } else if (d->count() <= 0) {
          Add(*n, "stale: must be longer than 0s");
        } else {
          rule.stale = *d;
        }
      }
    }
    if (const YAML::Node* n = get("clear")) {
      if (auto s = Scalar(*n, "clear", "an amount such as 3 or 100MB")) {
        ExprResult<double> q = ParseQuantity(*s, unit_metric);
        if (auto* e = std::get_if<ExprError>(&q)) {
          AddInside(*n, "clear", e->offset, e->message);
        } else {
          rule.clear = std::get<double>(q);
          for (const auto* c : {&rule.yellow, &rule.red}) {
            if (!c->has_value()) continue;
            const Condition& cond = **c;
            if (cond.absent || cond.op == CmpOp::kEq || cond.op == CmpOp::kNe) {
              Add(*n,
                  "clear: hysteresis needs an ordered comparison "
                  "(<, <=, >, >=), not \"" +
                      cond.text + "\"");
              break;
            }
          }
        }
      }
    }
    std::vector<std::string> actions(std::begin(kKnownActions),
                                     std::end(kKnownActions));
    for (auto [key, dest] : {std::pair{"on_red", &rule.on_red},
                             std::pair{"on_yellow", &rule.on_yellow},
                             std::pair{"on_green", &rule.on_green}}) {
      if (const YAML::Node* n = get(key)) {
        if (auto l = NameList(*n, key, actions)) *dest = std::move(*l);
      }
    }
    if (rule.on_red.size() && !rule.red) {
      Add(key_nodes["on_red"], "on_red: the rule has no \"red\" condition");
    }
    if (rule.on_yellow.size() && !rule.yellow) {
      Add(key_nodes["on_yellow"],
          "on_yellow: the rule has no \"yellow\" condition");
    }
    if (const YAML::Node* n = get("kinds")) {
      if (auto l = NameList(*n, "kinds", options_.known_kinds)) {
        rule.kinds = std::move(*l);
      }
    }
    if (const YAML::Node* n = get("targets")) {
      if (auto l = StringList(*n, "targets")) rule.targets = std::move(*l);
    }
    if (const YAML::Node* n = get("severity")) {
      if (auto s = Scalar(*n, "severity", "info, warning or critical")) {
        if (!Contains(kSeverities, *s)) {
          Add(*n, "severity: unknown value \"" + *s +
                      "\"; allowed: " + Join(kSeverities));
        } else {
          rule.severity = *s;
        }
      }
    }
    if (const YAML::Node* n = get("description")) {
      if (auto s = Scalar(*n, "description", "a text")) {
        for (const ExprError& e : CheckDescription(*s)) {
          AddInside(*n, "description", e.offset, e.message);
        }
        rule.description = *s;
      }
    }
    if (found_.size() == errors_before) out_.rules.push_back(std::move(rule));
  }

  std::string file_;
  const LoadOptions& options_;
  std::vector<std::string>& errors_;
  std::map<std::string, std::string>& names_;
  RuleSet& out_;
  std::vector<std::string> lines_;
  std::vector<Found> found_;
};

Result<RuleSet> Finish(RuleSet set, const std::vector<std::string>& errors) {
  if (errors.empty()) return set;
  std::string msg;
  for (const std::string& e : errors) {
    if (!msg.empty()) msg += '\n';
    msg += e;
  }
  return InvalidArgumentError(std::move(msg));
}

}  // namespace

Result<RuleSet> ParseRuleText(std::string_view text, std::string_view file,
                              const LoadOptions& options) {
  std::vector<std::string> errors;
  std::map<std::string, std::string> names;
  RuleSet set;
  FileLoader(text, std::string(file), options, errors, names, set).Load(text);
  return Finish(std::move(set), errors);
}

std::vector<std::string> DefaultKnownKinds() {
  std::vector<std::string> out;
  for (std::string_view k : KnownKinds()) out.emplace_back(k);
  out.emplace_back("host");
  out.emplace_back("service");
  return out;
}

Result<RuleSet> LoadRuleFiles(const std::vector<std::string>& paths,
                              const LoadOptions& options) {
  std::vector<std::string> errors;
  std::map<std::string, std::string> names;
  RuleSet set;
  for (const std::string& path : paths) {
    Result<std::string> read = ReadConfigText(path, "rule file");
    if (!read.ok()) {
      errors.push_back(read.status().message());
      continue;
    }
    const std::string& text = *read;
    FileLoader(text, path, options, errors, names, set).Load(text);
  }
  return Finish(std::move(set), errors);
}

}  // namespace rigwatch::rules
