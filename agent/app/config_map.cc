#include "agent/app/config_map.h"

#include <algorithm>

namespace rigwatch {

store::StoreOptions ToStoreOptions(const StorageConfig& s, store::OpenMode mode,
                                   bool repair) {
  store::StoreOptions o;
  o.path = s.path;
  o.mode = mode;
  // The store keeps whole hours; anything shorter rounds up to one.
  o.retention =
      std::max(std::chrono::hours(1),
               std::chrono::duration_cast<std::chrono::hours>(s.retention));
  o.rollup_retention = std::max(
      std::chrono::hours(1),
      std::chrono::duration_cast<std::chrono::hours>(s.rollup_retention));
  o.max_bytes = s.max_bytes;
  o.min_free_bytes = s.min_free_bytes;
  o.sync =
      s.sync == "always" ? store::SyncMode::kAlways : store::SyncMode::kRound;
  o.repair = repair;
  if (mode != store::OpenMode::kReadWrite) {
    // Readers (export, db check) never run maintenance.
    o.maintenance_interval = std::chrono::seconds(0);
  }
  return o;
}

PollerOptions ToPollerOptions(const ScrapeConfig& s) {
  PollerOptions o;
  o.interval = s.interval;
  o.timeout = s.timeout;
  // The hierarchy nests under the total timeout.
  o.connect_timeout = std::min<Duration>(s.timeout, std::chrono::seconds(2));
  o.first_byte_timeout = s.timeout;
  o.max_response_bytes = s.max_response_bytes;
  o.backoff_base = s.backoff_base;
  o.backoff_cap = s.backoff_cap;
  o.breaker_failures = s.breaker_failures;
  o.breaker_open = s.breaker_open;
  return o;
}

Result<actions::SmtpOptions> ToSmtpOptions(const SmtpConfig& m) {
  actions::SmtpOptions so;
  so.url = m.url;
  so.from = m.from;
  so.to = m.to;
  RW_ASSIGN_OR_RETURN(so.starttls, actions::ParseStartTls(m.starttls));
  so.username = m.username;
  so.password_file = m.password_file;
  so.ca_file = m.ca_file;
  so.insecure_skip_verify = m.insecure_skip_verify;
  so.allow_plaintext_auth = m.allow_plaintext_auth;
  so.timeout = m.timeout;
  return so;
}

std::string LinkBaseUrl(const NotifyConfig& n, const HttpConfig& h) {
  std::string url = n.external_url;
  if (url.empty()) {
    const std::string& l = h.listen;
    const size_t colon = l.rfind(':');
    std::string host = colon == std::string::npos ? l : l.substr(0, colon);
    const std::string port =
        colon == std::string::npos ? "9842" : l.substr(colon + 1);
    if (host.empty() || host == "0.0.0.0" || host == "[::]" || host == "::") {
      host = actions::LocalHostName();
    }
    url = "http://" + host + ":" + port;
  }
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

}  // namespace rigwatch

namespace rigwatch {

namespace {
// Every key that needs a restart, with how to read and restore it. The HTTP
// server binds and sizes its thread pool once; the store is opened once
// with its path, retention and limits.
struct RestartOnlyKey {
  const char* name;
  bool (*differs)(const Config&, const Config&);
  void (*keep)(const Config& from, Config* to);
};
#define RW_RESTART_ONLY(name, field)                                           \
  RestartOnlyKey {                                                             \
    name, [](const Config& a, const Config& b) { return a.field != b.field; }, \
        [](const Config& from, Config* to) { to->field = from.field; }         \
  }
const RestartOnlyKey kRestartOnly[] = {
    RW_RESTART_ONLY("http.listen", http.listen),
    RW_RESTART_ONLY("http.threads", http.threads),
    RW_RESTART_ONLY("http.read_timeout", http.read_timeout),
    RW_RESTART_ONLY("http.handler_timeout", http.handler_timeout),
    RW_RESTART_ONLY("http.tls", http.tls),
    RW_RESTART_ONLY("storage.path", storage.path),
    RW_RESTART_ONLY("storage.retention", storage.retention),
    RW_RESTART_ONLY("storage.rollup_retention", storage.rollup_retention),
    RW_RESTART_ONLY("storage.max_bytes", storage.max_bytes),
    RW_RESTART_ONLY("storage.min_free_bytes", storage.min_free_bytes),
    RW_RESTART_ONLY("storage.sync", storage.sync),
};
#undef RW_RESTART_ONLY
}  // namespace

std::vector<std::string> RestartOnlyChanges(const Config& running,
                                            const Config& next) {
  std::vector<std::string> out;
  for (const RestartOnlyKey& k : kRestartOnly) {
    if (k.differs(running, next)) out.emplace_back(k.name);
  }
  return out;
}

void KeepRestartOnly(const Config& running, Config* next) {
  for (const RestartOnlyKey& k : kRestartOnly) k.keep(running, next);
}

std::string ReloadRefusal(const Config& next, size_t running_targets) {
  if (next.empty) {
    return "the file is empty (perhaps caught while an editor rewrote it); "
           "the running config stays";
  }
  if (running_targets > 0 && next.miners.empty() && next.miner_files.empty() &&
      !next.miners_listed) {
    return "the file lists no miners and no miner_files, which would stop "
           "watching all " +
           std::to_string(running_targets) +
           " miners; write \"miners: []\" to mean that";
  }
  return "";
}

}  // namespace rigwatch
