// Setup of the engine: construction, rules, warming, and the lookups the
// evaluation (engine_eval.cc) uses.
#include "agent/rules/engine.h"

#include <algorithm>

#include "agent/common/log.h"
#include "agent/rules/engine_impl.h"

namespace rigwatch::rules {

void RuleEngine::Impl::Tick() {
  now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
               clock->SteadyNow().time_since_epoch())
               .count();
  now_wall_ms = ToUnixMillis(clock->Now());
}

int RuleEngine::Impl::RuleIndex(std::string_view name) const {
  for (size_t i = 0; i < rules.size(); ++i) {
    if (rules[i].rule.name == name) return static_cast<int>(i);
  }
  return -1;
}

TargetState& RuleEngine::Impl::Target(std::string_view name,
                                      std::string_view kind) {
  auto it = targets.find(std::string(name));
  if (it == targets.end()) {
    it = targets.emplace(std::string(name), TargetState{}).first;
  }
  if (!kind.empty() && it->second.kind != kind) it->second.kind = kind;
  if (it->second.by_rule.size() != rules.size()) {
    it->second.by_rule.resize(rules.size());
  }
  if (it->second.expr_by_rule.size() != rules.size()) {
    it->second.expr_by_rule.resize(rules.size());
  }
  return it->second;
}

bool RuleEngine::Impl::Applies(const Rule& rule, std::string_view target,
                               std::string_view kind) const {
  if (!rule.kinds.empty() && std::find(rule.kinds.begin(), rule.kinds.end(),
                                       kind) == rule.kinds.end()) {
    return false;
  }
  if (rule.targets.empty()) return true;
  for (const std::string& p : rule.targets) {
    if (GlobMatch(p, target)) return true;
  }
  return false;
}

RuleEngine::RuleEngine(const Clock* clock, DurableKv* kv, TransitionSink* sink,
                       EngineOptions options)
    : impl_(std::make_unique<Impl>()) {
  impl_->clock = clock;
  impl_->kv = kv;
  impl_->sink = sink;
  impl_->options = std::move(options);
}

RuleEngine::~RuleEngine() = default;

Status RuleEngine::SetRules(RuleSet set) {
  std::lock_guard<std::mutex> l(impl_->mu);
  Impl& im = *impl_;
  std::vector<CompiledRule> next;
  next.reserve(set.rules.size());
  for (Rule& r : set.rules) {
    Result<CompiledSelector> sel = CompileSelector(r.selector);
    if (!sel.ok()) {
      return InvalidArgumentError("rule " + r.name + ": " +
                                  sel.status().message());
    }
    int64_t keep = r.LongestWindow().count();
    CompiledRule cr{std::move(r), std::move(sel).value(), keep};
    if (cr.rule.expr) {
      Result<std::vector<std::optional<CompiledSelector>>> es =
          CompileExprSelectors(*cr.rule.expr, cr.rule.expr_nodes);
      if (!es.ok()) {
        return InvalidArgumentError("rule " + cr.rule.name + ": " +
                                    es.status().message());
      }
      cr.expr_selectors = std::move(es).value();
      cr.expr_keep_ms = ExprLongestWindow(*cr.rule.expr).count();
    }
    next.push_back(std::move(cr));
  }
  // Where each old rule's states go: its index in the new set, or -1.
  std::vector<int> move_to(im.rules.size(), -1);
  for (size_t j = 0; j < im.rules.size(); ++j) {
    for (size_t i = 0; i < next.size(); ++i) {
      if (next[i].rule.name == im.rules[j].rule.name) {
        move_to[j] = static_cast<int>(i);
      }
    }
  }
  for (auto& [name, t] : im.targets) {
    std::vector<std::vector<Series>> by_rule(next.size());
    for (size_t j = 0; j < t.by_rule.size() && j < move_to.size(); ++j) {
      if (move_to[j] >= 0) {
        by_rule[move_to[j]] = std::move(t.by_rule[j]);
        continue;
      }
      for (const Series& s : t.by_rule[j]) {
        im.QueueDelete(Impl::StateKey(im.rules[j].rule.name, name, s.labels));
      }
    }
    t.by_rule = std::move(by_rule);
    // An expression's input windows move with its rule while the
    // expression is unchanged (node ids would mean other nodes otherwise).
    std::vector<ExprWindows> expr_by_rule(next.size());
    for (size_t j = 0; j < t.expr_by_rule.size() && j < move_to.size(); ++j) {
      if (move_to[j] >= 0 &&
          next[move_to[j]].rule.expr_text == im.rules[j].rule.expr_text) {
        expr_by_rule[move_to[j]] = std::move(t.expr_by_rule[j]);
      }
    }
    t.expr_by_rule = std::move(expr_by_rule);
  }
  im.rules = std::move(next);
  im.rules_set = true;
  im.rules_by_metric.clear();
  im.absence_rules.clear();
  im.expr_rules.clear();
  im.metric_lengths.reset();
  for (size_t i = 0; i < im.rules.size(); ++i) {
    const Rule& r = im.rules[i].rule;
    if (r.expr) {
      im.expr_rules.push_back(static_cast<int>(i));
    } else if (r.IsAbsenceRule()) {
      im.absence_rules.push_back(static_cast<int>(i));
    } else {
      im.rules_by_metric[r.selector.metric].push_back(static_cast<int>(i));
      if (r.selector.metric.size() < im.metric_lengths.size()) {
        im.metric_lengths.set(r.selector.metric.size());
      }
    }
  }
  // States of removed rules are deleted in one batch.
  return im.CommitBatch();
}

