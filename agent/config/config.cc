// The config loader. yaml-cpp exceptions are caught here and nowhere else;
// every problem becomes a ConfigError with the node's FILE:LINE:COL, and
// loading goes on so that all problems are reported at once.
#include "agent/config/config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <functional>
#include <set>

#include "agent/common/file_read.h"
#include "agent/common/log.h"
#include "agent/common/secret_file.h"
#include "agent/common/smtp_auth_policy.h"
#include "agent/common/units.h"
#include "agent/common/yaml_mark.h"
#include "agent/config/target_files.h"
#include "exporters/probe.h"
#include "exporters/registry.h"

namespace rigwatch {

std::string SourceLocation::ToString() const {
  return file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

std::string ConfigError::ToString() const {
  return location.ToString() + ": " + message;
}

std::string LoadResult::ErrorText() const {
  std::string out;
  for (const ConfigError& e : errors) {
    out += e.ToString();
    out += '\n';
  }
  return out;
}

namespace {

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out += ", ";
    out += v[i];
  }
  return out;
}

const char* TypeName(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return "a scalar";
    case YAML::NodeType::Null:
      return "null";
    default:
      return "nothing";
  }
}

SourceLocation At(const std::string& file, const YAML::Mark& m) {
  const YamlPosition p = PositionOf(m);
  return SourceLocation{file, p.line, p.column};
}

// Walks a YAML tree, converting values and collecting errors.
class Walker {
 public:
  Walker(std::string file, std::vector<ConfigError>* errors)
      : file_(std::move(file)), errors_(errors) {}

  SourceLocation Where(const YAML::Node& n) const {
    return At(file_, n.Mark());
  }

  void Error(const YAML::Node& n, std::string msg) {
    errors_->push_back({Where(n), std::move(msg)});
  }
  size_t ErrorCount() const { return errors_->size(); }

  // A table of allowed keys for one map, fluent-bit's config_map style:
  // unknown keys are errors that list the allowed ones.
  using Handler = std::function<void(const YAML::Node& value)>;
  struct Key {
    std::string name;
    Handler handle;
  };

  void Map(const YAML::Node& n, const std::string& what,
           const std::vector<Key>& keys) {
    if (!n || n.IsNull()) return;  // an empty section keeps the defaults
    if (!n.IsMap()) {
      Error(n, what + ": expected a map, got " + TypeName(n));
      return;
    }
    std::set<std::string> seen;
    for (auto it = n.begin(); it != n.end(); ++it) {
      // A copy: the iterator's operator-> returns a proxy that dies at the
      // end of this statement.
      const YAML::Node k = it->first;
      std::string key = k.IsScalar() ? k.Scalar() : std::string("?");
      auto found = std::find_if(keys.begin(), keys.end(),
                                [&](const Key& e) { return e.name == key; });
      if (found == keys.end()) {
        std::vector<std::string> names;
        for (const Key& e : keys) names.push_back(e.name);
        std::sort(names.begin(), names.end());
        Error(k, "unknown key \"" + key + "\" in " + what +
                     " (allowed: " + Join(names) + ")");
        continue;
      }
      if (!seen.insert(key).second) {
        Error(k, "duplicate key \"" + key + "\" in " + what);
        continue;
      }
      found->handle(it->second);
    }
  }

  bool Scalar(const YAML::Node& n, const std::string& what,
              const char* expected) {
    if (n.IsScalar()) return true;
    Error(n, what + ": expected " + expected + ", got " + TypeName(n));
    return false;
  }

  void String(const YAML::Node& n, const std::string& what, std::string* out) {
    if (Scalar(n, what, "a string")) *out = n.Scalar();
  }

  void NonEmptyString(const YAML::Node& n, const std::string& what,
                      std::string* out) {
    if (!Scalar(n, what, "a string")) return;
    if (n.Scalar().empty()) {
      Error(n, what + ": must not be empty");
      return;
    }
    *out = n.Scalar();
  }

  void Bool(const YAML::Node& n, const std::string& what, bool* out) {
    if (!Scalar(n, what, "a boolean (true or false)")) return;
    const std::string& s = n.Scalar();
    if (s == "true" || s == "yes" || s == "on") {
      *out = true;
    } else if (s == "false" || s == "no" || s == "off") {
      *out = false;
    } else {
      Error(n,
            what + ": expected a boolean (true or false), got \"" + s + "\"");
    }
  }

  void Int(const YAML::Node& n, const std::string& what, int* out, int min,
           int max) {
    if (!Scalar(n, what, "an integer")) return;
    const std::string& s = n.Scalar();
    int v = 0;
    auto r = std::from_chars(s.data(), s.data() + s.size(), v);
    if (r.ec != std::errc() || r.ptr != s.data() + s.size()) {
      Error(n, what + ": expected an integer, got \"" + s + "\"");
      return;
    }
    if (v < min || v > max) {
      Error(n, what + ": " + s + " is out of range [" + std::to_string(min) +
                   ", " + std::to_string(max) + "]");
      return;
    }
    *out = v;
  }

  void Fraction(const YAML::Node& n, const std::string& what, double* out) {
    if (!Scalar(n, what, "a number between 0 and 1")) return;
    const std::string& s = n.Scalar();
    double v = 0;
    auto r = std::from_chars(s.data(), s.data() + s.size(), v);
    if (r.ec != std::errc() || r.ptr != s.data() + s.size() || v < 0 || v > 1) {
      Error(n, what + ": expected a number between 0 and 1, got \"" + s + "\"");
      return;
    }
    *out = v;
  }

  void Dur(const YAML::Node& n, const std::string& what, Millis* out,
           bool allow_zero = false) {
    if (!Scalar(n, what, "a duration (e.g. 10s)")) return;
    Result<Millis> d = ParseDuration(n.Scalar());
    if (!d.ok()) {
      Error(n, what + ": " + d.status().message());
      return;
    }
    if (!allow_zero && d->count() == 0) {
      Error(n, what + ": must be greater than 0");
      return;
    }
    *out = *d;
  }

