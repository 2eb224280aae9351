#include "agent/rules/expr.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <optional>

#include "agent/common/label_regex.h"
#include "agent/common/units.h"
#include "agent/rules/match.h"
#include "agent/rules/quantity.h"

namespace rigwatch::rules {
namespace {

// The longest window a condition may use: rolling windows are kept in memory
// for every selected series, so this bounds the engine's memory.
constexpr std::chrono::milliseconds kMaxWindow = std::chrono::hours(24);

bool IsIdentStart(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_';
}
bool IsIdentChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
}

class Scanner {
 public:
  explicit Scanner(std::string_view s) : s_(s) {}
  void SkipSpace() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t')) ++pos_;
  }
  bool AtEnd() {
    SkipSpace();
    return pos_ >= s_.size();
  }
  char Peek() {
    SkipSpace();
    return pos_ < s_.size() ? s_[pos_] : '\0';
  }
  bool Consume(std::string_view tok) {
    SkipSpace();
    if (s_.substr(pos_, tok.size()) == tok) {
      pos_ += tok.size();
      return true;
    }
    return false;
  }
  // An identifier; empty when none is here. `colon` allows ':' (metric names).
  std::string_view Ident(bool colon) {
    SkipSpace();
    size_t start = pos_;
    if (pos_ < s_.size() &&
        (IsIdentStart(s_[pos_]) || (colon && s_[pos_] == ':'))) {
      ++pos_;
      while (pos_ < s_.size() &&
             (IsIdentChar(s_[pos_]) || (colon && s_[pos_] == ':'))) {
        ++pos_;
      }
    }
    return s_.substr(start, pos_ - start);
  }
  // The text of the token at the cursor, for messages.
  std::string TokenHere() {
    SkipSpace();
    if (pos_ >= s_.size()) return "end of text";
    size_t end = pos_ + 1;
    if (IsIdentChar(s_[pos_])) {
      while (end < s_.size() && IsIdentChar(s_[end])) ++end;
    }
    // Appended: `"\"" + std::string(...)` trips GCC 12's -Wrestrict at -O3.
    std::string token = "\"";
    token.append(s_.substr(pos_, end - pos_));
    token += '"';
    return token;
  }
  size_t pos() const { return pos_; }
  void set_pos(size_t p) { pos_ = p; }
  std::string_view text() const { return s_; }

 private:
  std::string_view s_;
  size_t pos_ = 0;
};

ExprError Err(size_t offset, std::string message) {
  return ExprError{offset, std::move(message)};
}

// A "..." string with \" and \\ escapes.
ExprResult<std::string> QuotedString(Scanner& sc) {
  sc.SkipSpace();
  size_t start = sc.pos();
  std::string_view s = sc.text();
  if (start >= s.size() || s[start] != '"') {
    return Err(start,
               "expected a double-quoted label value, found " + sc.TokenHere());
  }
  std::string out;
  size_t i = start + 1;
  while (i < s.size() && s[i] != '"') {
    if (s[i] == '\\' && i + 1 < s.size()) ++i;
    out += s[i++];
  }
  if (i >= s.size()) return Err(start, "unterminated label value");
  sc.set_pos(i + 1);
  return out;
}

// A number: digits, an optional fraction and exponent.
std::optional<double> Number(Scanner& sc) {
  sc.SkipSpace();
  std::string_view s = sc.text();
  size_t i = sc.pos();
  size_t start = i;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
  }
  if (i == start || (i == start + 1 && s[start] == '.')) return std::nullopt;
  if (i + 1 < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    size_t j = i + 1;
    if (j < s.size() && (s[j] == '+' || s[j] == '-')) ++j;
    if (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) {
      while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j])))
        ++j;
      i = j;
    }
  }
  double v = 0;
  auto r = std::from_chars(s.data() + start, s.data() + i, v);
  if (r.ec != std::errc() || !std::isfinite(v)) return std::nullopt;
  sc.set_pos(i);
  return v;
}

// n in base units: divides by 100 for "%" rather than multiplying by 0.01,
// so 95% is 0.95 and not 0.9500000000000001 (thresholds are shown).
double Scaled(double n, double scale) {
  const double inv = 1.0 / scale;
  if (scale < 1 && inv == std::round(inv)) return n / inv;
  return n * scale;
}

