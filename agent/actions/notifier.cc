#include "agent/actions/notifier.h"

#include <cstdio>
#include <nlohmann/json.hpp>
#include <random>

#include "agent/actions/mail.h"
#include "agent/common/log.h"
#include "agent/common/units.h"

namespace rigwatch::actions {
namespace {

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(c));
  return out;
}

std::string KindName(int kind) {
  switch (kind) {
    case 0:
      return "FIRING";
    case 1:
      return "RESOLVED";
    default:
      return "REMINDER";
  }
}

std::string FormatValue(const Transition& t) {
  if (!t.value) return "(no value)";
  return FormatMetricValue(*t.value, t.value_metric);
}

// Characters a target name may carry into a URL path, percent-encoded.
std::string UrlEscape(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// Text from miners and rules goes into the body on one line.
std::string OneLine(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) c = ' ';
  }
  return out;
}

std::string AmSeverity(const Transition& t) {
  if (t.severity == "critical" || t.severity == "warning") return t.severity;
  return t.to == Level::kRed ? "critical" : "warning";
}

constexpr std::size_t kMaxBlocksPerMail = 50;

// The fleet guard's own alert: persisted like the others (the guard's state
// is too), never part of a mail group, never reconciled with the rules.
const char* const kFleetRule = "rigwatch_fleet_unreachable";
bool IsFleetKey(const std::pair<std::string, std::string>& k) {
  return k.first == kFleetRule && k.second == "fleet";
}

std::string AlertKey(const std::pair<std::string, std::string>& k) {
  return "alert\x1f" + k.first + "\x1f" + k.second;
}
constexpr std::string_view kMetaKey = "meta";

using Json = nlohmann::json;

std::string Dump(const Json& j) {
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

// A steady time as wall-clock ms, and back, against the same "now".
int64_t SteadyToWallMs(SteadyTime t, SteadyTime steady_now, WallTime wall_now) {
  return ToUnixMillis(wall_now) -
         std::chrono::duration_cast<std::chrono::milliseconds>(steady_now - t)
             .count();
}
SteadyTime WallMsToSteady(int64_t ms, SteadyTime steady_now,
                          WallTime wall_now) {
  const int64_t ago = std::max<int64_t>(0, ToUnixMillis(wall_now) - ms);
  return steady_now - std::chrono::milliseconds(ago);
}

std::string RandomHex() {
  std::random_device rd;
  char buf[24];
  std::snprintf(buf, sizeof buf, "%08x%08x", rd(), rd());
  return buf;
}

}  // namespace

Notifier::Notifier(NotifierOptions options, Clock* clock, Outbox* outbox,
                   DurableKv* kv)
    : opt_(std::move(options)), clock_(clock), outbox_(outbox), kv_(kv) {
  instance_ = RandomHex();
}

void Notifier::AddToGroupLocked(const Key& key, Kind kind, SteadyTime now) {
  if (group_.empty()) {
    group_opened_ = now;
    meta_dirty_ = true;
  }
  group_[key] = kind;
  Dirty(key);
}

std::string Notifier::EncodeLocked(const Key& key, const Alert& a) const {
  const Transition& t = a.last;
  const SteadyTime steady_now = clock_->SteadyNow();
  const WallTime wall_now = clock_->Now();
  Json j;
  j["v"] = 1;
  j["rule"] = key.first;
  j["target"] = key.second;
  Json labels = Json::array();
  for (const Label& l : t.labels) labels.push_back({l.name, l.value});
  j["labels"] = labels;
  j["from"] = static_cast<int>(t.from);
  j["to"] = static_cast<int>(t.to);
  if (t.value) j["value"] = *t.value;
  j["value_metric"] = t.value_metric;
  j["threshold"] = t.threshold;
  if (t.threshold_value) j["threshold_value"] = *t.threshold_value;
  j["since_ms"] = ToUnixMillis(t.since);
  j["severity"] = t.severity;
  j["actions"] = t.actions;
  j["muted"] = t.muted;
  j["description"] = t.description;
  j["firing"] = a.firing;
  j["mailed"] = a.mailed;
  if (a.mailed) {
    j["last_mail_ms"] = SteadyToWallMs(a.last_mail, steady_now, wall_now);
  }
  j["starts_at_ms"] = ToUnixMillis(a.starts_at);
  j["am_active"] = a.am_active;
  j["am_severity"] = a.am_severity;
  auto g = group_.find(key);
  j["group"] = g == group_.end() ? -1 : static_cast<int>(g->second);
  return Dump(j);
}

