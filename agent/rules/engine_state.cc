// Persistence of rule states, pending timers, mutes and grace periods in the
// DurableKv, namespace EngineOptions::kv_namespace ("rules"):
//   state<US>RULE<US>TARGET<US>name=value<RS>name=value ->
//       "1 LEVEL SINCE_MS YELLOW_SINCE_MS|- RED_SINCE_MS|-"
//   mute<US>TARGET  -> UNTIL_MS        grace<US>TARGET -> UNTIL_MS
// (US = \x1f, RS = \x1e; key parts are %-escaped; times are wall ms.)
// A series that is GREEN or UNKNOWN with no pending timer has no entry: a
// restarted engine treats a missing entry exactly like that state, and a
// fleet of healthy miners then costs no writes at all.
#include <charconv>
#include <sstream>

#include "agent/common/log.h"
#include "agent/rules/engine_impl.h"

namespace rigwatch::rules {
namespace {

constexpr char kUs = '\x1f';
constexpr char kRs = '\x1e';

void Escape(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (char c : s) {
    if (c == '%' || c == kUs || c == kRs || c == '=') {
      out += '%';
      out += kHex[(static_cast<unsigned char>(c) >> 4) & 0xF];
      out += kHex[static_cast<unsigned char>(c) & 0xF];
    } else {
      out += c;
    }
  }
}

std::optional<std::string> Unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;
    int v = 0;
    auto r = std::from_chars(s.data() + i + 1, s.data() + i + 3, v, 16);
    if (r.ec != std::errc() || r.ptr != s.data() + i + 3) return std::nullopt;
    out += static_cast<char>(v);
    i += 2;
  }
  return out;
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t p = s.find(sep, start);
    out.push_back(s.substr(start, p == std::string_view::npos ? p : p - start));
    if (p == std::string_view::npos) break;
    start = p + 1;
  }
  return out;
}

std::optional<int64_t> ParseInt(std::string_view s) {
  int64_t v = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

struct Decoded {
  std::string rule, target;
  Labels labels;
  Level level;
  int64_t since_wall_ms;
  std::optional<int64_t> cond_since_wall[2];
};

std::optional<Decoded> Decode(std::string_view key, std::string_view value) {
  std::vector<std::string_view> k = Split(key, kUs);
  if (k.size() != 4 || k[0] != "state") return std::nullopt;
  Decoded d;
  auto rule = Unescape(k[1]);
  auto target = Unescape(k[2]);
  if (!rule || !target) return std::nullopt;
  d.rule = *rule;
  d.target = *target;
  if (!k[3].empty()) {
    for (std::string_view kv : Split(k[3], kRs)) {
      size_t eq = kv.find('=');
      if (eq == std::string_view::npos) return std::nullopt;
      auto n = Unescape(kv.substr(0, eq));
      auto v = Unescape(kv.substr(eq + 1));
      if (!n || !v) return std::nullopt;
      d.labels.push_back(Label{*n, *v});
    }
  }
  std::vector<std::string_view> f = Split(value, ' ');
  if (f.size() != 5 || f[0] != "1") return std::nullopt;
  auto level = ParseInt(f[1]);
  auto since = ParseInt(f[2]);
  if (!level || !since || *level < -1 || *level > 2) return std::nullopt;
  d.level = static_cast<Level>(*level);
  d.since_wall_ms = *since;
  for (int i = 0; i < 2; ++i) {
    if (f[3 + i] == "-") continue;
    auto t = ParseInt(f[3 + i]);
    if (!t) return std::nullopt;
    d.cond_since_wall[i] = *t;
  }
  return d;
}

}  // namespace

std::string RuleEngine::Impl::TargetKey(std::string_view prefix,
                                        std::string_view target) {
  std::string key(prefix);
  key += kUs;
  Escape(key, target);
  return key;
}

std::string RuleEngine::Impl::StateKey(std::string_view rule,
                                       std::string_view target,
                                       const Labels& labels) {
  std::string key = "state";
  key += kUs;
  Escape(key, rule);
  key += kUs;
  Escape(key, target);
  key += kUs;
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i > 0) key += kRs;
    Escape(key, labels[i].name);
    key += '=';
    Escape(key, labels[i].value);
  }
  return key;
}

std::string RuleEngine::Impl::EncodeState(const Series& s) const {
  std::string v = "1 " + std::to_string(static_cast<int>(s.level)) + " " +
                  std::to_string(s.since_wall_ms);
  for (int i = 0; i < 2; ++i) {
    v += ' ';
    v += s.cond_since[i] ? std::to_string(ToWall(*s.cond_since[i])) : "-";
  }
  return v;
}

void RuleEngine::Impl::QueueState(const std::string& rule,
                                  const std::string& target, Series& s) {
  s.dirty = false;
  if (kv == nullptr) return;
  const bool quiet = (s.level == Level::kGreen || s.level == Level::kUnknown) &&
                     !s.cond_since[0] && !s.cond_since[1];
  if (quiet && !s.persisted) return;
  batch.push_back(
      KvWrite{options.kv_namespace, StateKey(rule, target, s.labels),
              quiet ? std::nullopt : std::optional(EncodeState(s))});
  batch_states.push_back({rule, target, s.labels, s.persisted});
  s.persisted = !quiet;
}

void RuleEngine::Impl::QueueDelete(std::string key) {
  if (kv == nullptr) return;
  batch.push_back(KvWrite{options.kv_namespace, std::move(key), std::nullopt});
}

