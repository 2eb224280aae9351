#include "agent/rules/value_eval.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "agent/rules/match.h"

namespace rigwatch::rules {
namespace {

// A node's value: a number, or series keyed by their (sorted) labels.
struct Value {
  bool scalar = false;
  std::optional<double> number;  // scalar; empty = undefined
  std::vector<ExprPoint> series;
};

Labels Sorted(Labels l) {
  std::sort(l.begin(), l.end(),
            [](const Label& a, const Label& b) { return a.name < b.name; });
  return l;
}

std::string Key(const Labels& l) {
  std::string k;
  for (const Label& x : l) {
    k += x.name;
    k += '\x01';
    k += x.value;
    k += '\x02';
  }
  return k;
}

std::optional<double> Apply(char op, double a, double b) {
  double r = 0;
  switch (op) {
    case '+':
      r = a + b;
      break;
    case '-':
      r = a - b;
      break;
    case '*':
      r = a * b;
      break;
    case '/':
      if (b == 0) return std::nullopt;
      r = a / b;
      break;
  }
  if (!std::isfinite(r)) return std::nullopt;
  return r;
}

class Evaluator {
 public:
  Evaluator(const std::vector<std::optional<CompiledSelector>>& sels,
            const Samples& samples, ExprWindows& windows, int64_t now_ms)
      : sels_(sels), samples_(samples), windows_(windows), now_ms_(now_ms) {}

  Value Eval(const ValueExpr& e) {
    Value v;
    switch (e.kind) {
      case ValueExpr::Kind::kNumber:
        v.scalar = true;
        v.number = e.number;
        return v;
      case ValueExpr::Kind::kSelector:
      case ValueExpr::Kind::kWindow:
        return Select(e);
      case ValueExpr::Kind::kBinary:
        return Binary(e.op, Eval(e.args[0]), Eval(e.args[1]));
      case ValueExpr::Kind::kAggregate:
        return Aggregate(e, Eval(e.args[0]));
    }
    return v;
  }

 private:
  Value Select(const ValueExpr& e) {
    Value v;
    const CompiledSelector& sel = *sels_[e.id];
    std::map<std::string, bool> seen;  // a repeated series: first wins
    for (const Sample& s : samples_) {
      if (!Matches(sel, s) || !std::isfinite(s.value)) continue;
      Labels l = Sorted(s.labels);
      if (!seen.emplace(Key(l), true).second) continue;
      if (e.kind == ValueExpr::Kind::kSelector) {
        v.series.push_back(ExprPoint{std::move(l), s.value});
        continue;
      }
      std::optional<double> r =
          windows_.Observe(e.id, l, now_ms_, s.value, e.fn, e.window.count());
      if (r && std::isfinite(*r)) {
        v.series.push_back(ExprPoint{std::move(l), *r});
      }
    }
    return v;
  }

  static Value Binary(char op, const Value& a, const Value& b) {
    Value v;
    if (a.scalar && b.scalar) {
      v.scalar = true;
      if (a.number && b.number) v.number = Apply(op, *a.number, *b.number);
      return v;
    }
    if (a.scalar || b.scalar) {
      const Value& vec = a.scalar ? b : a;
      const std::optional<double> n = a.scalar ? a.number : b.number;
      if (!n) return v;
      for (const ExprPoint& p : vec.series) {
        std::optional<double> r =
            a.scalar ? Apply(op, *n, p.value) : Apply(op, p.value, *n);
        if (r) v.series.push_back(ExprPoint{p.labels, *r});
      }
      return v;
    }
    // Series with the same labels on both sides, as in PromQL.
    std::map<std::string, double> rhs;
    for (const ExprPoint& p : b.series) rhs.emplace(Key(p.labels), p.value);
    for (const ExprPoint& p : a.series) {
      auto it = rhs.find(Key(p.labels));
      if (it == rhs.end()) continue;
      if (std::optional<double> r = Apply(op, p.value, it->second)) {
        v.series.push_back(ExprPoint{p.labels, *r});
      }
    }
    return v;
  }