// An optional unit right after a number; checks it fits the metric.
ExprResult<double> UnitScale(Scanner& sc, Dim metric_dim, bool check_dim,
                             std::string_view metric) {
  std::string_view s = sc.text();
  size_t i = sc.pos();
  while (i < s.size() && s[i] == ' ') ++i;
  size_t start = i;
  while (i < s.size() && (std::isalpha(static_cast<unsigned char>(s[i])) ||
                          s[i] == '%' || s[i] == '/')) {
    ++i;
  }
  if (i == start) return 1.0;
  std::string_view name = s.substr(start, i - start);
  if (const Unit* u = FindUnit(name)) {
    if (check_dim && metric_dim != u->dim) {
      return Err(start, "unit " + std::string(name) + " (" +
                            std::string(DimName(u->dim)) +
                            ") does not fit metric " + std::string(metric) +
                            " (" + std::string(DimName(metric_dim)) + ")");
    }
    sc.set_pos(i);
    return u->scale;
  }
  return Err(start, "unknown unit \"" + std::string(name) +
                        "\"; known units: " + UnitList());
}

// A window length at the cursor: a duration, longer than 0, at most 24h.
ExprResult<std::chrono::milliseconds> WindowAt(Scanner& sc) {
  sc.SkipSpace();
  const size_t start = sc.pos();
  std::string_view s = sc.text();
  size_t end = start;
  while (end < s.size() && std::isalnum(static_cast<unsigned char>(s[end]))) {
    ++end;
  }
  auto d = ParseDuration(s.substr(start, end - start));
  if (!d.ok()) return Err(start, d.status().message());
  if (d->count() <= 0) return Err(start, "window must be longer than 0s");
  if (*d > kMaxWindow) {
    return Err(start, "window longer than the maximum of 24h");
  }
  sc.set_pos(end);
  return *d;
}

struct FnName {
  std::string_view name;
  WindowFn fn;
};
constexpr FnName kFns[] = {
    {"avg_over_time", WindowFn::kAvgOverTime},
    {"min_over_time", WindowFn::kMinOverTime},
    {"max_over_time", WindowFn::kMaxOverTime},
    {"increase", WindowFn::kIncrease},
    {"rate", WindowFn::kRate},
};

// factor ('*' factor)*, where a factor is NUMBER[UNIT] or FN(DURATION).
// `unit_ok` says whether a constant's unit is checked against the metric
// (not for rate(), whose unit is per second).
ExprResult<Operand> Side(Scanner& sc, std::string_view metric,
                         WindowFn other_fn) {
  Operand op;
  op.factor = 1.0;
  bool any = false;
  while (true) {
    sc.SkipSpace();
    size_t at = sc.pos();
    if (std::optional<double> n = Number(sc)) {
      Dim dim = MetricDim(metric);
      bool check = dim != Dim::kNone && other_fn != WindowFn::kRate;
      ExprResult<double> scale = UnitScale(sc, dim, check, metric);
      if (auto* e = std::get_if<ExprError>(&scale)) return *e;
      op.factor *= Scaled(*n, std::get<double>(scale));
    } else {
      std::string_view id = sc.Ident(false);
      if (id.empty()) {
        return Err(at,
                   "expected a number or a window function "
                   "(avg_over_time, min_over_time, max_over_time, "
                   "increase, rate), found " +
                       sc.TokenHere());
      }
      const FnName* found = nullptr;
      for (const FnName& f : kFns) {
        if (f.name == id) found = &f;
      }
      if (found == nullptr) {
        return Err(at, "unknown function \"" + std::string(id) +
                           "\"; known: avg_over_time, min_over_time, "
                           "max_over_time, increase, rate");
      }
      if (op.fn != WindowFn::kNone) {
        return Err(at,
                   "only one window function per side; this side "
                   "already has " +
                       std::string(WindowFnName(op.fn)));
      }
      if (!sc.Consume("(")) {
        return Err(sc.pos(), "expected \"(\" after " + std::string(id));
      }
      ExprResult<std::chrono::milliseconds> d = WindowAt(sc);
      if (auto* e = std::get_if<ExprError>(&d)) return *e;
      if (!sc.Consume(")")) {
        return Err(sc.pos(),
                   "expected \")\" after the window, found " + sc.TokenHere());
      }
      op.fn = found->fn;
      op.window = std::get<std::chrono::milliseconds>(d);
    }
    any = true;
    if (!sc.Consume("*")) break;
  }
  if (!any) return Err(sc.pos(), "expected an operand");
  return op;
}