Status RuleEngine::Warm(HistorySource& source,
                        std::span<const TargetSamples> targets) {
  std::lock_guard<std::mutex> l(impl_->mu);
  Impl& im = *impl_;
  im.Tick();
  Status first;
  for (const TargetSamples& ts : targets) {
    TargetState& t = im.Target(ts.target, ts.kind);
    for (size_t i = 0; i < im.rules.size(); ++i) {
      CompiledRule& cr = im.rules[i];
      // Expressions are not warmed: the store holds their inputs, not
      // their values.
      if (cr.keep_ms == 0 || cr.rule.expr ||
          !im.Applies(cr.rule, ts.target, ts.kind)) {
        continue;
      }
      // Five extra minutes so the point just before the window's start (the
      // anchor of increase()) is there too.
      const int64_t from = im.now_wall_ms - cr.keep_ms - 5 * 60'000;
      std::vector<Series>& list = t.by_rule[i];
      Status st = source.Read(
          ts.target, cr.rule.selector.metric, FromUnixMillis(from),
          FromUnixMillis(im.now_wall_ms),
          [&](const Labels& labels, WallTime when, double v) {
            if (!Matches(cr.selector, cr.rule.selector.metric, labels)) return;
            auto it = std::find_if(
                list.begin(), list.end(),
                [&](const Series& s) { return s.labels == labels; });
            if (it == list.end()) {
              list.push_back(Series{});
              list.back().labels = labels;
              it = list.end() - 1;
            }
            int64_t t_ms = im.ToSteady(ToUnixMillis(when));
            if (it->window.Add(t_ms, v)) {
              it->last_seen_ms = std::max(it->last_seen_ms, t_ms);
            }
          });
      if (!st.ok()) {
        st = st.WithContext("warm " + cr.rule.name + " " +
                            std::string(ts.target));
        LogWarn("rules_warm_failed").Kv("err", st);
        if (first.ok()) first = st;
      }
      for (Series& s : list) s.window.Trim(im.now_ms, cr.keep_ms);
    }
  }
  return first;
}

size_t RuleEngine::SeriesCount() const {
  std::lock_guard<std::mutex> l(impl_->mu);
  size_t n = 0;
  for (const auto& [name, t] : impl_->targets) {
    for (const auto& list : t.by_rule) n += list.size();
  }
  return n;
}

size_t RuleEngine::WindowPoints() const {
  std::lock_guard<std::mutex> l(impl_->mu);
  size_t n = 0;
  for (const auto& [name, t] : impl_->targets) {
    for (const auto& list : t.by_rule) {
      for (const Series& s : list) n += s.window.size();
    }
    for (const ExprWindows& w : t.expr_by_rule) n += w.Points();
  }
  return n;
}

}  // namespace rigwatch::rules