bool Notifier::DecodeLocked(std::string_view value, SteadyTime steady_now,
                            WallTime wall_now) {
  Json j = Json::parse(value, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object() || j.value("v", 0) != 1) {
    return false;
  }
  try {
    Alert a;
    Transition& t = a.last;
    t.rule = j.at("rule").get<std::string>();
    t.target = j.at("target").get<std::string>();
    for (const Json& l : j.at("labels")) {
      t.labels.push_back(
          Label{l.at(0).get<std::string>(), l.at(1).get<std::string>()});
    }
    const int from = j.at("from").get<int>();
    const int to = j.at("to").get<int>();
    if (from < -1 || from > 2 || to < -1 || to > 2) return false;
    t.from = static_cast<Level>(from);
    t.to = static_cast<Level>(to);
    if (j.contains("value")) t.value = j["value"].get<double>();
    t.value_metric = j.value("value_metric", "");
    t.threshold = j.value("threshold", "");
    if (j.contains("threshold_value")) {
      t.threshold_value = j["threshold_value"].get<double>();
    }
    t.since = FromUnixMillis(j.at("since_ms").get<int64_t>());
    t.severity = j.value("severity", "");
    t.actions = j.value("actions", std::vector<std::string>{});
    t.muted = j.value("muted", false);
    t.description = j.value("description", "");
    a.firing = j.at("firing").get<bool>();
    a.mailed = j.at("mailed").get<bool>();
    if (a.mailed) {
      a.last_mail = WallMsToSteady(j.at("last_mail_ms").get<int64_t>(),
                                   steady_now, wall_now);
    }
    a.starts_at = FromUnixMillis(j.at("starts_at_ms").get<int64_t>());
    a.am_active = j.at("am_active").get<bool>();
    a.am_severity = j.value("am_severity", "");
    const int g = j.value("group", -1);
    if (g < -1 || g > 2) return false;
    const Key key{t.rule, t.target};
    if (g >= 0) group_[key] = static_cast<Kind>(g);
    alerts_[key] = std::move(a);
    return true;
  } catch (const Json::exception&) {
    return false;
  }
}

Status Notifier::Load() {
  if (kv_ == nullptr) return Status::Ok();
  RW_ASSIGN_OR_RETURN(auto rows, kv_->List(kNamespace));
  std::lock_guard<std::mutex> l(mu_);
  const SteadyTime steady_now = clock_->SteadyNow();
  const WallTime wall_now = clock_->Now();
  std::vector<KvWrite> drop;
  std::optional<int64_t> group_opened_ms;
  for (const auto& [k, v] : rows) {
    if (k == kMetaKey) {
      Json j = Json::parse(v, nullptr, false);
      if (j.is_object() && j.value("v", 0) == 1 &&
          j.value("instance", "") != "") {
        instance_ = j.value("instance", "");
        seq_ = j.value("seq", uint64_t{0});
        if (j.contains("group_opened_ms") &&
            j["group_opened_ms"].is_number_integer()) {
          group_opened_ms = j["group_opened_ms"].get<int64_t>();
        }
        continue;
      }
    } else if (DecodeLocked(v, steady_now, wall_now)) {
      continue;
    }
    LogWarn("notifier_state_undecodable").Kv("key", k).Kv("value", v);
    drop.push_back(KvWrite{std::string(kNamespace), k, std::nullopt});
  }
  if (!group_.empty()) {
    group_opened_ = group_opened_ms
                        ? WallMsToSteady(*group_opened_ms, steady_now, wall_now)
                        : steady_now;
  }
  meta_dirty_ = true;  // a fresh store gets its instance id now
  int pushed = 0;
  for (auto& [key, a] : alerts_) {
    if (!a.am_active) continue;
    if (opt_.alertmanager) {
      // Alertmanager ends an alert at its endsAt: tell it at once that this
      // one is still active.
      PushAmLocked(key, a, true);
      ++pushed;
    } else {
      a.am_active = false;  // Alertmanager is no longer configured
      Dirty(key);
    }
  }
  if (!alerts_.empty() || !drop.empty()) {
    LogInfo("notifier_state_loaded")
        .Kv("alerts", static_cast<uint64_t>(alerts_.size()))
        .Kv("grouped", static_cast<uint64_t>(group_.size()))
        .Kv("alertmanager_repushed", pushed)
        .Kv("dropped", static_cast<uint64_t>(drop.size()));
  }
  if (!drop.empty()) RW_RETURN_IF_ERROR(kv_->Write(drop));
  return PersistLocked();
}