struct CmpTok {
  std::string_view text;
  CmpOp op;
};
// Two-character operators first so ">=" is not read as ">".
constexpr CmpTok kCmps[] = {{">=", CmpOp::kGe}, {"<=", CmpOp::kLe},
                            {"==", CmpOp::kEq}, {"!=", CmpOp::kNe},
                            {">", CmpOp::kGt},  {"<", CmpOp::kLt}};

std::optional<CmpOp> Cmp(Scanner& sc) {
  for (const CmpTok& c : kCmps) {
    if (sc.Consume(c.text)) return c.op;
  }
  return std::nullopt;
}

constexpr std::string_view kCmpList = ">, >=, <, <=, ==, !=";

}  // namespace

namespace {

// The selector at the cursor; the text after it is left to the caller.
ExprResult<Selector> SelectorAt(Scanner& sc) {
  Selector sel;
  sc.SkipSpace();
  const size_t begin = sc.pos();
  size_t at = sc.pos();
  std::string_view name = sc.Ident(true);
  if (name.empty()) {
    return Err(at, "expected a metric name, found " + sc.TokenHere());
  }
  sel.metric = std::string(name);
  if (sc.Consume("{")) {
    while (!sc.Consume("}")) {
      sc.SkipSpace();
      size_t lat = sc.pos();
      std::string_view label = sc.Ident(false);
      if (label.empty()) {
        if (sc.AtEnd()) return Err(lat, "missing \"}\"");
        return Err(lat, "expected a label name, found " + sc.TokenHere());
      }
      Matcher m;
      m.label = std::string(label);
      size_t opat = (sc.SkipSpace(), sc.pos());
      if (sc.Consume("=~")) {
        m.op = MatchOp::kRe;
      } else if (sc.Consume("!~")) {
        m.op = MatchOp::kNre;
      } else if (sc.Consume("!=")) {
        m.op = MatchOp::kNe;
      } else if (sc.Consume("=")) {
        m.op = MatchOp::kEq;
      } else {
        return Err(opat, "expected a label matcher (=, !=, =~, !~), found " +
                             sc.TokenHere());
      }
      size_t vat = (sc.SkipSpace(), sc.pos());
      ExprResult<std::string> v = QuotedString(sc);
      if (auto* e = std::get_if<ExprError>(&v)) return *e;
      m.value = std::get<std::string>(std::move(v));
      if (m.op == MatchOp::kRe || m.op == MatchOp::kNre) {
        Result<LabelRegex> re = LabelRegex::Compile(m.value);
        if (!re.ok()) {
          std::string shown = m.value.substr(0, 64);
          if (shown.size() < m.value.size()) shown += "...";
          return Err(vat, "invalid regular expression \"" + shown +
                              "\": " + re.status().message());
        }
      }
      sel.matchers.push_back(std::move(m));
      if (sc.Consume(",")) continue;
      if (sc.Peek() != '}') {
        if (sc.AtEnd()) return Err(sc.pos(), "missing \"}\"");
        return Err(sc.pos(),
                   "expected \",\" or \"}\", found " + sc.TokenHere());
      }
    }
  }
  sel.text = std::string(sc.text().substr(begin, sc.pos() - begin));
  return sel;
}

}  // namespace

ExprResult<Selector> ParseSelector(std::string_view text) {
  Scanner sc(text);
  ExprResult<Selector> sel = SelectorAt(sc);
  if (std::holds_alternative<ExprError>(sel)) return sel;
  if (!sc.AtEnd()) {
    return Err(sc.pos(),
               "unexpected " + sc.TokenHere() + " after the selector");
  }
  std::get<Selector>(sel).text = std::string(text);
  return sel;
}