  void Bytes(const YAML::Node& n, const std::string& what, uint64_t* out) {
    if (!Scalar(n, what, "a size (e.g. 100MB)")) return;
    Result<uint64_t> b = ParseByteSize(n.Scalar());
    if (!b.ok()) {
      Error(n, what + ": " + b.status().message());
      return;
    }
    *out = *b;
  }

  void StringList(const YAML::Node& n, const std::string& what,
                  std::vector<std::string>* out) {
    if (n.IsNull()) {
      out->clear();
      return;
    }
    if (!n.IsSequence()) {
      Error(n, what + ": expected a list of strings, got " + TypeName(n));
      return;
    }
    out->clear();
    for (const YAML::Node& e : n) {
      if (Scalar(e, what + " entry", "a string")) out->push_back(e.Scalar());
    }
  }

  template <typename F>
  void List(const YAML::Node& n, const std::string& what, F each) {
    if (n.IsNull()) return;
    if (!n.IsSequence()) {
      Error(n, what + ": expected a list, got " + TypeName(n));
      return;
    }
    for (const YAML::Node& e : n) each(e);
  }

 private:
  std::string file_;
  std::vector<ConfigError>* errors_;
};

// http.tls with exporter-toolkit's key names; versions and groups become a
// GnuTLS priority string here, the one place that knows both vocabularies.
void LoadHttpTls(Walker& w, const YAML::Node& n, HttpConfig* http) {
  if (!n || n.IsNull()) return;
  HttpTlsConfig t;
  const size_t errors_before = w.ErrorCount();
  w.Map(n, "http.tls",
        {{"cert_file",
          [&](auto& v) {
            w.NonEmptyString(v, "http.tls.cert_file", &t.cert_file);
          }},
         {"key_file",
          [&](auto& v) {
            w.NonEmptyString(v, "http.tls.key_file", &t.key_file);
          }},
         {"client_ca_file",
          [&](auto& v) {
            w.NonEmptyString(v, "http.tls.client_ca_file", &t.client_ca_file);
          }},
         {"min_version",
          [&](const YAML::Node& v) {
            if (!w.Scalar(v, "http.tls.min_version", "TLS12 or TLS13")) return;
            t.min_version = v.Scalar();
            if (t.min_version == "TLS10" || t.min_version == "TLS11") {
              w.Error(v, "http.tls.min_version: " + t.min_version +
                             " is not supported (TLS 1.0 and 1.1 are "
                             "broken); use TLS12 or TLS13");
            } else if (t.min_version != "TLS12" && t.min_version != "TLS13") {
              w.Error(v, "http.tls.min_version: unknown version \"" +
                             t.min_version + "\" (allowed: TLS12, TLS13)");
            }
          }},
         {"curve_preferences",
          [&](const YAML::Node& v) {
            w.StringList(v, "http.tls.curve_preferences", &t.curve_preferences);
            for (const std::string& curve : t.curve_preferences) {
              if (curve != "CurveP256" && curve != "CurveP384" &&
                  curve != "CurveP521" && curve != "X25519") {
                w.Error(v, "http.tls.curve_preferences: unknown curve \"" +
                               curve +
                               "\" (allowed: CurveP256, CurveP384, CurveP521, "
                               "X25519)");
              }
            }
          }},
         {"cipher_suites",
          [&](const YAML::Node& v) {
            w.Error(v,
                    "http.tls.cipher_suites: not supported: GnuTLS cannot "
                    "restrict individual suites; the server offers GnuTLS' "
                    "NORMAL suites for TLS 1.2 and every TLS 1.3 suite "
                    "(remove the key, or set min_version: TLS13)");
          }},
         {"client_auth_type", [&](const YAML::Node& v) {
            static const std::pair<const char*, TlsClientAuth> kModes[] = {
                {"NoClientCert", TlsClientAuth::kNoClientCert},
                {"RequestClientCert", TlsClientAuth::kRequestClientCert},
                {"RequireAnyClientCert", TlsClientAuth::kRequireAnyClientCert},
                {"VerifyClientCertIfGiven",
                 TlsClientAuth::kVerifyClientCertIfGiven},
                {"RequireAndVerifyClientCert",
                 TlsClientAuth::kRequireAndVerifyClientCert},
            };
            if (!w.Scalar(v, "http.tls.client_auth_type", "a mode name"))
              return;
            std::vector<std::string> names;
            for (const auto& [name, mode] : kModes) {
              if (v.Scalar() == name) {
                t.client_auth_type = mode;
                return;
              }
              names.push_back(name);
            }
            w.Error(v, "http.tls.client_auth_type: unknown mode \"" +
                           v.Scalar() + "\" (allowed: " + Join(names) + ")");
          }}});
  if (w.ErrorCount() != errors_before) return;
  if (t.cert_file.empty() || t.key_file.empty()) {
    w.Error(n, "http.tls: cert_file and key_file are both required");
    return;
  }
  const bool verifies =
      t.client_auth_type == TlsClientAuth::kVerifyClientCertIfGiven ||
      t.client_auth_type == TlsClientAuth::kRequireAndVerifyClientCert;
  if (verifies && t.client_ca_file.empty()) {
    w.Error(n,
            "http.tls: client_auth_type VerifyClientCertIfGiven and "
            "RequireAndVerifyClientCert need client_ca_file");
    return;
  }
  if (!verifies && !t.client_ca_file.empty()) {
    w.Error(n,
            "http.tls: client_ca_file is set but client_auth_type does "
            "not verify client certificates (use VerifyClientCertIfGiven "
            "or RequireAndVerifyClientCert)");
    return;
  }
  t.priorities = t.min_version == "TLS13"
                     ? "NORMAL:-VERS-ALL:+VERS-TLS1.3"
                     : "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2";
  if (!t.curve_preferences.empty()) {
    t.priorities += ":-GROUP-ALL";
    for (const std::string& curve : t.curve_preferences) {
      t.priorities += curve == "CurveP256"   ? ":+GROUP-SECP256R1"
                      : curve == "CurveP384" ? ":+GROUP-SECP384R1"
                      : curve == "CurveP521" ? ":+GROUP-SECP521R1"
                                             : ":+GROUP-X25519";
    }
  }
  http->tls = std::move(t);
}

