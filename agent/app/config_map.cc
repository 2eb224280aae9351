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