void Notifier::Reconcile(
    const std::set<std::pair<std::string, std::string>>& active) {
  std::vector<Transition> ended;
  {
    std::lock_guard<std::mutex> l(mu_);
    for (const auto& [key, a] : alerts_) {
      if (IsFleetKey(key) || active.count(key) != 0) continue;
      if (!a.firing && !a.mailed && !a.am_active) continue;
      Transition t = a.last;
      t.from = t.to;
      t.to = Level::kGreen;
      t.value.reset();
      t.actions.clear();
      t.muted = false;
      t.since = clock_->Now();
      ended.push_back(std::move(t));
    }
  }
  if (!ended.empty()) {
    LogInfo("notifier_reconciled")
        .Kv("resolved", static_cast<uint64_t>(ended.size()));
  }
  for (const Transition& t : ended) OnTransition(t, false);
}

std::vector<Transition> Notifier::Unrecorded(
    const std::vector<Transition>& active) const {
  std::vector<Transition> out;
  std::set<Key> seen;
  std::lock_guard<std::mutex> l(mu_);
  for (const Transition& t : active) {
    const Key key{t.rule, t.target};
    // One alert per (rule, target): the first (worst) series stands for it.
    if (!seen.insert(key).second || IsFleetKey(key)) continue;
    if (t.muted || t.to == Level::kGreen || t.to == Level::kUnknown ||
        !t.Wants("notify")) {
      continue;
    }
    auto it = alerts_.find(key);
    if (it != alerts_.end() && it->second.firing && it->second.last.to == t.to)
      continue;  // recorded: the restored rules judging it again is no news
    Transition n = t;
    n.from = it != alerts_.end() ? it->second.last.to : Level::kGreen;
    out.push_back(std::move(n));
  }
  return out;
}

bool Notifier::FleetRecordedDown() const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = alerts_.find(Key{kFleetRule, "fleet"});
  return it != alerts_.end() && it->second.last.to == Level::kRed;
}

Status Notifier::PersistLocked() {
  if (kv_ == nullptr) {
    dirty_.clear();
    meta_dirty_ = false;
    return Status::Ok();
  }
  if (dirty_.empty() && !meta_dirty_) return Status::Ok();
  std::vector<KvWrite> batch;
  batch.reserve(dirty_.size() + 1);
  for (const Key& k : dirty_) {
    auto it = alerts_.find(k);
    batch.push_back(KvWrite{std::string(kNamespace), AlertKey(k),
                            it == alerts_.end()
                                ? std::nullopt
                                : std::optional(EncodeLocked(k, it->second))});
  }
  if (meta_dirty_) {
    Json m;
    m["v"] = 1;
    m["instance"] = instance_;
    m["seq"] = seq_;
    if (!group_.empty()) {
      m["group_opened_ms"] =
          SteadyToWallMs(group_opened_, clock_->SteadyNow(), clock_->Now());
    }
    batch.push_back(
        KvWrite{std::string(kNamespace), std::string(kMetaKey), Dump(m)});
  }
  Status st = kv_->Write(batch);
  if (!st.ok()) {
    return st.WithContext("notifier: persist " + std::to_string(batch.size()) +
                          " changes");
  }
  dirty_.clear();
  meta_dirty_ = false;
  return Status::Ok();
}

Status Notifier::Persist() {
  std::lock_guard<std::mutex> l(mu_);
  return PersistLocked();
}