// A bcrypt hash as htpasswd -B writes it; an error at `n` otherwise.
bool CheckBcryptHash(Walker& w, const YAML::Node& n, const std::string& what) {
  const std::string& h = n.Scalar();
  if (h.rfind("$2", 0) != 0 || h.size() != 60) {
    w.Error(n, what + ": expected a bcrypt hash ($2b$..., 60 characters)");
    return false;
  }
  return true;
}

// "read" or "admin"; an error at `n` otherwise.
void LoadRole(Walker& w, const YAML::Node& n, const std::string& what,
              bool* admin) {
  std::string role;
  w.NonEmptyString(n, what, &role);
  if (role == "admin") {
    *admin = true;
  } else if (role == "read") {
    *admin = false;
  } else if (!role.empty()) {
    w.Error(n, what + ": expected read or admin, got \"" + role + "\"");
  }
}

// The token in `path`: at most kMaxTokenFileBytes, trailing whitespace
// (the newline an editor adds) removed, at least kMinTokenChars left.
std::optional<std::string> ReadTokenFile(Walker& w, const YAML::Node& n,
                                         const std::string& what,
                                         const std::string& path) {
  Result<std::string> read = ReadCappedFile(path, kMaxTokenFileBytes, what);
  if (!read.ok()) {
    w.Error(n, read.status().message());
    return std::nullopt;
  }
  std::string token = std::move(*read);
  while (!token.empty() &&
         std::isspace(static_cast<unsigned char>(token.back()))) {
    token.pop_back();
  }
  if (token.size() < kMinTokenChars ||
      token.find_first_of(" \t\r\n") != std::string::npos) {
    w.Error(n, what + ": \"" + path + "\" must hold one token of at least " +
                   std::to_string(kMinTokenChars) +
                   " characters without spaces (openssl rand -hex 32)");
    return std::nullopt;
  }
  return token;
}

void LoadHttp(Walker& w, const YAML::Node& n, HttpConfig* c) {
  std::set<std::string> names;  // users and tokens share one name space
  auto unique = [&](const YAML::Node& at, const std::string& name) {
    if (names.insert(name).second) return true;
    w.Error(at, "http: duplicate user or token name \"" + name + "\"");
    return false;
  };
  w.Map(n, "http",
        {{"listen",
          [&](const YAML::Node& v) {
            w.NonEmptyString(v, "http.listen", &c->listen);
            if (!v.IsScalar() || v.Scalar().empty()) return;
            if (Status s = ValidateListenAddress(v.Scalar()); !s.ok()) {
              w.Error(v, "http.listen: " + s.message());
            }
          }},
         {"read_timeout",
          [&](auto& v) { w.Dur(v, "http.read_timeout", &c->read_timeout); }},
         {"handler_timeout",
          [&](const YAML::Node& v) {
            Millis d{0};
            w.Dur(v, "http.handler_timeout", &d);
            if (d.count() == 0) return;  // refused above
            if (d < kMinHandlerTimeout || d > kMaxHandlerTimeout) {
              w.Error(v, "http.handler_timeout: " + v.Scalar() +
                             " is out of range [" +
                             FormatDuration(kMinHandlerTimeout) + ", " +
                             FormatDuration(kMaxHandlerTimeout) + "]");
              return;
            }
            c->handler_timeout = d;
          }},
         {"threads",
          [&](auto& v) { w.Int(v, "http.threads", &c->threads, 1, 256); }},
         {"tls", [&](const YAML::Node& v) { LoadHttpTls(w, v, c); }},
         {"allow_loopback_admin",
          [&](auto& v) {
            bool b = false;
            w.Bool(v, "http.allow_loopback_admin", &b);
            c->allow_loopback_admin = b;
          }},
         {"basic_auth_users",
          [&](const YAML::Node& v) {
            if (!v.IsMap()) {
              w.Error(v, std::string("http.basic_auth_users: expected a map "
                                     "of user: bcrypt-hash, got ") +
                             TypeName(v));
              return;
            }
            for (auto it = v.begin(); it != v.end(); ++it) {
              BasicAuthUser u;
              u.name = it->first.Scalar();
              const std::string what = "http.basic_auth_users." + u.name;
              if (!w.Scalar(it->second, what, "a bcrypt hash string") ||
                  !CheckBcryptHash(w, it->second, what) ||
                  !unique(it->first, u.name)) {
                continue;
              }
              u.bcrypt_hash = it->second.Scalar();
              c->basic_auth_users.push_back(std::move(u));
            }
          }},
         {"users",
          [&](const YAML::Node& v) {
            w.List(v, "http.users", [&](const YAML::Node& e) {
              BasicAuthUser u;
              bool hash_ok = false;
              w.Map(e, "http.users entry",
                    {{"name",
                      [&](auto& x) {
                        w.NonEmptyString(x, "http.users.name", &u.name);
                      }},
                     {"bcrypt_hash",
                      [&](auto& x) {
                        if (w.Scalar(x, "http.users.bcrypt_hash",
                                     "a bcrypt hash string") &&
                            CheckBcryptHash(w, x, "http.users.bcrypt_hash")) {
                          u.bcrypt_hash = x.Scalar();
                          hash_ok = true;
                        }
                      }},
                     {"role", [&](auto& x) {
                        LoadRole(w, x, "http.users.role", &u.admin);
                      }}});
              if (!e.IsMap()) return;
              if (u.name.empty() || !e["bcrypt_hash"]) {
                w.Error(e,
                        "http.users entry: needs \"name\" and "
                        "\"bcrypt_hash\"");
                return;
              }
              if (hash_ok && unique(e, u.name)) {
                c->basic_auth_users.push_back(std::move(u));
              }
            });
          }},
         {"tokens", [&](const YAML::Node& v) {
            w.List(v, "http.tokens", [&](const YAML::Node& e) {
              HttpTokenConfig t;
              YAML::Node file_node;
              w.Map(e, "http.tokens entry",
                    {{"name",
                      [&](auto& x) {
                        w.NonEmptyString(x, "http.tokens.name", &t.name);
                      }},
                     {"token_file",
                      [&](auto& x) {
                        w.NonEmptyString(x, "http.tokens.token_file",
                                         &t.token_file);
                        file_node = x;
                      }},
                     {"role", [&](auto& x) {
                        LoadRole(w, x, "http.tokens.role", &t.admin);
                      }}});
              if (!e.IsMap()) return;
              if (t.name.empty() || t.token_file.empty()) {
                w.Error(e,
                        "http.tokens entry: needs \"name\" and "
                        "\"token_file\"");
                return;
              }
              std::optional<std::string> token = ReadTokenFile(
                  w, file_node, "http.tokens." + t.name, t.token_file);
              if (!token || !unique(e, t.name)) return;
              t.token = std::move(*token);
              c->tokens.push_back(std::move(t));
            });
          }}});
}