ExprResult<Condition> ParseCondition(std::string_view text,
                                     std::string_view metric) {
  Scanner sc(text);
  Condition c;
  c.text = std::string(text);
  if (sc.AtEnd()) return Err(0, "empty condition");
  {
    size_t save = sc.pos();
    if (sc.Ident(false) == "absent" && sc.AtEnd()) {
      c.absent = true;
      return c;
    }
    sc.set_pos(save);
  }
  if (std::optional<CmpOp> op = Cmp(sc)) {
    // "> 72": the series' current value against the right-hand side.
    c.lhs.is_current = true;
    c.op = *op;
  } else {
    size_t at = (sc.SkipSpace(), sc.pos());
    ExprResult<Operand> lhs = Side(sc, metric, WindowFn::kNone);
    if (auto* e = std::get_if<ExprError>(&lhs)) {
      if (e->offset == at && e->message.starts_with("expected a number")) {
        return Err(at, "expected a comparison (" + std::string(kCmpList) +
                           "), a window function or \"absent\", found " +
                           sc.TokenHere());
      }
      return *e;
    }
    c.lhs = std::get<Operand>(lhs);
    if (c.lhs.fn == WindowFn::kNone) {
      return Err(at,
                 "the left side must be a window function of the series "
                 "or be left out (\"> 72\" compares the current value)");
    }
    sc.SkipSpace();
    size_t opat = sc.pos();
    std::optional<CmpOp> op2 = Cmp(sc);
    if (!op2) {
      sc.set_pos(opat);
      return Err(opat, "expected a comparison operator (" +
                           std::string(kCmpList) + "), found " +
                           sc.TokenHere());
    }
    c.op = *op2;
  }
  ExprResult<Operand> rhs = Side(sc, metric, c.lhs.fn);
  if (auto* e = std::get_if<ExprError>(&rhs)) return *e;
  c.rhs = std::get<Operand>(rhs);
  if (!sc.AtEnd()) {
    return Err(sc.pos(),
               "unexpected " + sc.TokenHere() + " after the condition");
  }
  return c;
}

ExprResult<double> ParseQuantity(std::string_view text,
                                 std::string_view metric) {
  Scanner sc(text);
  sc.SkipSpace();
  size_t at = sc.pos();
  std::optional<double> n = Number(sc);
  if (!n) {
    return Err(at,
               "expected a non-negative number with an optional unit, "
               "found " +
                   sc.TokenHere());
  }
  Dim dim = MetricDim(metric);
  ExprResult<double> scale = UnitScale(sc, dim, dim != Dim::kNone, metric);
  if (auto* e = std::get_if<ExprError>(&scale)) return *e;
  if (!sc.AtEnd()) {
    return Err(sc.pos(), "unexpected " + sc.TokenHere() + " after the amount");
  }
  return Scaled(*n, std::get<double>(scale));
}

namespace {

constexpr int kMaxDepth = 64;

struct AggName {
  std::string_view name;
  AggOp op;
};
constexpr AggName kAggs[] = {{"sum", AggOp::kSum},
                             {"avg", AggOp::kAvg},
                             {"min", AggOp::kMin},
                             {"max", AggOp::kMax},
                             {"count", AggOp::kCount}};

// Recursive descent over docs/rules.md "Expressions"; ids are assigned
// afterwards in pre-order.
class ValueParser {
 public:
  explicit ValueParser(std::string_view text) : sc_(text) {}

  ExprResult<ValueExpr> Parse() {
    if (sc_.AtEnd()) return Err(0, "empty expression");
    ExprResult<ValueExpr> e = Sum(0);
    if (std::holds_alternative<ExprError>(e)) return e;
    if (!sc_.AtEnd()) {
      return Err(sc_.pos(), "unexpected " + sc_.TokenHere() +
                                " after the expression (operators: + - * /)");
    }
    return e;
  }

 private:
  static ValueExpr Binary(char op, ValueExpr a, ValueExpr b) {
    ValueExpr e;
    e.kind = ValueExpr::Kind::kBinary;
    e.op = op;
    e.args.push_back(std::move(a));
    e.args.push_back(std::move(b));
    return e;
  }

