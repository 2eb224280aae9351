// rigwatch's configuration: the typed result of loading config.yaml.
//
// Every key, its default and its meaning is documented in docs/config.md.
// Relative paths are relative to the agent's working directory.
#ifndef RIGWATCH_AGENT_CONFIG_CONFIG_H_
#define RIGWATCH_AGENT_CONFIG_CONFIG_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/common/status.h"
#include "agent/poller/types.h"

namespace rigwatch {

using Millis = std::chrono::milliseconds;

struct BasicAuthUser {
  std::string name;
  std::string bcrypt_hash;  // "$2b$..." or "$2y$..." as htpasswd -B writes
  bool admin = false;       // role: admin (else read)
  bool operator==(const BasicAuthUser&) const = default;
};

// A bearer token for scripts, read from `token_file` at load (and so again
// on every reload).
struct HttpTokenConfig {
  std::string name;
  std::string token_file;
  std::string token;  // the file's content without trailing whitespace
  bool admin = false;
  bool operator==(const HttpTokenConfig&) const = default;
};

// exporter-toolkit's client_auth_type values.
enum class TlsClientAuth {
  kNoClientCert,
  kRequestClientCert,
  kRequireAnyClientCert,
  kVerifyClientCertIfGiven,
  kRequireAndVerifyClientCert,
};

// http.tls: native TLS on the agent's port (docs/security.md).
struct HttpTlsConfig {
  std::string cert_file;
  std::string key_file;
  std::string min_version = "TLS12";           // TLS12 | TLS13
  std::vector<std::string> curve_preferences;  // CurveP256 ... X25519
  // GnuTLS priority string made from min_version and curve_preferences.
  std::string priorities;
  TlsClientAuth client_auth_type = TlsClientAuth::kNoClientCert;
  std::string client_ca_file;
  bool operator==(const HttpTlsConfig&) const = default;
};

struct HttpConfig {
  std::string listen = "0.0.0.0:9842";
  Millis read_timeout{5000};
  // A long handler (/api/v1/series) stops with 503 after this.
  Millis handler_timeout{10000};
  int threads = 8;
  // http.basic_auth_users (role read) and http.users, in that order.
  std::vector<BasicAuthUser> basic_auth_users;
  std::vector<HttpTokenConfig> tokens;
  // Unset: true exactly when `listen` is a loopback address.
  std::optional<bool> allow_loopback_admin;
  std::optional<HttpTlsConfig> tls;
  bool operator==(const HttpConfig&) const = default;
};

// The largest token file read, and the shortest token accepted.
inline constexpr size_t kMaxTokenFileBytes = 4096;
// Bounds of http.handler_timeout.
inline constexpr Millis kMinHandlerTimeout{1000};
inline constexpr Millis kMaxHandlerTimeout{300000};
inline constexpr size_t kMinTokenChars = 16;

struct StorageConfig {
  std::string path = "./data";
  Millis retention{30LL * 86400 * 1000};
  Millis rollup_retention{365LL * 86400 * 1000};
  std::optional<uint64_t> max_bytes;
  uint64_t min_free_bytes = 100'000'000;
  std::string sync = "round";  // round | always
  bool operator==(const StorageConfig&) const = default;
};

struct ScrapeConfig {
  Millis interval{10000};
  Millis timeout{5000};
  Millis backoff_base{500};
  Millis backoff_cap{300000};
  int breaker_failures = 10;
  Millis breaker_open{300000};
  uint64_t max_response_bytes = 1 << 20;
  bool operator==(const ScrapeConfig&) const = default;
};

// Where a config item came from, for messages about it later.
struct SourceLocation {
  std::string file;
  int line = 0;    // 1-based
  int column = 0;  // 1-based
  std::string ToString() const;
  bool operator==(const SourceLocation&) const = default;
};

// How a host service is checked: exactly one kind (docs/config.md).
struct ServiceCheckConfig {
  // "process" (by name), "pidfile", "cgroup", "http", "command", "systemd";
  // empty: the service has no check.
  std::string kind;
  std::string target;             // the name, pidfile, cgroup path, URL or unit
  std::vector<std::string> argv;  // kind "command": run without a shell
  std::string method = "GET";     // kind "http"
  int status = 200;               // kind "http": the expected status
  std::string body_contains;      // kind "http": optional
  Millis timeout{5000};           // http and command checks
  bool operator==(const ServiceCheckConfig&) const = default;
};

struct HostServiceConfig {
  std::string name;
  ServiceCheckConfig check;
  std::vector<std::string> restart;  // argv, run without a shell
  Millis timeout{30000};             // of the restart command
  Millis interval{30000};            // between two checks
  Millis start_timeout{30000};       // to come back after a restart
  SourceLocation location;
  bool operator==(const HostServiceConfig&) const = default;
};

struct HostConfig {
  bool enabled = true;
  std::string root = "/";
  std::vector<std::string> filesystems = {"/"};
  std::vector<HostServiceConfig> services;
  bool operator==(const HostConfig&) const = default;
};

struct MinerConfig {
  std::string name;
  std::string kind;
  std::string address;  // "host" or "host:port"; IPv6 as "[::1]:4028"
  // The web side of kinds that have one (Antminer CGI); 0 = the kind's
  // default (docs/config.md).
  int http_port = 0;
  // `auth: {username, password_file}`; empty = the vendor's default login.
  std::string username;
  std::string password_file;
  SourceLocation location;
  bool operator==(const MinerConfig&) const = default;
};

struct SmtpConfig {
  std::string url = "smtp://127.0.0.1:25";
  std::string from;
  std::vector<std::string> to;
  std::string starttls = "opportunistic";  // required | opportunistic | off
  std::string username;
  std::string password_file;  // the password never appears in the config
  std::string ca_file;
  bool insecure_skip_verify = false;
  // AUTH over a connection that may not be encrypted (no TLS, or STARTTLS
  // only when offered) is refused unless this is set.
  bool allow_plaintext_auth = false;
  Millis timeout{30000};
  bool operator==(const SmtpConfig&) const = default;
};

struct AlertmanagerConfig {
  std::string url;  // empty: disabled
  bool operator==(const AlertmanagerConfig&) const = default;
};

struct NotifyConfig {
  SmtpConfig smtp;
  AlertmanagerConfig alertmanager;
  Millis group_wait{30000};
  Millis repeat_interval{4LL * 3600 * 1000};
  std::string external_url;  // base of links in mails ("http://host:9842")
  bool operator==(const NotifyConfig&) const = default;
};

struct ActionsConfig {
  Millis restart_cooldown{600000};
  int restart_max_attempts = 3;
  Millis restart_window{3600000};
  Millis restart_grace{300000};
  // The fleet guard trips when at least guard_min_failed targets AND more
  // than guard_fraction of them newly fail, for guard_for rounds in a row.
  double guard_fraction = 0.3;
  int guard_min_failed = 3;
  int guard_for = 2;  // poll rounds
  bool operator==(const ActionsConfig&) const = default;
};

struct BackupConfig {
  std::string dir = "./backups";
  Millis every{24LL * 3600 * 1000};
  int keep = 7;
  std::vector<std::string> after_command;  // argv, run without a shell
  bool operator==(const BackupConfig&) const = default;
};

struct LogConfig {
  std::string level = "info";
  bool operator==(const LogConfig&) const = default;
};

struct Config {
  std::string file;  // the path it was loaded from
  HttpConfig http;
  StorageConfig storage;
  ScrapeConfig scrape;
  HostConfig host;
  std::vector<MinerConfig> miners;
  std::vector<std::string> miner_files;
  std::vector<std::string> rule_files;
  NotifyConfig notify;
  ActionsConfig actions;
  BackupConfig backup;
  LogConfig log;
  // The file set no key at all (empty, or only comments): every default.
  bool empty = false;
  // The file has a `miners:` key (`miners: []` means "no miners" on purpose).
  bool miners_listed = false;
  bool operator==(const Config&) const = default;
};

// One problem found in a config file.
struct ConfigError {
  SourceLocation location;
  std::string message;
  std::string ToString() const;  // "FILE:LINE:COL: message"
};

// Options for LoadConfig checks that touch the file system.
struct LoadOptions {
  // Check that storage.path (or the directory that would hold it) is
  // writable. Never creates or modifies anything.
  bool check_writable = true;
  // Check that files the config points at and that only the agent reads
  // (notify.smtp.password_file) exist, are regular and within their cap.
  bool check_files = true;
};

// Loads and validates a config file. On failure returns every problem found
// (not just the first), each with its FILE:LINE:COL. Never throws.
struct LoadResult {
  std::optional<Config> config;
  std::vector<ConfigError> errors;
  bool ok() const { return config.has_value(); }
  // All errors, one per line.
  std::string ErrorText() const;
};
LoadResult LoadConfig(const std::string& path, const LoadOptions& opts = {});
// Same, from a string (for tests); `path` names it in messages.
LoadResult LoadConfigFromString(const std::string& yaml,
                                const std::string& path,
                                const LoadOptions& opts = {});

// The nearest existing directory at or above `path` ("." for a relative
// path none of whose parents exist): where free space and writability of a
// data directory that may not exist yet are checked.
std::string NearestExistingDir(const std::string& path);

// The agent's one address parser (config, miner files, CLI): splits
// "host", "host:port", "[v6]" or "[v6]:port"; a bare IPv6 literal ("::1",
// "fd00::1") is a host with the default port, since it cannot carry one.
// The port is `default_port` when absent (0: the exporter's default).
// InvalidArgument, naming the address, on an empty host or port, a port
// outside 1-65535, unbalanced brackets, a bad character in the host, or
// several colons that are not an IPv6 address.
struct HostPort {
  std::string host;
  uint16_t port = 0;
};
Result<HostPort> ParseHostPort(std::string_view address, uint16_t default_port);

// Which `kind:` values name an exporter (`auto` is always accepted).
using KindCheck = std::function<bool(std::string_view kind)>;
// FindExporter(kind) != nullptr.
bool IsRegisteredKind(std::string_view kind);

// Parses a YAML list of miner entries, the one parser of the `miners:`
// section and of every miner_files file: the same keys (name, kind,
// address, http_port, auth), checks and messages. `path` names the file in
// the errors, every problem one ConfigError with its FILE:LINE:COL; an
// entry with a problem is left out of `miners`. Never throws.
struct MinerListResult {
  std::vector<MinerConfig> miners;
  std::vector<ConfigError> errors;
};
MinerListResult ParseMinerList(const std::string& yaml, const std::string& path,
                               const KindCheck& known_kind,
                               const LoadOptions& opts = {});

// The poller's target for a configured miner: address split, `http_port:`
// and `auth:` carried over (the password stays in its file). Fails only on an
// address LoadConfig would have refused.
Result<MinerTarget> ToMinerTarget(const MinerConfig& m);

// An address to listen on: an IP literal and a port ("0.0.0.0:9842",
// "[::1]:9842"). InvalidArgument naming the address otherwise
// ("999.1.1.1:99999", "localhost:80", "0.0.0.0").
Status ValidateListenAddress(std::string_view address);

}  // namespace rigwatch

#endif  // RIGWATCH_AGENT_CONFIG_CONFIG_H_