void LoadStorage(Walker& w, const YAML::Node& n, StorageConfig* c) {
  w.Map(n, "storage",
        {{"path",
          [&](auto& v) { w.NonEmptyString(v, "storage.path", &c->path); }},
         {"retention",
          [&](auto& v) { w.Dur(v, "storage.retention", &c->retention); }},
         {"rollup_retention",
          [&](auto& v) {
            w.Dur(v, "storage.rollup_retention", &c->rollup_retention);
          }},
         {"max_bytes",
          [&](auto& v) {
            uint64_t b = 0;
            w.Bytes(v, "storage.max_bytes", &b);
            if (b > 0) c->max_bytes = b;
          }},
         {"min_free_bytes",
          [&](auto& v) {
            w.Bytes(v, "storage.min_free_bytes", &c->min_free_bytes);
          }},
         {"sync", [&](const YAML::Node& v) {
            std::string s;
            w.String(v, "storage.sync", &s);
            if (s.empty()) return;
            if (s != "round" && s != "always") {
              w.Error(v, "storage.sync: unknown value \"" + s +
                             "\" (allowed: always, round)");
              return;
            }
            c->sync = s;
          }}});
}

void LoadScrape(Walker& w, const YAML::Node& n, ScrapeConfig* c) {
  w.Map(n, "scrape",
        {{"interval",
          [&](auto& v) { w.Dur(v, "scrape.interval", &c->interval); }},
         {"timeout", [&](auto& v) { w.Dur(v, "scrape.timeout", &c->timeout); }},
         {"backoff_base",
          [&](auto& v) { w.Dur(v, "scrape.backoff_base", &c->backoff_base); }},
         {"backoff_cap",
          [&](auto& v) { w.Dur(v, "scrape.backoff_cap", &c->backoff_cap); }},
         {"breaker_failures",
          [&](auto& v) {
            w.Int(v, "scrape.breaker_failures", &c->breaker_failures, 1,
                  1000000);
          }},
         {"breaker_open",
          [&](auto& v) { w.Dur(v, "scrape.breaker_open", &c->breaker_open); }},
         {"max_response_bytes", [&](auto& v) {
            w.Bytes(v, "scrape.max_response_bytes", &c->max_response_bytes);
          }}});
}

// A service name is a target name, a label value and a URL path segment.
bool ValidServiceName(const std::string& name) {
  for (char ch : name) {
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '_' &&
        ch != '-' && ch != '.') {
      return false;
    }
  }
  return !name.empty();
}

// host.services[].check: an argv list (a command), or a map with exactly
// one of process, pidfile, cgroup, http, command, systemd.
void LoadServiceCheck(Walker& w, const YAML::Node& n, ServiceCheckConfig* c) {
  if (n.IsSequence()) {
    c->kind = "command";
    w.StringList(n, "host.services.check", &c->argv);
    if (c->argv.empty()) w.Error(n, "host.services.check: empty command");
    return;
  }
  std::vector<std::string> kinds;
  auto one = [&](const char* kind) {
    return [&w, c, &kinds, kind](const YAML::Node& x) {
      kinds.push_back(kind);
      c->kind = kind;
      if (std::string_view(kind) == "command") {
        w.StringList(x, "host.services.check.command", &c->argv);
        if (c->argv.empty()) {
          w.Error(x, "host.services.check.command: empty command");
        }
      } else {
        w.NonEmptyString(x, std::string("host.services.check.") + kind,
                         &c->target);
      }
    };
  };
  bool http_only = false;
  w.Map(n, "host.services.check",
        {{"process", one("process")},
         {"pidfile", one("pidfile")},
         {"cgroup", one("cgroup")},
         {"http", one("http")},
         {"command", one("command")},
         {"systemd", one("systemd")},
         {"method",
          [&](auto& x) {
            http_only = true;
            w.NonEmptyString(x, "host.services.check.method", &c->method);
          }},
         {"status",
          [&](auto& x) {
            http_only = true;
            w.Int(x, "host.services.check.status", &c->status, 100, 599);
          }},
         {"body_contains",
          [&](auto& x) {
            http_only = true;
            w.NonEmptyString(x, "host.services.check.body_contains",
                             &c->body_contains);
          }},
         {"timeout", [&](auto& x) {
            w.Dur(x, "host.services.check.timeout", &c->timeout);
          }}});
  if (!n.IsMap()) return;
  if (kinds.size() != 1) {
    w.Error(n,
            "host.services.check: needs exactly one of process, pidfile, "
            "cgroup, http, command, systemd (got " +
                std::to_string(kinds.size()) + ")");
    c->kind.clear();
    return;
  }
  if (http_only && c->kind != "http") {
    w.Error(n,
            "host.services.check: method, status and body_contains "
            "belong to an http check");
  }
  if (c->kind == "http" && c->target.rfind("http://", 0) != 0 &&
      c->target.rfind("https://", 0) != 0) {
    w.Error(n["http"],
            "host.services.check.http: expected an http:// or "
            "https:// URL, got \"" +
                c->target + "\"");
  }
}

