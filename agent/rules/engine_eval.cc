// Evaluation: one pass over a poll round, then a sweep for series that got
// no sample (staleness). Setup: engine.cc; persistence, mutes and grace:
// engine_state.cc.
#include <algorithm>

#include "agent/common/log.h"
#include "agent/rules/engine.h"
#include "agent/rules/engine_impl.h"
#include "agent/rules/template.h"

namespace rigwatch::rules {
namespace {

enum class Tri { kFalse, kTrue, kUndefined };

struct CondEval {
  Tri tri = Tri::kUndefined;
  std::optional<double> value;      // left side
  std::optional<double> threshold;  // right side, after hysteresis
};

std::optional<double> OperandValue(const Operand& op, const Series& s,
                                   int64_t now_ms) {
  if (op.is_current) return s.last_value;
  if (op.fn == WindowFn::kNone) return op.factor;
  std::optional<double> v = s.window.Eval(op.fn, op.window.count(), now_ms);
  if (!v) return std::nullopt;
  return *v * op.factor;
}

bool Compare(double a, CmpOp op, double b) {
  switch (op) {
    case CmpOp::kGt:
      return a > b;
    case CmpOp::kGe:
      return a >= b;
    case CmpOp::kLt:
      return a < b;
    case CmpOp::kLe:
      return a <= b;
    case CmpOp::kEq:
      return a == b;
    case CmpOp::kNe:
      return a != b;
  }
  return false;
}

// `hold`: the series is at this level or worse, so the threshold moves by
// `clear` in the direction that keeps it there (hysteresis).
CondEval Evaluate(const Condition& c, const Rule& rule, const Series& s,
                  bool present, bool hold, int64_t now_ms) {
  CondEval r;
  if (c.absent) {
    r.tri = present ? Tri::kFalse : Tri::kTrue;
    return r;
  }
  r.value = OperandValue(c.lhs, s, now_ms);
  std::optional<double> rhs = OperandValue(c.rhs, s, now_ms);
  if (!r.value || !rhs) return r;  // undefined: window not covered yet
  double thr = *rhs;
  if (hold && rule.clear > 0) {
    if (c.op == CmpOp::kGt || c.op == CmpOp::kGe) thr -= rule.clear;
    if (c.op == CmpOp::kLt || c.op == CmpOp::kLe) thr += rule.clear;
  }
  r.threshold = thr;
  r.tri = Compare(*r.value, c.op, thr) ? Tri::kTrue : Tri::kFalse;
  return r;
}

constexpr Level kLevels[2] = {Level::kYellow, Level::kRed};

const std::optional<Condition>& CondOf(const Rule& r, int k) {
  return k == 0 ? r.yellow : r.red;
}

// Changes between GREEN and UNKNOWN are not announced: a series showing up
// healthy, or a healthy one going quiet, is not news. Every change that
// involves YELLOW or RED is.
bool Announced(Level from, Level to) {
  auto quiet = [](Level l) {
    return l == Level::kGreen || l == Level::kUnknown;
  };
  return !(quiet(from) && quiet(to));
}

// One step of one series: conditions, pending timers, hysteresis, grace.
void Step(RuleEngine::Impl& im, const CompiledRule& cr,
          const std::string& target, Series& s, bool present, bool muted,
          bool grace, std::vector<Transition>& out) {
  const Rule& rule = cr.rule;
  const Level cur = s.level;
  const Level base = cur == Level::kUnknown ? Level::kGreen : cur;
  bool active[2] = {false, false};
  CondEval evals[2];
  for (int k = 0; k < 2; ++k) {
    const std::optional<Condition>& c = CondOf(rule, k);
    if (!c) continue;
    const bool hold = base >= kLevels[k];
    evals[k] = Evaluate(*c, rule, s, present, hold, im.now_ms);
    active[k] =
        evals[k].tri == Tri::kTrue || (evals[k].tri == Tri::kUndefined && hold);
    if (active[k] && !s.cond_since[k]) {
      s.cond_since[k] = im.now_ms;
      s.dirty = true;
    } else if (!active[k] && s.cond_since[k]) {
      s.cond_since[k].reset();
      s.dirty = true;
    }
  }
  Level desired = Level::kGreen;
  for (int k = 1; k >= 0; --k) {
    if (active[k] && (base >= kLevels[k] || im.now_ms - *s.cond_since[k] >=
                                                rule.for_duration.count())) {
      desired = kLevels[k];
      break;
    }
  }
  if (grace) {
    // Nothing gets worse during grace and no pending timer runs, so the
    // `for` of a condition starts only when the grace period is over.
    if (desired > base) desired = base;
    for (int k = 0; k < 2; ++k) {
      if (kLevels[k] > base && s.cond_since[k]) {
        s.cond_since[k].reset();
        s.dirty = true;
      }
    }
  }
  if (desired == Level::kYellow || desired == Level::kRed) {
    const CondEval& e = evals[desired == Level::kRed ? 1 : 0];
    s.shown_value = e.value;
    s.shown_threshold = e.threshold;
  } else {
    s.shown_value.reset();
    s.shown_threshold.reset();
  }
  if (desired != cur) {
    const Level from = cur;
    s.level = desired;
    s.since_wall_ms = im.now_wall_ms;
    s.dirty = true;
    if (Announced(from, desired)) {
      Transition t;
      t.rule = rule.name;
      t.target = target;
      t.labels = s.labels;
      t.from = from;
      t.to = desired;
      const bool red_side = desired == Level::kRed ||
                            (from == Level::kRed && desired != Level::kYellow);
      const int k = red_side ? 1 : 0;
      const std::optional<Condition>& c = CondOf(rule, k);
      if (c) t.threshold = c->text;
      t.value = evals[k].value;
      t.value_metric = std::string(ValueMetric(rule, c ? &*c : nullptr));
      t.threshold_value = evals[k].threshold;
      t.since = FromUnixMillis(im.now_wall_ms);
      t.severity = std::string(rule.SeverityOf(desired));
      t.muted = muted;
      if (!muted) t.actions = rule.ActionsOf(desired);
      t.description = RenderDescription(rule, target, desired, t.value,
                                        t.threshold, s.labels);
      out.push_back(std::move(t));
      ++im.transitions_total[{rule.name, desired}];
    }
  }
  if (s.dirty) im.QueueState(rule.name, target, s);
}

// Series of one target that got no sample this round: UNKNOWN after
// `stale`, dropped after `forget_after` more.
void SweepTarget(RuleEngine::Impl& im, const std::string& name, TargetState& t,
                 uint64_t r, std::vector<Transition>& out) {
  for (size_t i = 0; i < t.by_rule.size(); ++i) {
    const Rule& rule = im.rules[i].rule;
    std::vector<Series>& list = t.by_rule[i];
    for (size_t j = 0; j < list.size();) {
      Series& s = list[j];
      const int64_t quiet = im.now_ms - s.last_seen_ms;
      if (s.touched_round == r || quiet < rule.stale.count()) {
        ++j;
        continue;
      }
      if (s.level != Level::kUnknown) {
        const Level from = s.level;
        s.level = Level::kUnknown;
        s.since_wall_ms = im.now_wall_ms;
        s.cond_since[0].reset();
        s.cond_since[1].reset();
        s.shown_value.reset();
        s.shown_threshold.reset();
        s.dirty = true;
        if (Announced(from, Level::kUnknown)) {
          Transition tr;
          tr.rule = rule.name;
          tr.target = name;
          tr.labels = s.labels;
          tr.from = from;
          tr.to = Level::kUnknown;
          const std::optional<Condition>& c =
              from == Level::kRed ? rule.red : rule.yellow;
          if (c) tr.threshold = c->text;
          tr.since = FromUnixMillis(im.now_wall_ms);
          tr.severity = "none";
          tr.muted = im.Muted(name);
          tr.description =
              RenderDescription(rule, name, Level::kUnknown, std::nullopt,
                                tr.threshold, s.labels);
          out.push_back(std::move(tr));
          ++im.transitions_total[{rule.name, Level::kUnknown}];
        }
        im.QueueState(rule.name, name, s);
        ++j;
      } else if (quiet >=
                 rule.stale.count() + im.options.forget_after.count()) {
        im.QueueDelete(RuleEngine::Impl::StateKey(rule.name, name, s.labels));
        list.erase(list.begin() + j);
      } else {
        ++j;
      }
    }
  }
}

// One value of one series of a rule this round: finds the series (first at
// `hint`, its position in the previous round, since exporters emit in a
// stable order), records the value and steps it.
void Feed(RuleEngine::Impl& im, const CompiledRule& cr,
          std::vector<Series>& list, uint32_t hint, const Labels& labels,
          double value, uint64_t r, const std::string& target, bool muted,
          bool grace, std::vector<Transition>& out) {
  Series* s = nullptr;
  if (hint < list.size() && list[hint].labels == labels) {
    s = &list[hint];
  } else {
    for (Series& c : list) {
      if (c.labels == labels) {
        s = &c;
        break;
      }
    }
  }
  if (s == nullptr) {
    list.push_back(Series{});
    s = &list.back();
    s->labels = labels;
  }
  if (s->touched_round == r) return;  // a repeated series: first wins
  s->touched_round = r;
  s->last_seen_ms = im.now_ms;
  s->last_value = value;
  if (cr.keep_ms > 0) {
    s->window.Add(im.now_ms, value);
    s->window.Trim(im.now_ms, cr.keep_ms);
  }
  Step(im, cr, target, *s, true, muted, grace, out);
}

// Reused across targets so a round allocates nothing per target.
struct EvalScratch {
  std::string target;
  std::vector<char> applies;
  std::vector<uint32_t> matched;
};

// Feeds one target's samples to the rules that select them, then evaluates
// the expression rules over them. Samples are routed by metric name (one
// hash lookup each) instead of testing every rule against every sample.
void EvaluateTarget(RuleEngine::Impl& im, const TargetSamples& ts, uint64_t r,
                    EvalScratch& sc, std::vector<Transition>& out) {
  sc.target.assign(ts.target);
  TargetState& t = im.Target(ts.target, ts.kind);
  t.last_round = r;
  const bool muted = im.Muted(sc.target);
  const bool grace = im.InGrace(sc.target);
  const size_t n = im.rules.size();
  sc.applies.assign(n, 0);
  sc.matched.assign(n, 0);
  for (size_t i = 0; i < n; ++i) {
    sc.applies[i] = im.Applies(im.rules[i].rule, ts.target, ts.kind);
  }
  if (ts.samples != nullptr) {
    for (const Sample& smp : *ts.samples) {
      // The length lives in the Sample itself: most unselected names are
      // skipped without touching (and cache-missing) their characters.
      if (smp.name.size() < im.metric_lengths.size() &&
          !im.metric_lengths[smp.name.size()]) {
        continue;
      }
      auto it = im.rules_by_metric.find(std::string_view(smp.name));
      if (it == im.rules_by_metric.end()) continue;
      for (int i : it->second) {
        if (!sc.applies[i]) continue;
        CompiledRule& cr = im.rules[i];
        if (!Matches(cr.selector, smp)) continue;
        Feed(im, cr, t.by_rule[i], sc.matched[i]++, smp.labels, smp.value, r,
             sc.target, muted, grace, out);
      }
    }
  }
  for (int i : im.expr_rules) {
    if (!sc.applies[i]) continue;
    CompiledRule& cr = im.rules[i];
    static const Samples kNoSamples;
    ExprWindows& w = t.expr_by_rule[i];
    const std::vector<ExprPoint> points = EvalValueExpr(
        *cr.rule.expr, cr.expr_selectors,
        ts.samples != nullptr ? *ts.samples : kNoSamples, w, im.now_ms);
    w.Forget(im.now_ms, cr.expr_keep_ms + cr.rule.stale.count());
    uint32_t hint = 0;
    for (const ExprPoint& p : points) {
      Feed(im, cr, t.by_rule[i], hint++, p.labels, p.value, r, sc.target, muted,
           grace, out);
    }
  }
  for (int i : im.absence_rules) {
    if (!sc.applies[i]) continue;
    CompiledRule& cr = im.rules[i];
    bool present = false;
    if (ts.samples != nullptr) {
      for (const Sample& smp : *ts.samples) {
        if (Matches(cr.selector, smp)) {
          present = true;
          break;
        }
      }
    }
    std::vector<Series>& list = t.by_rule[i];
    if (list.empty()) list.push_back(Series{});
    Series& s = list.front();
    s.touched_round = r;
    s.last_seen_ms = im.now_ms;
    Step(im, cr, sc.target, s, present, muted, grace, out);
  }
  // While this target's series are in cache.
  SweepTarget(im, sc.target, t, r, out);
}

}  // namespace

Status RuleEngine::Evaluate(std::span<const TargetSamples> round) {
  std::vector<Transition> out;
  Status persisted;
  {
    std::lock_guard<std::mutex> l(impl_->mu);
    Impl& im = *impl_;
    im.Tick();
    const uint64_t r = ++im.round;
    for (auto* m : {&im.mute_until_wall_ms, &im.grace_until_wall_ms}) {
      const bool is_mute = m == &im.mute_until_wall_ms;
      for (auto it = m->begin(); it != m->end();) {
        if (it->second > im.now_wall_ms) {
          ++it;
          continue;
        }
        im.QueueDelete(Impl::TargetKey(is_mute ? "mute" : "grace", it->first));
        it = m->erase(it);
      }
    }
    EvalScratch scratch;
    for (const TargetSamples& ts : round) {
      EvaluateTarget(im, ts, r, scratch, out);
    }
    // Targets missing from this round age the same way; one whose series
    // are all forgotten (a miner removed from the config) goes entirely.
    for (auto it = im.targets.begin(); it != im.targets.end();) {
      TargetState& t = it->second;
      if (t.last_round == r) {
        ++it;
        continue;
      }
      SweepTarget(im, it->first, t, r, out);
      const bool empty =
          std::all_of(t.by_rule.begin(), t.by_rule.end(),
                      [](const std::vector<Series>& l) { return l.empty(); });
      it = empty ? im.targets.erase(it) : std::next(it);
    }
    // Before any transition goes out: the sink is told only what persists.
    persisted = im.CommitBatch();
  }
  if (!persisted.ok()) LogWarn("rules_persist_failed").Kv("err", persisted);
  if (impl_->sink != nullptr) {
    for (const Transition& t : out) impl_->sink->OnTransition(t);
  }
  return persisted;
}

}  // namespace rigwatch::rules