Status RuleEngine::Impl::CommitBatch() {
  Status st;
  if (kv != nullptr && !batch.empty()) st = kv->Write(batch);
  if (!st.ok()) {
    for (const QueuedState& q : batch_states) {
      auto t = targets.find(q.target);
      const int i = RuleIndex(q.rule);
      if (t == targets.end() || i < 0 ||
          static_cast<size_t>(i) >= t->second.by_rule.size()) {
        continue;
      }
      for (Series& s : t->second.by_rule[static_cast<size_t>(i)]) {
        if (s.labels == q.labels) {
          s.dirty = true;  // retried on the next change
          s.persisted = q.was_persisted;
          break;
        }
      }
    }
    st = st.WithContext("rules: persist " + std::to_string(batch.size()) +
                        " state changes");
  }
  batch.clear();
  batch_states.clear();
  return st;
}

bool RuleEngine::Impl::Muted(const std::string& target) const {
  auto it = mute_until_wall_ms.find(target);
  return it != mute_until_wall_ms.end() && it->second > now_wall_ms;
}

bool RuleEngine::Impl::InGrace(const std::string& target) const {
  auto it = grace_until_wall_ms.find(target);
  return it != grace_until_wall_ms.end() && it->second > now_wall_ms;
}

Status RuleEngine::Restore() {
  std::lock_guard<std::mutex> l(impl_->mu);
  Impl& im = *impl_;
  if (!im.rules_set) {
    // Without the rules every state entry would look orphaned and be
    // deleted: refuse instead of losing them.
    return FailedPreconditionError("rules: Restore() before SetRules()");
  }
  if (im.kv == nullptr) return Status::Ok();
  im.Tick();
  RW_ASSIGN_OR_RETURN(auto entries, im.kv->List(im.options.kv_namespace));
  Status first;
  auto drop = [&](const std::string& key, std::string_view why) {
    LogWarn("rules_state_dropped").Kv("key", key).Kv("why", why);
    Status st = im.kv->Delete(im.options.kv_namespace, key);
    if (!st.ok() && first.ok()) first = st;
  };
  for (const auto& [key, value] : entries) {
    if (key.starts_with("mute\x1f") || key.starts_with("grace\x1f")) {
      const bool mute = key[0] == 'm';
      auto target = Unescape(std::string_view(key).substr(key.find(kUs) + 1));
      auto until = ParseInt(value);
      if (!until || !target) {
        drop(key, "undecodable");
        continue;
      }
      (mute ? im.mute_until_wall_ms : im.grace_until_wall_ms)[*target] = *until;
      continue;
    }
    std::optional<Decoded> d = Decode(key, value);
    if (!d) {
      drop(key, "undecodable");
      continue;
    }
    int idx = im.RuleIndex(d->rule);
    if (idx < 0) {
      drop(key, "rule no longer defined");
      continue;
    }
    TargetState& t = im.Target(d->target, "");
    std::vector<Series>& list = t.by_rule[idx];
    Series* s = nullptr;
    for (Series& c : list) {
      if (c.labels == d->labels) s = &c;
    }
    if (s == nullptr) {
      list.push_back(Series{});
      s = &list.back();
      s->labels = d->labels;
    }
    s->level = d->level;
    s->since_wall_ms = d->since_wall_ms;
    for (int i = 0; i < 2; ++i) {
      if (d->cond_since_wall[i]) {
        s->cond_since[i] = im.ToSteady(*d->cond_since_wall[i]);
      }
    }
    // Staleness counts from the restart: the agent was not looking before.
    s->last_seen_ms = im.now_ms;
    s->persisted = true;
  }
  return first;
}

Status RuleEngine::Mute(std::string_view target, WallTime until) {
  std::lock_guard<std::mutex> l(impl_->mu);
  Impl& im = *impl_;
  const int64_t ms = ToUnixMillis(until);
  if (im.kv != nullptr) {
    RW_RETURN_IF_ERROR(im.kv->Put(im.options.kv_namespace,
                                  Impl::TargetKey("mute", target),
                                  std::to_string(ms)));
  }
  im.mute_until_wall_ms[std::string(target)] = ms;
  return Status::Ok();
}

Status RuleEngine::Unmute(std::string_view target) {
  std::lock_guard<std::mutex> l(impl_->mu);
  Impl& im = *impl_;
  if (im.kv != nullptr) {
    RW_RETURN_IF_ERROR(im.kv->Delete(im.options.kv_namespace,
                                     Impl::TargetKey("mute", target)));
  }
  im.mute_until_wall_ms.erase(std::string(target));
  return Status::Ok();
}

Status RuleEngine::StartGrace(std::string_view target, Duration duration) {
  std::lock_guard<std::mutex> l(impl_->mu);
  Impl& im = *impl_;
  im.Tick();
  int64_t until =
      im.now_wall_ms +
      std::chrono::duration_cast<std::chrono::milliseconds>(duration).count();
  auto it = im.grace_until_wall_ms.find(std::string(target));
  if (it != im.grace_until_wall_ms.end() && it->second > until) {
    return Status::Ok();  // an existing longer grace stays
  }
  if (im.kv != nullptr) {
    RW_RETURN_IF_ERROR(im.kv->Put(im.options.kv_namespace,
                                  Impl::TargetKey("grace", target),
                                  std::to_string(until)));
  }
  im.grace_until_wall_ms[std::string(target)] = until;
  return Status::Ok();
}

}  // namespace rigwatch::rules
