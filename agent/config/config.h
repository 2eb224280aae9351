// rigwatch's configuration: the typed result of loading config.yaml.
//
// Every key, its default and its meaning is documented in docs/config.md.
// Relative paths are relative to the agent's working directory.
#ifndef RIGWATCH_AGENT_CONFIG_CONFIG_H_
#define RIGWATCH_AGENT_CONFIG_CONFIG_H_

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/common/status.h"

namespace rigwatch {

using Millis = std::chrono::milliseconds;

struct BasicAuthUser {
  std::string name;
  std::string bcrypt_hash;  // "$2b$..." or "$2y$..." as htpasswd -B writes
};

struct HttpConfig {
  std::string listen = "0.0.0.0:9842";
  Millis read_timeout{5000};
  int threads = 8;
  std::vector<BasicAuthUser> basic_auth_users;
};

struct StorageConfig {
  std::string path = "./data";
  Millis retention{30LL * 86400 * 1000};
  Millis rollup_retention{365LL * 86400 * 1000};
  std::optional<uint64_t> max_bytes;
  uint64_t min_free_bytes = 100'000'000;
  std::string sync = "round";  // round | always
};

struct ScrapeConfig {
  Millis interval{10000};
  Millis timeout{5000};
  Millis backoff_base{500};
  Millis backoff_cap{300000};
  int breaker_failures = 10;
  Millis breaker_open{300000};
  uint64_t max_response_bytes = 1 << 20;
};

// Where a config item came from, for messages about it later.
struct SourceLocation {
  std::string file;
  int line = 0;    // 1-based
  int column = 0;  // 1-based
  std::string ToString() const;
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
};

struct HostServiceConfig {
  std::string name;
  ServiceCheckConfig check;
  std::vector<std::string> restart;  // argv, run without a shell
  Millis timeout{30000};             // of the restart command
  Millis interval{30000};            // between two checks
  Millis start_timeout{30000};       // to come back after a restart
  SourceLocation location;
};

struct HostConfig {
  bool enabled = true;
  std::string root = "/";
  std::vector<std::string> filesystems = {"/"};
  std::vector<HostServiceConfig> services;
};

struct MinerConfig {
  std::string name;
  std::string kind;
  std::string address;  // "host" or "host:port"; IPv6 as "[::1]:4028"
  SourceLocation location;
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
  Millis timeout{30000};
};

struct AlertmanagerConfig {
  std::string url;  // empty: disabled
};

struct NotifyConfig {
  SmtpConfig smtp;
  AlertmanagerConfig alertmanager;
  Millis group_wait{30000};
  Millis repeat_interval{4LL * 3600 * 1000};
  std::string external_url;  // base of links in mails ("http://host:9842")
};

struct ActionsConfig {
  Millis restart_cooldown{600000};
  int restart_max_attempts = 3;
  Millis restart_window{3600000};
  Millis restart_grace{300000};
  double guard_fraction = 0.3;
};

struct BackupConfig {
  std::string dir = "./backups";
  Millis every{24LL * 3600 * 1000};
  int keep = 7;
  std::vector<std::string> after_command;  // argv, run without a shell
};

struct LogConfig {
  std::string level = "info";
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

}  // namespace rigwatch

#endif  // RIGWATCH_AGENT_CONFIG_CONFIG_H_