void LoadHost(Walker& w, const YAML::Node& n, HostConfig* c) {
  w.Map(
      n, "host",
      {{"enabled", [&](auto& v) { w.Bool(v, "host.enabled", &c->enabled); }},
       {"root", [&](auto& v) { w.NonEmptyString(v, "host.root", &c->root); }},
       {"filesystems",
        [&](auto& v) { w.StringList(v, "host.filesystems", &c->filesystems); }},
       {"services", [&](const YAML::Node& v) {
          std::set<std::string> names;
          w.List(v, "host.services", [&](const YAML::Node& e) {
            HostServiceConfig s;
            s.location = w.Where(e);
            YAML::Node name_node;
            w.Map(
                e, "host.services entry",
                {{"name",
                  [&](auto& x) {
                    name_node.reset(x);
                    w.NonEmptyString(x, "host.services.name", &s.name);
                  }},
                 {"check", [&](auto& x) { LoadServiceCheck(w, x, &s.check); }},
                 {"restart",
                  [&](auto& x) {
                    w.StringList(x, "host.services.restart", &s.restart);
                  }},
                 {"timeout",
                  [&](auto& x) {
                    w.Dur(x, "host.services.timeout", &s.timeout);
                  }},
                 {"interval",
                  [&](auto& x) {
                    w.Dur(x, "host.services.interval", &s.interval);
                  }},
                 {"start_timeout", [&](auto& x) {
                    w.Dur(x, "host.services.start_timeout", &s.start_timeout);
                  }}});
            if (!e.IsMap()) return;
            if (s.name.empty()) {
              w.Error(e, "host.services entry: missing required key \"name\"");
              return;
            }
            if (!ValidServiceName(s.name)) {
              w.Error(name_node,
                      "host.services.name: \"" + s.name +
                          "\" may hold only letters, digits, '_', '-' and '.'");
            } else if (s.name == kHostTargetName) {
              w.Error(name_node, "host.services.name: the name \"" + s.name +
                                     "\" is reserved for the host collector");
            }
            if (!names.insert(s.name).second) {
              w.Error(e, "host.services: duplicate service name \"" + s.name +
                             "\"");
            }
            if (s.restart.empty() && !e["check"]) {
              w.Error(e, "host.services \"" + s.name +
                             "\": needs a check or a restart command");
            }
            c->services.push_back(std::move(s));
          });
        }}});
}

// One miner list: the `miners:` section and every miner_files file.
void LoadMiners(Walker& w, const YAML::Node& n, std::vector<MinerConfig>* out,
                const LoadOptions& opts, const KindCheck& known_kind) {
  std::vector<std::string> kind_names;
  for (std::string_view k : KnownKinds()) {
    if (known_kind(k)) kind_names.emplace_back(k);
  }
  std::set<std::string> names;
  w.List(n, "miners", [&](const YAML::Node& e) {
    MinerConfig m;
    m.location = w.Where(e);
    YAML::Node kind_node;
    YAML::Node name_node;
    w.Map(
        e, "miners entry",
        {{"name",
          [&](const YAML::Node& v) {
            name_node.reset(v);
            w.NonEmptyString(v, "miners.name", &m.name);
          }},
         {"kind",
          [&](const YAML::Node& v) {
            kind_node.reset(v);
            w.NonEmptyString(v, "miners.kind", &m.kind);
          }},
         {"address",
          [&](auto& v) { w.NonEmptyString(v, "miners.address", &m.address); }},
         {"http_port",
          [&](auto& v) {
            w.Int(v, "miners.http_port", &m.http_port, 1, 65535);
          }},
         {"auth", [&](const YAML::Node& v) {
            w.Map(v, "miners.auth",
                  {{"username",
                    [&](auto& x) {
                      w.NonEmptyString(x, "miners.auth.username", &m.username);
                    }},
                   {"password_file", [&](auto& x) {
                      w.NonEmptyString(x, "miners.auth.password_file",
                                       &m.password_file);
                    }}});
          }}});
    if (!e.IsMap()) return;
    bool complete = true;
    for (auto [key, val] :
         {std::pair{"name", &m.name}, std::pair{"kind", &m.kind},
          std::pair{"address", &m.address}}) {
      if (val->empty() && !e[key]) {
        w.Error(e, std::string("miners entry: missing required key \"") + key +
                       "\"");
        complete = false;
      }
    }
    if (!m.kind.empty() && m.kind != probe::kAutoKind && !known_kind(m.kind)) {
      w.Error(kind_node, "miners.kind: unknown kind \"" + m.kind +
                             "\" (known kinds: " + Join(kind_names) +
                             (kind_names.empty() ? "" : ", or ") +
                             std::string(probe::kAutoKind) + ")");
      complete = false;
    }
    if (!m.address.empty()) {
      Result<HostPort> hp = ParseHostPort(m.address, 1);
      if (!hp.ok()) {
        w.Error(e["address"], "miners.address: " + hp.status().message());
        complete = false;
      }
    }
    if (m.name == kHostTargetName) {
      w.Error(name_node, "miners.name: the name \"" + m.name +
                             "\" is reserved for the host collector; rename "
                             "the miner");
      complete = false;
    } else if (!m.name.empty() && !names.insert(m.name).second) {
      w.Error(name_node, "miners: duplicate miner name \"" + m.name + "\"");
      complete = false;
    }
    if (opts.check_files && !m.password_file.empty()) {
      Result<std::string> pw =
          ReadSecretFile(m.password_file, "miners.auth.password_file");
      if (!pw.ok()) {
        w.Error(e["auth"]["password_file"], pw.status().message());
        complete = false;
      } else {
        ScrubSecret(*pw);
      }
    }
    if (complete) out->push_back(std::move(m));
  });
}

