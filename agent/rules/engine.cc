// Evaluation: one pass over a poll round, then a sweep for series that got
// no sample (staleness). Persistence, mutes and grace: engine_state.cc.
#include "agent/rules/engine.h"

#include <algorithm>

#include "agent/common/log.h"
#include "agent/rules/engine_impl.h"

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

}  // namespace

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
    CompiledSelector sel(r.selector);
    int64_t keep = r.LongestWindow().count();
    next.push_back(CompiledRule{std::move(r), std::move(sel), keep});
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
  Status first;
  for (auto& [name, t] : im.targets) {
    std::vector<std::vector<Series>> by_rule(next.size());
    for (size_t j = 0; j < t.by_rule.size() && j < move_to.size(); ++j) {
      if (move_to[j] >= 0) {
        by_rule[move_to[j]] = std::move(t.by_rule[j]);
        continue;
      }
      for (const Series& s : t.by_rule[j]) {
        Status st = im.DeleteState(im.rules[j].rule.name, name, s.labels);
        if (first.ok()) first = st;
      }
    }
    t.by_rule = std::move(by_rule);
  }
  im.rules = std::move(next);
  return first;
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
      if (cr.keep_ms == 0 || !im.Applies(cr.rule, ts.target, ts.kind)) continue;
      // Five extra minutes so the point just before the window's start (the
      // anchor of increase()) is there too.
      const int64_t from = im.now_wall_ms - cr.keep_ms - 5 * 60'000;
      std::vector<Series>& list = t.by_rule[i];
      Status st = source.Read(
          ts.target, cr.rule.selector.metric, FromUnixMillis(from),
          FromUnixMillis(im.now_wall_ms),
          [&](const Labels& labels, WallTime when, double v) {
            if (!cr.selector.Matches(cr.rule.selector.metric, labels)) return;
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

namespace {

// One step of one series: conditions, pending timers, hysteresis, grace.
void Step(RuleEngine::Impl& im, const CompiledRule& cr,
          const std::string& target, Series& s, bool present, bool muted,
          bool grace, std::vector<Transition>& out, Status& first_error) {
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
  if (s.dirty) {
    Status st = im.PersistState(rule.name, target, s);
    if (!st.ok() && first_error.ok()) first_error = st;
  }
}

}  // namespace

Status RuleEngine::Evaluate(std::span<const TargetSamples> round) {
  std::vector<Transition> out;
  Status first_error;
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
        if (im.kv != nullptr) {
          Status st = im.kv->Delete(
              im.options.kv_namespace,
              Impl::TargetKey(is_mute ? "mute" : "grace", it->first));
          if (!st.ok() && first_error.ok()) first_error = st;
        }
        it = m->erase(it);
      }
    }
    std::string target;
    for (const TargetSamples& ts : round) {
      target.assign(ts.target);
      TargetState& t = im.Target(ts.target, ts.kind);
      const bool muted = im.Muted(target);
      const bool grace = im.InGrace(target);
      for (size_t i = 0; i < im.rules.size(); ++i) {
        CompiledRule& cr = im.rules[i];
        if (!im.Applies(cr.rule, ts.target, ts.kind)) continue;
        std::vector<Series>& list = t.by_rule[i];
        if (cr.rule.IsAbsenceRule()) {
          bool present = false;
          if (ts.samples != nullptr) {
            for (const Sample& smp : *ts.samples) {
              if (cr.selector.Matches(smp)) {
                present = true;
                break;
              }
            }
          }
          if (list.empty()) list.push_back(Series{});
          Series& s = list.front();
          s.touched_round = r;
          s.last_seen_ms = im.now_ms;
          Step(im, cr, target, s, present, muted, grace, out, first_error);
          continue;
        }
        if (ts.samples == nullptr) continue;
        for (const Sample& smp : *ts.samples) {
          if (!cr.selector.Matches(smp)) continue;
          Series* s = nullptr;
          for (Series& c : list) {
            if (c.labels == smp.labels) {
              s = &c;
              break;
            }
          }
          if (s == nullptr) {
            list.push_back(Series{});
            s = &list.back();
            s->labels = smp.labels;
          }
          if (s->touched_round == r) continue;  // a repeated series: first wins
          s->touched_round = r;
          s->last_seen_ms = im.now_ms;
          s->last_value = smp.value;
          if (cr.keep_ms > 0) {
            s->window.Add(im.now_ms, smp.value);
            s->window.Trim(im.now_ms, cr.keep_ms);
          }
          Step(im, cr, target, *s, true, muted, grace, out, first_error);
        }
      }
    }
    // Series that got no sample this round: UNKNOWN after `stale`, dropped
    // after `forget_after` more.
    for (auto& [name, t] : im.targets) {
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
            Status st = im.PersistState(rule.name, name, s);
            if (!st.ok() && first_error.ok()) first_error = st;
            ++j;
          } else if (quiet >=
                     rule.stale.count() + im.options.forget_after.count()) {
            Status st = im.DeleteState(rule.name, name, s.labels);
            if (!st.ok() && first_error.ok()) first_error = st;
            list.erase(list.begin() + j);
          } else {
            ++j;
          }
        }
      }
    }
  }
  if (!first_error.ok()) {
    LogWarn("rules_persist_failed").Kv("err", first_error);
  }
  if (impl_->sink != nullptr) {
    for (const Transition& t : out) impl_->sink->OnTransition(t);
  }
  return first_error;
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
  }
  return n;
}

}  // namespace rigwatch::rules