  ExprResult<ValueExpr> Sum(int depth) {
    ExprResult<ValueExpr> lhs = Product(depth);
    if (std::holds_alternative<ExprError>(lhs)) return lhs;
    while (true) {
      char op = sc_.Peek();
      if (op != '+' && op != '-') return lhs;
      sc_.Consume(std::string_view(&op, 1));
      ExprResult<ValueExpr> rhs = Product(depth);
      if (std::holds_alternative<ExprError>(rhs)) return rhs;
      lhs = Binary(op, std::get<ValueExpr>(std::move(lhs)),
                   std::get<ValueExpr>(std::move(rhs)));
    }
  }

  ExprResult<ValueExpr> Product(int depth) {
    ExprResult<ValueExpr> lhs = Unary(depth);
    if (std::holds_alternative<ExprError>(lhs)) return lhs;
    while (true) {
      char op = sc_.Peek();
      if (op != '*' && op != '/') return lhs;
      sc_.Consume(std::string_view(&op, 1));
      ExprResult<ValueExpr> rhs = Unary(depth);
      if (std::holds_alternative<ExprError>(rhs)) return rhs;
      lhs = Binary(op, std::get<ValueExpr>(std::move(lhs)),
                   std::get<ValueExpr>(std::move(rhs)));
    }
  }

  ExprResult<ValueExpr> Unary(int depth) {
    sc_.SkipSpace();
    const size_t at = sc_.pos();
    if (depth >= kMaxDepth) {
      return Err(at, "expression nested deeper than " +
                         std::to_string(kMaxDepth) + " levels");
    }
    if (sc_.Consume("-")) {
      // -x is 0 - x.
      ExprResult<ValueExpr> x = Unary(depth + 1);
      if (std::holds_alternative<ExprError>(x)) return x;
      ValueExpr zero;
      return Binary('-', std::move(zero), std::get<ValueExpr>(std::move(x)));
    }
    return Primary(depth);
  }

  ExprResult<std::vector<std::string>> Grouping() {
    std::vector<std::string> out;
    if (!sc_.Consume("(")) {
      return Err(sc_.pos(), "expected \"(\" and label names after by/without");
    }
    while (!sc_.Consume(")")) {
      sc_.SkipSpace();
      const size_t at = sc_.pos();
      std::string_view l = sc_.Ident(false);
      if (l.empty()) {
        return Err(at, "expected a label name, found " + sc_.TokenHere());
      }
      out.emplace_back(l);
      if (sc_.Consume(",")) continue;
      if (sc_.Peek() != ')') {
        return Err(sc_.pos(),
                   "expected \",\" or \")\", found " + sc_.TokenHere());
      }
    }
    return out;
  }

  // `by (...)` or `without (...)` at the cursor, if there is one.
  std::optional<ExprError> Modifier(ValueExpr& e, bool& seen) {
    const size_t save = sc_.pos();
    sc_.SkipSpace();
    const size_t at = sc_.pos();
    std::string_view w = sc_.Ident(false);
    if (w != "by" && w != "without") {
      sc_.set_pos(save);
      return std::nullopt;
    }
    if (seen) return Err(at, "only one by/without per aggregation");
    seen = true;
    e.without = w == "without";
    ExprResult<std::vector<std::string>> g = Grouping();
    if (auto* err = std::get_if<ExprError>(&g)) return *err;
    e.grouping = std::get<std::vector<std::string>>(std::move(g));
    return std::nullopt;
  }

