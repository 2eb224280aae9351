// The one HTTP server of the agent (libmicrohttpd underneath, with GnuTLS).
//
// Event-driven: a few event threads read requests and write responses for
// every connection, so a slow or idle client costs a socket and a little
// memory, never a thread. Complete requests run on `threads` workers
// (docs/architecture.md "HTTP server"). Native TLS with optional client
// certificates (HttpTlsOptions, docs/security.md).
//
// Basic auth (what Prometheus sends) is checked here against bcrypt hashes,
// as Prometheus' web config does.
#ifndef RIGWATCH_AGENT_HTTP_SERVER_H_
#define RIGWATCH_AGENT_HTTP_SERVER_H_

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "agent/common/status.h"

namespace rigwatch {

struct HttpRequest {
  std::string method;
  std::string path;   // decoded path, without the query
  std::string query;  // raw query string, without '?'
  std::string remote_addr;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;

  // Case-insensitive header lookup; empty when absent.
  std::string_view Header(std::string_view name) const;
  // First value of a query parameter, URL-decoded.
  std::optional<std::string> Param(std::string_view name) const;
  // Every value of a repeated query parameter, URL-decoded, in order.
  std::vector<std::string> Params(std::string_view name) const;
};

// Writes one piece of a streamed body; returns false when the client went
// away or the server stops (stop producing). Waits while the client is far
// behind. An empty piece sends nothing and just asks.
using BodyWriter = std::function<bool(std::string_view)>;

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  // When set, the body comes from this function, sent chunked (for exports
  // that must not be buffered whole). `body` is ignored then.
  std::function<void(const BodyWriter&)> stream;
  // Gzip the body when the client accepts it (large text bodies).
  bool gzip_ok = false;

  static HttpResponse Text(int status, std::string body);
  static HttpResponse Json(int status, std::string body);
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

struct HttpUser {
  std::string name;
  std::string bcrypt_hash;
};

// TLS on the listening port, with exporter-toolkit's meaning of each field.
struct HttpTlsOptions {
  std::string cert_file;  // PEM, the server certificate (and chain)
  std::string key_file;   // PEM, its private key
  // GnuTLS priority string for versions, ciphers and groups; made from
  // min_version and curve_preferences by the config.
  std::string priorities = "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2";
  enum class ClientAuth {
    kNoClientCert,
    kRequestClientCert,
    kRequireAnyClientCert,
    kVerifyClientCertIfGiven,
    kRequireAndVerifyClientCert,
  };
  ClientAuth client_auth = ClientAuth::kNoClientCert;
  std::string client_ca_file;  // PEM; needed by the two Verify modes
};

struct HttpServerOptions {
  std::string listen = "127.0.0.1:0";  // port 0 picks a free port
  int threads = 8;                     // workers running handlers
  // A request's head (and a new connection's TLS handshake) must arrive
  // within this, from the connection's start or the previous answer; a
  // connection silent this long is closed (idle timeout in whole seconds).
  std::chrono::milliseconds request_timeout{5000};
  std::optional<HttpTlsOptions> tls;  // absent: plain HTTP
  std::vector<HttpUser> users;        // empty: no authentication
  std::string realm = "rigwatch";
  size_t max_body_bytes = 1 << 20;
};

class HttpServer {
 public:
  explicit HttpServer(HttpServerOptions options);
  ~HttpServer();  // stops the server
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Registers a handler for an exact path, or for every path below `path`
  // when it ends with '/'. Call before Start(). Any other method than
  // `methods` gets 405 with an Allow header (HEAD is allowed with GET).
  void Handle(std::string path, HttpHandler handler,
              std::vector<std::string> methods = {"GET"});

  // Binds and starts serving. Fails with the listen address in the message.
  Status Start();
  // Stops accepting, waits for handlers running (queued ones get 503, streams
  // are told the client went away), closes every connection.
  void Stop();

  // Reads the TLS certificate and key files again when they changed since
  // the last load (SIGHUP, or a periodic check). A bad new pair is logged
  // and the old one kept. No-op without TLS.
  Status ReloadTlsIfChanged();

  // "host:port" actually bound (port resolved when 0 was asked).
  std::string BoundAddress() const;
  int BoundPort() const;

  // Swaps the users for Basic auth (config reload). Thread-safe.
  void SetUsers(std::vector<HttpUser> users);

  // Requests refused for bad or missing credentials, and for coming from an
  // address that failed too often (rigwatch_http_auth_failures_total).
  uint64_t auth_failures() const { return auth_failures_.load(); }
  // For tests: the bytes the credential cache holds, one entry per user.
  std::vector<std::string> CredentialCacheForTest();

  // Failed logins one client address may make per window before it gets
  // 429 without any password check until the window ends.
  static constexpr int kAuthFailuresPerWindow = 10;
  static constexpr std::chrono::seconds kAuthFailureWindow{60};

 private:
  enum class AuthResult { kOk, kDenied, kRateLimited };
  using Mac = std::array<unsigned char, 32>;

  class Backend;  // the libmicrohttpd glue, agent/http/backend.cc
  // A request fully read and framed correctly: auth, route, method, handler.
  HttpResponse Serve(const HttpRequest& req);
  AuthResult Authorized(const HttpRequest& req);
  Mac CredentialMac(std::string_view user, std::string_view pass) const;
  bool RateLimited(const std::string& addr);
  void CountFailure(const std::string& addr);
  struct Route_ {
    HttpHandler handler;
    std::vector<std::string> methods;
  };
  const Route_* Route(const std::string& path) const;

  HttpServerOptions options_;
  std::map<std::string, Route_> exact_;
  std::vector<std::pair<std::string, Route_>> prefix_;
  std::unique_ptr<Backend> backend_;

  // Guards users_, verified_ and failures_; never held during bcrypt.
  std::mutex auth_mu_;
  std::vector<HttpUser> users_;
  uint64_t users_generation_ = 0;  // bumped by SetUsers
  // user -> HMAC-SHA256(key, user ":" password) of credentials verified
  // against the bcrypt hash: bcrypt costs tens of milliseconds, too much for
  // every scrape, and the plaintext is never kept. The key is random per
  // process, so the cache is useless outside it.
  std::map<std::string, Mac> verified_;
  Mac mac_key_{};
  struct Failures {
    int count = 0;
    std::chrono::steady_clock::time_point window_start;
  };
  std::map<std::string, Failures> failures_;  // by client address
  std::atomic<uint64_t> auth_failures_{0};
};

// Base64 (RFC 4648) encode, with padding.
std::string Base64Encode(std::string_view in);
// Base64 (RFC 4648) decode; nullopt on invalid input.
std::optional<std::string> Base64Decode(std::string_view in);
// Percent-decoding for query strings ('+' is a space).
std::string UrlDecode(std::string_view in);
// Gzip (RFC 1952) at the given zlib level.
Result<std::string> Gzip(std::string_view in, int level);
// True when an Accept-Encoding value allows gzip.
bool AcceptsGzip(std::string_view accept_encoding);

}  // namespace rigwatch

#endif  // RIGWATCH_AGENT_HTTP_SERVER_H_