void Notifier::OnTransition(const Transition& t, bool fleet_down) {
  // A muted rule keeps whatever was said about it until it is green again.
  if (t.muted && t.to != Level::kGreen) return;
  std::lock_guard<std::mutex> l(mu_);
  const Key key{t.rule, t.target};
  const SteadyTime now = clock_->SteadyNow();
  Alert& a = alerts_[key];
  Dirty(key);
  const bool was_firing = a.firing;
  const Level was_level = a.last.to;
  const WallTime was_since = a.last.since;
  a.last = t;
  a.firing = t.to != Level::kGreen && t.Wants("notify");
  if (a.firing && !was_firing) {
    a.starts_at = t.since == WallTime{} ? clock_->Now() : t.since;
  }
  // The same level again (a restarted rules engine judging anew): already
  // said, and already mailed; reminders keep their schedule and "since".
  const bool news = !(was_firing && a.firing && was_level == t.to);
  if (!news) a.last.since = was_since;
  if (fleet_down || fleet_down_) return;  // OnFleetRecovered catches up
  if (opt_.mail) {
    if (a.firing && !news && a.mailed) {
      // nothing new to mail
    } else if (a.firing) {
      AddToGroupLocked(key, Kind::kFiring, now);
    } else if (a.mailed) {
      AddToGroupLocked(key, Kind::kResolved, now);
    } else {
      group_.erase(key);  // fired and ended within one group: nothing to say
    }
  }
  if (opt_.alertmanager && (a.firing || a.am_active)) {
    PushAmLocked(key, a, a.firing);
  }
  if (!a.firing && !a.mailed && !a.am_active && !group_.count(key)) {
    alerts_.erase(key);
  }
}

std::string Notifier::RenderAlert(const Alert& a, Kind kind) const {
  const Transition& t = a.last;
  std::map<std::string, std::string> vars;
  vars["status"] = KindName(static_cast<int>(kind));
  vars["rule"] = OneLine(t.rule);
  vars["target"] = OneLine(t.target);
  vars["from"] = Upper(LevelName(t.from));
  vars["to"] = Upper(LevelName(t.to));
  vars["value"] = FormatValue(t);
  vars["threshold"] = t.threshold.empty() ? "(none)" : OneLine(t.threshold);
  vars["since"] = FormatRfc3339(t.since);
  vars["severity"] = t.severity.empty() ? "(none)" : OneLine(t.severity);
  vars["summary"] = t.description.empty() ? "(none)" : OneLine(t.description);
  std::string action =
      opt_.action_taken ? opt_.action_taken(t.target, a.starts_at) : "";
  if (action.empty()) {
    action = a.last.Wants("restart") ? "restart requested" : "none";
  }
  vars["action"] = OneLine(action);
  std::string err = opt_.last_error ? opt_.last_error(t.target) : "";
  vars["last_error"] = err.empty() ? "(none)" : OneLine(err);
  vars["link"] =
      opt_.external_url.empty()
          ? "(set notify.external_url for links)"
          : opt_.external_url + "/api/v1/targets/" + UrlEscape(t.target);
  return RenderTemplate(opt_.alert_template, vars);
}