void LoadNotify(Walker& w, const YAML::Node& n, NotifyConfig* c,
                const LoadOptions& opts) {
  w.Map(
      n, "notify",
      {{"smtp",
        [&](const YAML::Node& v) {
          SmtpConfig* s = &c->smtp;
          w.Map(v, "notify.smtp",
                {{"url",
                  [&](auto& x) { w.String(x, "notify.smtp.url", &s->url); }},
                 {"from",
                  [&](auto& x) { w.String(x, "notify.smtp.from", &s->from); }},
                 {"to",
                  [&](auto& x) { w.StringList(x, "notify.smtp.to", &s->to); }},
                 {"starttls",
                  [&](const YAML::Node& x) {
                    std::string t;
                    w.String(x, "notify.smtp.starttls", &t);
                    if (t.empty()) return;
                    if (t != "required" && t != "opportunistic" && t != "off") {
                      w.Error(x, "notify.smtp.starttls: unknown value \"" + t +
                                     "\" (allowed: off, opportunistic, "
                                     "required)");
                      return;
                    }
                    s->starttls = t;
                  }},
                 {"username",
                  [&](auto& x) {
                    w.String(x, "notify.smtp.username", &s->username);
                  }},
                 {"password_file",
                  [&](auto& x) {
                    w.String(x, "notify.smtp.password_file", &s->password_file);
                  }},
                 {"ca_file",
                  [&](auto& x) {
                    w.String(x, "notify.smtp.ca_file", &s->ca_file);
                  }},
                 {"insecure_skip_verify",
                  [&](auto& x) {
                    w.Bool(x, "notify.smtp.insecure_skip_verify",
                           &s->insecure_skip_verify);
                  }},
                 {"allow_plaintext_auth",
                  [&](auto& x) {
                    w.Bool(x, "notify.smtp.allow_plaintext_auth",
                           &s->allow_plaintext_auth);
                  }},
                 {"timeout", [&](auto& x) {
                    w.Dur(x, "notify.smtp.timeout", &s->timeout);
                  }}});
          if (v.IsMap() && !s->to.empty() && s->from.empty()) {
            w.Error(v, "notify.smtp: \"from\" is required when \"to\" is set");
          }
          if (v.IsMap() && !s->url.empty() && s->url.rfind("smtp://", 0) != 0 &&
              s->url.rfind("smtps://", 0) != 0) {
            w.Error(v["url"],
                    "notify.smtp.url: expected smtp://host:port or "
                    "smtps://host:port, got \"" +
                        s->url + "\"");
          }
          if (!v.IsMap()) return;
          if (std::string why = PlaintextAuthProblem(
                  s->url, s->starttls == "required", !s->username.empty(),
                  s->allow_plaintext_auth);
              !why.empty()) {
            w.Error(v["username"], "notify.smtp.username: " + why);
          }
          if (opts.check_files && !s->password_file.empty()) {
            Result<std::string> pw =
                ReadSecretFile(s->password_file, "notify.smtp.password_file");
            if (!pw.ok()) {
              w.Error(v["password_file"], pw.status().message());
            } else {
              ScrubSecret(*pw);
            }
          }
        }},
       {"alertmanager",
        [&](const YAML::Node& v) {
          w.Map(v, "notify.alertmanager",
                {{"url", [&](const YAML::Node& x) {
                    w.String(x, "notify.alertmanager.url",
                             &c->alertmanager.url);
                    const std::string& u = c->alertmanager.url;
                    if (!u.empty() && u.rfind("http://", 0) != 0 &&
                        u.rfind("https://", 0) != 0) {
                      w.Error(x,
                              "notify.alertmanager.url: expected an "
                              "http:// or https:// URL, got \"" +
                                  u + "\"");
                    }
                  }}});
        }},
       {"group_wait",
        [&](auto& v) { w.Dur(v, "notify.group_wait", &c->group_wait, true); }},
       {"repeat_interval",
        [&](auto& v) {
          w.Dur(v, "notify.repeat_interval", &c->repeat_interval);
        }},
       {"external_url", [&](auto& v) {
          w.String(v, "notify.external_url", &c->external_url);
        }}});
}

void LoadActions(Walker& w, const YAML::Node& n, ActionsConfig* c) {
  w.Map(n, "actions",
        {{"restart_cooldown",
          [&](auto& v) {
            w.Dur(v, "actions.restart_cooldown", &c->restart_cooldown, true);
          }},
         {"restart_max_attempts",
          [&](auto& v) {
            w.Int(v, "actions.restart_max_attempts", &c->restart_max_attempts,
                  0, 1000);
          }},
         {"restart_window",
          [&](auto& v) {
            w.Dur(v, "actions.restart_window", &c->restart_window);
          }},
         {"restart_grace",
          [&](auto& v) {
            w.Dur(v, "actions.restart_grace", &c->restart_grace, true);
          }},
         {"guard_fraction",
          [&](auto& v) {
            w.Fraction(v, "actions.guard_fraction", &c->guard_fraction);
          }},
         {"guard_min_failed",
          [&](auto& v) {
            w.Int(v, "actions.guard_min_failed", &c->guard_min_failed, 1,
                  1000000);
          }},
         {"guard_for", [&](auto& v) {
            w.Int(v, "actions.guard_for", &c->guard_for, 1, 1000);
          }}});
}