  static Value Aggregate(const ValueExpr& e, const Value& in) {
    Value v;
    std::vector<ExprPoint> points = in.series;
    if (in.scalar) {
      if (!in.number) return v;
      points.push_back(ExprPoint{{}, *in.number});
    }
    auto keep = [&](const Label& l) {
      const bool listed = std::find(e.grouping.begin(), e.grouping.end(),
                                    l.name) != e.grouping.end();
      return e.without ? !listed : listed;
    };
    struct Acc {
      Labels labels;
      double sum = 0, lo = 0, hi = 0;
      size_t n = 0;
    };
    std::map<std::string, Acc> groups;
    for (const ExprPoint& p : points) {
      Labels g;
      for (const Label& l : p.labels) {
        if (keep(l)) g.push_back(l);
      }
      Acc& a = groups[Key(g)];
      if (a.n == 0) {
        a.labels = std::move(g);
        a.lo = a.hi = p.value;
      }
      a.sum += p.value;
      a.lo = std::min(a.lo, p.value);
      a.hi = std::max(a.hi, p.value);
      ++a.n;
    }
    for (auto& [key, a] : groups) {
      double r = 0;
      switch (e.agg) {
        case AggOp::kSum:
          r = a.sum;
          break;
        case AggOp::kAvg:
          r = a.sum / static_cast<double>(a.n);
          break;
        case AggOp::kMin:
          r = a.lo;
          break;
        case AggOp::kMax:
          r = a.hi;
          break;
        case AggOp::kCount:
          r = static_cast<double>(a.n);
          break;
      }
      if (std::isfinite(r)) v.series.push_back(ExprPoint{a.labels, r});
    }
    return v;
  }

  const std::vector<std::optional<CompiledSelector>>& sels_;
  const Samples& samples_;
  ExprWindows& windows_;
  int64_t now_ms_;
};

void Compile(const ValueExpr& e,
             std::vector<std::optional<CompiledSelector>>& out, Status& st) {
  if (e.kind == ValueExpr::Kind::kSelector ||
      e.kind == ValueExpr::Kind::kWindow) {
    Result<CompiledSelector> c = CompileSelector(e.selector);
    if (!c.ok()) {
      if (st.ok()) st = c.status();
    } else if (e.id >= 0 && static_cast<size_t>(e.id) < out.size()) {
      out[e.id] = std::move(c).value();
    } else if (st.ok()) {
      st = InvalidArgumentError("expression node id out of range");
    }
  }
  for (const ValueExpr& a : e.args) Compile(a, out, st);
}

}  // namespace

std::optional<double> ExprWindows::Observe(int node, const Labels& labels,
                                           int64_t now_ms, double value,
                                           WindowFn fn, int64_t window_ms) {
  Entry& en = entries_[std::to_string(node) + '\x03' + Key(labels)];
  en.window.Add(now_ms, value);
  en.window.Trim(now_ms, window_ms);
  en.last_ms = now_ms;
  return en.window.Eval(fn, window_ms, now_ms);
}

void ExprWindows::Forget(int64_t now_ms, int64_t idle_ms) {
  for (auto it = entries_.begin(); it != entries_.end();) {
    it = now_ms - it->second.last_ms > idle_ms ? entries_.erase(it)
                                               : std::next(it);
  }
}

size_t ExprWindows::Points() const {
  size_t n = 0;
  for (const auto& [k, e] : entries_) n += e.window.size();
  return n;
}

std::vector<ExprPoint> EvalValueExpr(
    const ValueExpr& e,
    const std::vector<std::optional<CompiledSelector>>& selectors,
    const Samples& samples, ExprWindows& windows, int64_t now_ms) {
  Value v = Evaluator(selectors, samples, windows, now_ms).Eval(e);
  if (v.scalar) {
    if (!v.number) return {};
    return {ExprPoint{{}, *v.number}};
  }
  return std::move(v.series);
}

Result<std::vector<std::optional<CompiledSelector>>> CompileExprSelectors(
    const ValueExpr& e, int nodes) {
  std::vector<std::optional<CompiledSelector>> out(
      static_cast<size_t>(std::max(nodes, 0)));
  Status st;
  Compile(e, out, st);
  if (!st.ok()) return st;
  return out;
}

}  // namespace rigwatch::rules