void Notifier::FlushGroupLocked() {
  if (group_.empty()) return;
  const SteadyTime now = clock_->SteadyNow();
  int firing = 0, resolved = 0, reminders = 0;
  std::string blocks;
  std::size_t shown = 0;
  for (const auto& [key, kind] : group_) {
    auto it = alerts_.find(key);
    if (it == alerts_.end()) continue;
    if (kind == Kind::kFiring) ++firing;
    if (kind == Kind::kResolved) ++resolved;
    if (kind == Kind::kReminder) ++reminders;
    // A farm can change hundreds of alerts at once: the mail stays readable
    // and small, the counts in the subject stay complete.
    if (shown == kMaxBlocksPerMail) continue;
    ++shown;
    if (!blocks.empty()) blocks += "\n";
    blocks += RenderAlert(it->second, kind);
  }
  if (shown < group_.size()) {
    blocks += "\n... and " + std::to_string(group_.size() - shown) +
              " more changes not listed here.\n";
  }
  std::string subject = "[rigwatch] ";
  if (group_.size() == 1) {
    const auto& [key, kind] = *group_.begin();
    const Alert& a = alerts_[key];
    subject += KindName(static_cast<int>(kind)) + ": " + key.first + " on " +
               key.second + " is " + Upper(LevelName(a.last.to));
  } else {
    subject += std::to_string(group_.size()) +
               " alerts: " + std::to_string(firing) + " firing, " +
               std::to_string(resolved) + " resolved, " +
               std::to_string(reminders) + " still red";
  }
  std::string body =
      "rigwatch on " + opt_.host + " reports " + std::to_string(group_.size()) +
      (group_.size() == 1 ? " change" : " changes") + ".\n\n" + blocks;
  if (!opt_.external_url.empty()) {
    body += "\nAll targets: " + opt_.external_url + "/api/v1/targets\n";
  }
  // The digest's Message-ID comes from the persisted sequence: queued again
  // after a crash before the state below was persisted, it is the same
  // Message-ID and the outbox drops the copy.
  QueueMailLocked(
      subject, body,
      MessageIdFor(instance_ + "." + std::to_string(seq_), opt_.host));
  ++seq_;
  meta_dirty_ = true;
  for (const auto& [key, kind] : group_) {
    Dirty(key);
    auto it = alerts_.find(key);
    if (it == alerts_.end()) continue;
    Alert& a = it->second;
    if (kind == Kind::kResolved) {
      a.mailed = false;
      if (!a.firing && !a.am_active) alerts_.erase(it);
    } else {
      a.mailed = true;
      a.last_mail = now;
    }
  }
  group_.clear();
}

void Notifier::QueueMailLocked(const std::string& subject,
                               const std::string& body,
                               std::string message_id) {
  MailMessage m;
  m.from = opt_.from;
  m.to = opt_.to;
  m.subject = subject;
  m.body = body;
  m.date = clock_->Now();
  m.message_id = message_id.empty() ? NewMessageId(m.date, opt_.host)
                                    : std::move(message_id);
  auto text = FormatMessage(m);
  if (!text.ok()) {
    LogError("mail_format_failed").Kv("err", text.status());
    return;
  }
  Status s = outbox_->Enqueue(kMailChannel, m.message_id, *text);
  if (!s.ok()) {
    LogError("mail_enqueue_failed").Kv("subject", subject).Kv("err", s);
    return;
  }
  ++mails_queued_;
}

void Notifier::PushAmLocked(const Key& key, Alert& a, bool active) {
  const Transition& t = a.last;
  const WallTime now = clock_->Now();
  AmAlert am;
  am.labels["alertname"] = key.first;
  am.labels["miner"] = key.second;
  // A resolve must carry the labels the alert fired with (a green
  // transition's own severity is "none"), or Alertmanager would take it for
  // another alert and keep the firing one.
  if (active || a.am_severity.empty()) a.am_severity = AmSeverity(t);
  am.labels["severity"] = a.am_severity;
  for (const auto& l : t.labels) {
    if (!am.labels.count(l.name)) am.labels[l.name] = l.value;
  }
  am.annotations["summary"] =
      key.first + " on " + key.second + " is " + std::string(LevelName(t.to));
  std::string desc = t.description.empty() ? "" : t.description + " ";
  desc += "value " + FormatValue(t) + ", threshold " +
          (t.threshold.empty() ? "(none)" : t.threshold) + ", since " +
          FormatRfc3339(t.since);
  am.annotations["description"] = desc;
  am.starts_at = a.starts_at == WallTime{} ? now : a.starts_at;
  am.ends_at = active ? now + 4 * opt_.am_resend_interval : now;
  if (!opt_.external_url.empty()) {
    am.generator_url =
        opt_.external_url + "/api/v1/targets/" + UrlEscape(key.second);
  }
  auto json = AlertsToJson({am});
  if (!json.ok()) {
    LogError("alertmanager_json_failed").Kv("err", json.status());
    return;
  }
  // One outbox key per alert: a newer state replaces one not yet delivered.
  Status s =
      outbox_->Enqueue(kAmChannel, "am\x1f" + key.first + "\x1f" + key.second,
                       *json, /*replace=*/true);
  if (!s.ok()) {
    LogError("alertmanager_enqueue_failed").Kv("err", s);
    return;
  }
  if (a.am_active != active) Dirty(key);
  a.am_active = active;
  a.am_last = clock_->SteadyNow();
}