void LoadBackup(Walker& w, const YAML::Node& n, BackupConfig* c) {
  w.Map(
      n, "backup",
      {{"dir", [&](auto& v) { w.NonEmptyString(v, "backup.dir", &c->dir); }},
       {"every", [&](auto& v) { w.Dur(v, "backup.every", &c->every, true); }},
       {"keep", [&](auto& v) { w.Int(v, "backup.keep", &c->keep, 1, 10000); }},
       {"after_command", [&](auto& v) {
          w.StringList(v, "backup.after_command", &c->after_command);
        }}});
}

// True when `path` exists and is a writable directory, or does not exist and
// its nearest existing ancestor is a writable directory (we would create it).
Status CheckWritableDir(const std::string& path) {
  std::string dir = NearestExistingDir(path);
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) return ErrnoToStatus(errno, "stat " + dir);
  if (!S_ISDIR(st.st_mode)) {
    return InvalidArgumentError("\"" + dir + "\" is not a directory");
  }
  if (::access(dir.c_str(), W_OK | X_OK) != 0) {
    return PermissionDeniedError("directory \"" + dir + "\" is not writable");
  }
  return Status::Ok();
}

}  // namespace

std::string NearestExistingDir(const std::string& path) {
  std::string p = path;
  while (true) {
    struct stat st;
    // ENOTDIR ("/etc/hostname/data") stops at the file, which the caller
    // then reports as not a directory.
    if (::stat(p.c_str(), &st) == 0 || errno != ENOENT) return p;
    size_t slash = p.find_last_of('/');
    if (slash == std::string::npos) return ".";
    if (slash == 0) return "/";
    p = p.substr(0, slash);
  }
}

Result<HostPort> ParseHostPort(std::string_view address_view,
                               uint16_t default_port) {
  const std::string address(address_view);
  HostPort hp;
  std::string port_str;
  if (address.empty()) {
    return InvalidArgumentError("invalid address \"\": empty");
  }
  if (address[0] == '[') {
    size_t close = address.find(']');
    if (close == std::string::npos) {
      return InvalidArgumentError("invalid address \"" + address +
                                  "\": missing ']'");
    }
    hp.host = address.substr(1, close - 1);
    if (close + 1 < address.size()) {
      if (address[close + 1] != ':') {
        return InvalidArgumentError("invalid address \"" + address + "\"");
      }
      port_str = address.substr(close + 2);
    }
  } else {
    size_t colon = address.rfind(':');
    if (colon != std::string::npos && address.find(':') != colon) {
      // Two colons or more: a bare IPv6 literal, which cannot carry a port
      // (is "fd00::1:4028" a port or a group?), so the default port applies.
      in6_addr v6;
      if (::inet_pton(AF_INET6, address.c_str(), &v6) != 1) {
        return InvalidArgumentError(
            "invalid address \"" + address +
            "\": not an IPv6 address; write IPv6 with a port as [addr]:port");
      }
      hp.host = address;
      hp.port = default_port;
      return hp;
    }
    if (colon == std::string::npos) {
      hp.host = address;
    } else {
      hp.host = address.substr(0, colon);
      port_str = address.substr(colon + 1);
    }
  }
  if (hp.host.empty()) {
    return InvalidArgumentError("invalid address \"" + address +
                                "\": empty host");
  }
  for (char ch : hp.host) {
    if (ch <= ' ' || ch == '/' || ch == '?' || ch == '#' || ch == '@') {
      return InvalidArgumentError("invalid address \"" + address +
                                  "\": bad character in host");
    }
  }
  if (port_str.empty()) {
    if (address.back() == ':') {
      return InvalidArgumentError("invalid address \"" + address +
                                  "\": empty port");
    }
    hp.port = default_port;
    return hp;
  }
  unsigned port = 0;
  auto r =
      std::from_chars(port_str.data(), port_str.data() + port_str.size(), port);
  if (r.ec != std::errc() || r.ptr != port_str.data() + port_str.size() ||
      port == 0 || port > 65535) {
    return InvalidArgumentError("invalid address \"" + address +
                                "\": port must be 1-65535");
  }
  hp.port = static_cast<uint16_t>(port);
  return hp;
}

Status ValidateListenAddress(std::string_view address) {
  RW_ASSIGN_OR_RETURN(HostPort hp, ParseHostPort(address, 0));
  if (hp.port == 0) {
    return InvalidArgumentError("invalid address \"" + std::string(address) +
                                "\": a port is required (e.g. 0.0.0.0:9842)");
  }
  in_addr v4;
  in6_addr v6;
  if (::inet_pton(AF_INET, hp.host.c_str(), &v4) != 1 &&
      ::inet_pton(AF_INET6, hp.host.c_str(), &v6) != 1) {
    return InvalidArgumentError(
        "invalid address \"" + std::string(address) + "\": \"" + hp.host +
        "\" is not an IP address (listen on 0.0.0.0, 127.0.0.1, [::] ...)");
  }
  return Status::Ok();
}