  ExprResult<ValueExpr> Primary(int depth) {
    sc_.SkipSpace();
    const size_t at = sc_.pos();
    if (std::optional<double> n = Number(sc_)) {
      ValueExpr e;
      e.number = *n;
      return e;
    }
    if (sc_.Consume("(")) {
      ExprResult<ValueExpr> e = Sum(depth + 1);
      if (std::holds_alternative<ExprError>(e)) return e;
      if (!sc_.Consume(")")) {
        return Err(sc_.pos(), "expected \")\", found " + sc_.TokenHere());
      }
      return e;
    }
    std::string_view id = sc_.Ident(true);
    if (id.empty()) {
      return Err(at,
                 "expected a number, a selector, a function or \"(\", "
                 "found " +
                     sc_.TokenHere());
    }
    const bool call = sc_.Peek() == '(';
    for (const AggName& a : kAggs) {
      if (a.name != id) continue;
      ValueExpr e;
      e.kind = ValueExpr::Kind::kAggregate;
      e.agg = a.op;
      bool seen = false;
      if (auto err = Modifier(e, seen)) return *err;
      if (!sc_.Consume("(")) {
        return Err(sc_.pos(), "expected \"(\" after " + std::string(id));
      }
      ExprResult<ValueExpr> arg = Sum(depth + 1);
      if (std::holds_alternative<ExprError>(arg)) return arg;
      if (!sc_.Consume(")")) {
        return Err(sc_.pos(), "expected \")\", found " + sc_.TokenHere());
      }
      e.args.push_back(std::get<ValueExpr>(std::move(arg)));
      if (auto err = Modifier(e, seen)) return *err;
      return e;
    }
    if (call) {
      const FnName* found = nullptr;
      for (const FnName& f : kFns) {
        if (f.name == id) found = &f;
      }
      if (found == nullptr) {
        return Err(at, "unknown function \"" + std::string(id) +
                           "\"; known: sum, avg, min, max, count, "
                           "avg_over_time, min_over_time, max_over_time, "
                           "increase, rate");
      }
      sc_.Consume("(");
      sc_.SkipSpace();
      ExprResult<Selector> sel = SelectorAt(sc_);
      if (auto* err = std::get_if<ExprError>(&sel)) return *err;
      if (!sc_.Consume("[")) {
        return Err(sc_.pos(), std::string(id) +
                                  " needs a range: a selector followed by "
                                  "[DURATION], found " +
                                  sc_.TokenHere());
      }
      ExprResult<std::chrono::milliseconds> w = WindowAt(sc_);
      if (auto* err = std::get_if<ExprError>(&w)) return *err;
      if (!sc_.Consume("]")) {
        return Err(sc_.pos(),
                   "expected \"]\" after the window, found " + sc_.TokenHere());
      }
      if (!sc_.Consume(")")) {
        return Err(sc_.pos(), "expected \")\", found " + sc_.TokenHere());
      }
      ValueExpr e;
      e.kind = ValueExpr::Kind::kWindow;
      e.fn = found->fn;
      e.window = std::get<std::chrono::milliseconds>(w);
      e.selector = std::get<Selector>(std::move(sel));
      return e;
    }
    sc_.set_pos(at);
    ExprResult<Selector> sel = SelectorAt(sc_);
    if (auto* err = std::get_if<ExprError>(&sel)) return *err;
    if (sc_.Peek() == '[') {
      return Err(sc_.pos(),
                 "a range [DURATION] is only allowed inside a window function "
                 "such as rate(" +
                     std::get<Selector>(sel).text + "[1m])");
    }
    ValueExpr e;
    e.kind = ValueExpr::Kind::kSelector;
    e.selector = std::get<Selector>(std::move(sel));
    return e;
  }

  Scanner sc_;
};

int AssignIds(ValueExpr& e, int next) {
  e.id = next++;
  for (ValueExpr& a : e.args) next = AssignIds(a, next);
  return next;
}

}  // namespace

ExprResult<ValueExpr> ParseValueExpr(std::string_view text, int* nodes) {
  ExprResult<ValueExpr> e = ValueParser(text).Parse();
  if (auto* v = std::get_if<ValueExpr>(&e)) {
    const int n = AssignIds(*v, 0);
    if (nodes != nullptr) *nodes = n;
  }
  return e;
}

std::string ExprMetric(const ValueExpr& e) {
  if (e.kind == ValueExpr::Kind::kSelector) return e.selector.metric;
  if (e.kind == ValueExpr::Kind::kAggregate && e.agg != AggOp::kCount) {
    return ExprMetric(e.args[0]);
  }
  return "";
}

}  // namespace rigwatch::rules