void Notifier::OnNotice(const Notice& n) {
  std::lock_guard<std::mutex> l(mu_);
  if (opt_.mail) {
    QueueMailLocked(
        "[rigwatch] " + n.subject, n.body + "\nAgent: " + opt_.host + "\n",
        n.id.empty() ? "" : MessageIdFor(instance_ + "." + n.id, opt_.host));
  }
  if (n.kind == "fleet_unreachable" || n.kind == "fleet_reachable") {
    // Recorded with or without Alertmanager: after a restart, Actions
    // compares it with the guard's persisted state (FleetRecordedDown).
    const Key key{kFleetRule, "fleet"};
    Alert& a = alerts_[key];
    const bool active = n.kind == "fleet_unreachable";
    a.last.rule = key.first;
    a.last.target = key.second;
    a.last.to = active ? Level::kRed : Level::kGreen;
    a.last.severity = "critical";
    a.last.since = clock_->Now();
    a.last.description = n.subject;
    a.firing = false;  // not a rule alert: never in a mail group
    if (active) a.starts_at = a.last.since;
    Dirty(key);
    if (opt_.alertmanager) PushAmLocked(key, a, active);
    if (!active) alerts_.erase(key);
  }
}

void Notifier::OnFleetTripped() {
  std::lock_guard<std::mutex> l(mu_);
  fleet_down_ = true;
  for (const auto& [key, kind] : group_) Dirty(key);
  group_.clear();  // the fleet notice replaces these
  meta_dirty_ = true;
}

void Notifier::OnFleetRecovered() {
  std::lock_guard<std::mutex> l(mu_);
  fleet_down_ = false;
  const SteadyTime now = clock_->SteadyNow();
  for (auto it = alerts_.begin(); it != alerts_.end();) {
    Alert& a = it->second;
    if (it->first.second == "fleet") {
      ++it;
      continue;
    }
    if (opt_.mail) {
      if (a.firing) {
        if (!a.mailed) AddToGroupLocked(it->first, Kind::kFiring, now);
      } else if (a.mailed) {
        AddToGroupLocked(it->first, Kind::kResolved, now);
      }
    }
    if (opt_.alertmanager && a.firing != a.am_active) {
      PushAmLocked(it->first, a, a.firing);
    }
    if (!a.firing && !a.mailed && !a.am_active && !group_.count(it->first)) {
      Dirty(it->first);
      it = alerts_.erase(it);
    } else {
      ++it;
    }
  }
}

void Notifier::Tick(bool hold_group) {
  std::lock_guard<std::mutex> l(mu_);
  const SteadyTime now = clock_->SteadyNow();
  if (!fleet_down_ && opt_.mail) {
    for (const auto& [key, a] : alerts_) {
      if (a.firing && a.mailed && a.last.to == Level::kRed &&
          now - a.last_mail >= opt_.repeat_interval && !group_.count(key)) {
        AddToGroupLocked(key, Kind::kReminder, now);
      }
    }
    if (!group_.empty() && !hold_group &&
        now - group_opened_ >= opt_.group_wait) {
      FlushGroupLocked();
    }
  }
  if (opt_.alertmanager) {
    for (auto& [key, a] : alerts_) {
      if (a.am_active && now - a.am_last >= opt_.am_resend_interval) {
        PushAmLocked(key, a, true);
      }
    }
  }
  Status st = PersistLocked();
  if (st.ok() != persist_ok_) {
    persist_ok_ = st.ok();
    if (st.ok()) {
      LogInfo("notifier_state_persisted");
    } else {
      LogError("notifier_state_not_persisted").Kv("err", st);
    }
  }
}

int Notifier::mails_queued() const {
  std::lock_guard<std::mutex> l(mu_);
  return mails_queued_;
}

}  // namespace rigwatch::actions