LoadResult LoadConfigFromString(const std::string& yaml,
                                const std::string& path,
                                const LoadOptions& opts) {
  LoadResult result;
  Walker w(path, &result.errors);
  if (std::optional<TextPosition> cr = FindLoneCarriageReturn(yaml)) {
    result.errors.push_back({SourceLocation{path, cr->line, cr->column},
                             std::string(LoneCarriageReturnMessage())});
    return result;
  }
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    result.errors.push_back({At(path, e.mark), "YAML syntax error: " + e.msg});
    return result;
  }
  Config c;
  c.file = path;
  try {
    if (root.IsNull()) {
      // An empty file is a valid config: every default applies. A reload
      // refuses it (the file was caught mid-write), so it is marked.
      c.empty = true;
    } else if (!root.IsMap()) {
      w.Error(root, std::string("expected a map of sections at the top "
                                "level, got ") +
                        TypeName(root));
    } else {
      YAML::Node interval_node, timeout_node;
      w.Map(root, "the top level",
            {{"http", [&](auto& v) { LoadHttp(w, v, &c.http); }},
             {"storage", [&](auto& v) { LoadStorage(w, v, &c.storage); }},
             {"scrape",
              [&](const YAML::Node& v) {
                LoadScrape(w, v, &c.scrape);
                // reset() rebinds; operator= would assign through the node
                // and throws on a missing key.
                if (v.IsMap() && v["interval"])
                  interval_node.reset(v["interval"]);
                if (v.IsMap() && v["timeout"]) timeout_node.reset(v["timeout"]);
              }},
             {"host", [&](auto& v) { LoadHost(w, v, &c.host); }},
             {"miners",
              [&](auto& v) {
                c.miners_listed = true;
                LoadMiners(w, v, &c.miners, opts, IsRegisteredKind);
              }},
             {"miner_files",
              [&](auto& v) { w.StringList(v, "miner_files", &c.miner_files); }},
             {"rule_files",
              [&](auto& v) { w.StringList(v, "rule_files", &c.rule_files); }},
             {"notify", [&](auto& v) { LoadNotify(w, v, &c.notify, opts); }},
             {"actions", [&](auto& v) { LoadActions(w, v, &c.actions); }},
             {"backup", [&](auto& v) { LoadBackup(w, v, &c.backup); }},
             {"log", [&](const YAML::Node& v) {
                w.Map(v, "log",
                      {{"level", [&](const YAML::Node& x) {
                          w.String(x, "log.level", &c.log.level);
                          Result<LogLevel> l = ParseLogLevel(c.log.level);
                          if (!l.ok()) {
                            w.Error(x, "log.level: " + l.status().message());
                          }
                        }}});
              }}});
      if (c.scrape.timeout >= c.scrape.interval) {
        const YAML::Node& at = timeout_node    ? timeout_node
                               : interval_node ? interval_node
                                               : root;
        w.Error(at, "scrape.timeout (" + FormatDuration(c.scrape.timeout) +
                        ") must be less than scrape.interval (" +
                        FormatDuration(c.scrape.interval) + ")");
      }
      // A service is a rule target of its own: its name must not be a
      // miner's (miner files are checked when they are read).
      for (const HostServiceConfig& svc : c.host.services) {
        for (const MinerConfig& m : c.miners) {
          if (m.name == svc.name) {
            result.errors.push_back(
                {svc.location, "host.services: service \"" + svc.name +
                                   "\" has the name of a miner (" +
                                   m.location.ToString() + "); rename one"});
          }
        }
      }
      if (opts.check_writable && result.errors.empty()) {
        Status s = CheckWritableDir(c.storage.path);
        if (!s.ok()) {
          YAML::Node at = root["storage"] && root["storage"].IsMap() &&
                                  root["storage"]["path"]
                              ? root["storage"]["path"]
                              : root;
          w.Error(at, "storage.path: data directory \"" + c.storage.path +
                          "\" is not usable: " + s.message());
        }
      }
    }
  } catch (const YAML::Exception& e) {
    // Conversions above never throw on valid trees; this guards the edge.
    result.errors.push_back({At(path, e.mark), "YAML error: " + e.msg});
  }
  if (result.errors.empty()) result.config = std::move(c);
  return result;
}

LoadResult LoadConfig(const std::string& path, const LoadOptions& opts) {
  Result<std::string> text =
      ReadCappedFile(path, kMaxConfigFileBytes, "config file");
  if (!text.ok()) {
    LoadResult r;
    ConfigError e;
    e.location.file = path;
    // The location names the file already.
    e.message = text.status().message();
    if (e.message.rfind(path + ": ", 0) == 0) {
      e.message.erase(0, path.size() + 2);
    }
    r.errors.push_back(std::move(e));
    return r;
  }
  return LoadConfigFromString(*text, path, opts);
}

bool IsRegisteredKind(std::string_view kind) {
  return FindExporter(kind) != nullptr;
}

MinerListResult ParseMinerList(const std::string& yaml, const std::string& path,
                               const KindCheck& known_kind,
                               const LoadOptions& opts) {
  MinerListResult result;
  Walker w(path, &result.errors);
  if (std::optional<TextPosition> cr = FindLoneCarriageReturn(yaml)) {
    result.errors.push_back({SourceLocation{path, cr->line, cr->column},
                             std::string(LoneCarriageReturnMessage())});
    return result;
  }
  try {
    YAML::Node root = YAML::Load(yaml);
    LoadMiners(w, root, &result.miners, opts, known_kind);
  } catch (const YAML::Exception& e) {
    result.errors.push_back({At(path, e.mark), "YAML syntax error: " + e.msg});
  }
  return result;
}

Result<MinerTarget> ToMinerTarget(const MinerConfig& m) {
  RW_ASSIGN_OR_RETURN(HostPort hp, ParseHostPort(m.address, 0));
  MinerTarget t{m.name, m.kind, hp.host, hp.port};
  t.http_port = static_cast<uint16_t>(m.http_port);
  t.username = m.username;
  t.password_file = m.password_file;
  return t;
}

}  // namespace rigwatch
