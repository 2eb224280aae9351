#include "agent/actions/notifier.h"

#include <cstdio>

#include "agent/actions/mail.h"
#include "agent/common/log.h"

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

std::string FormatValue(const std::optional<double>& v) {
  if (!v) return "(no value)";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", *v);
  return buf;
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

}  // namespace

Notifier::Notifier(NotifierOptions options, Clock* clock, Outbox* outbox)
    : opt_(std::move(options)), clock_(clock), outbox_(outbox) {}

void Notifier::AddToGroupLocked(const Key& key, Kind kind, SteadyTime now) {
  if (group_.empty()) group_opened_ = now;
  group_[key] = kind;
}

void Notifier::OnTransition(const Transition& t, bool fleet_down) {
  // A muted rule keeps whatever was said about it until it is green again.
  if (t.muted && t.to != Level::kGreen) return;
  std::lock_guard<std::mutex> l(mu_);
  const Key key{t.rule, t.target};
  const SteadyTime now = clock_->SteadyNow();
  Alert& a = alerts_[key];
  const bool was_firing = a.firing;
  a.last = t;
  a.firing = t.to != Level::kGreen && t.Wants("notify");
  if (a.firing && !was_firing) {
    a.starts_at = t.since == WallTime{} ? clock_->Now() : t.since;
  }
  if (fleet_down || fleet_down_) return;  // OnFleetRecovered catches up
  if (opt_.mail) {
    if (a.firing) {
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
  vars["value"] = FormatValue(t.value);
  vars["threshold"] = t.threshold.empty() ? "(none)" : OneLine(t.threshold);
  vars["since"] = FormatRfc3339(t.since);
  vars["severity"] = t.severity.empty() ? "(none)" : OneLine(t.severity);
  vars["summary"] = t.description.empty() ? "(none)" : OneLine(t.description);
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
  QueueMailLocked(subject, body);
  for (const auto& [key, kind] : group_) {
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
                               const std::string& body) {
  MailMessage m;
  m.from = opt_.from;
  m.to = opt_.to;
  m.subject = subject;
  m.body = body;
  m.date = clock_->Now();
  m.message_id = NewMessageId(m.date, opt_.host);
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
  am.labels["severity"] = AmSeverity(t);
  for (const auto& l : t.labels) {
    if (!am.labels.count(l.name)) am.labels[l.name] = l.value;
  }
  am.annotations["summary"] =
      key.first + " on " + key.second + " is " + std::string(LevelName(t.to));
  std::string desc = t.description.empty() ? "" : t.description + " ";
  desc += "value " + FormatValue(t.value) + ", threshold " +
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
  a.am_active = active;
  a.am_last = clock_->SteadyNow();
}

void Notifier::OnNotice(const Notice& n) {
  std::lock_guard<std::mutex> l(mu_);
  if (opt_.mail) {
    QueueMailLocked("[rigwatch] " + n.subject,
                    n.body + "\nAgent: " + opt_.host + "\n");
  }
  if (opt_.alertmanager &&
      (n.kind == "fleet_unreachable" || n.kind == "fleet_reachable")) {
    const Key key{"rigwatch_fleet_unreachable", "fleet"};
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
    PushAmLocked(key, a, active);
    if (!active) alerts_.erase(key);
  }
}

void Notifier::OnFleetTripped() {
  std::lock_guard<std::mutex> l(mu_);
  fleet_down_ = true;
  group_.clear();  // the fleet notice replaces these
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
      it = alerts_.erase(it);
    } else {
      ++it;
    }
  }
}

void Notifier::Tick() {
  std::lock_guard<std::mutex> l(mu_);
  const SteadyTime now = clock_->SteadyNow();
  if (!fleet_down_ && opt_.mail) {
    for (const auto& [key, a] : alerts_) {
      if (a.firing && a.mailed && a.last.to == Level::kRed &&
          now - a.last_mail >= opt_.repeat_interval && !group_.count(key)) {
        AddToGroupLocked(key, Kind::kReminder, now);
      }
    }
    if (!group_.empty() && now - group_opened_ >= opt_.group_wait) {
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
}

int Notifier::mails_queued() const {
  std::lock_guard<std::mutex> l(mu_);
  return mails_queued_;
}

}  // namespace rigwatch::actions
