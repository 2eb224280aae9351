// The one HTTP server of the agent (libmicrohttpd underneath, with GnuTLS).
//
// Event-driven: a few event threads read requests and write responses for
// every connection, so a slow or idle client costs a socket and a little
// memory, never a thread. Complete requests run on `threads` workers
// (docs/architecture.md "HTTP server"). Native TLS with optional client
// certificates (HttpTlsOptions, docs/security.md).
//
// Who may make a request is the Authenticator's decision (agent/http/auth.h),
// asked once per request before routing.
#ifndef RIGWATCH_AGENT_HTTP_SERVER_H_
#define RIGWATCH_AGENT_HTTP_SERVER_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "agent/common/status.h"
#include "agent/http/auth.h"

namespace rigwatch {

struct HttpRequest {
  std::string method;
  std::string path;   // decoded path, without the query
  std::string query;  // raw query string, without '?'
  std::string remote_addr;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  // Who made it (Access::who), set by the server before the handler runs.
  std::string principal;
  // Set by the server: when the handler must have answered
  // (HttpServerOptions::handler_timeout after the request was read), and
  // whether the client closed its connection meanwhile. Unset (a request
  // made by a test) means no deadline and a client that stays.
  std::chrono::steady_clock::time_point deadline =
      std::chrono::steady_clock::time_point::max();
  std::chrono::milliseconds handler_timeout{0};
  std::function<bool()> client_gone;

  // Whether a long handler should go on: Ok, DeadlineExceeded once the
  // deadline passed, Unavailable when the client has gone (its answer
  // would go nowhere). Costs a clock read and a poll(2); call it between
  // bounded steps.
  Status StillWanted() const;

  // Case-insensitive header lookup; empty when absent.
  std::string_view Header(std::string_view name) const;
  // First value of a query parameter, URL-decoded.
  std::optional<std::string> Param(std::string_view name) const;
  // Every value of a repeated query parameter, URL-decoded, in order.
  std::vector<std::string> Params(std::string_view name) const;
  // Every parameter as (name, value), URL-decoded, in order; a part without
  // '=' has an empty value. The query's come first, then the fields of an
  // HTML form body (HasFormBody), so a browser form's csrf_token counts.
  std::vector<std::pair<std::string, std::string>> AllParams() const;
  // True for a request other than GET or HEAD whose body is an HTML form
  // (Content-Type application/x-www-form-urlencoded).
  bool HasFormBody() const;
};

// Produces the next piece of a streamed body: appends to `out` and returns
// true while more is to come, false when done (what it appended is still
// sent). Called on a worker, first before the answer's head is sent, then
// again each time the client has taken most of what was sent, so a slow
// reader holds no thread between calls. Each call must do a bounded amount
// of work (HttpServer produces about 64 KiB per turn, and comes back for
// more when a call appends nothing). Never called again once the client
// has gone or the server stops; it is destroyed then.
using BodyProducer = std::function<bool(std::string& out)>;

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  // When set, the body comes from this function, sent chunked (for exports
  // that must not be buffered whole). `body` is ignored then.
  BodyProducer stream;
  // Gzip the body when the client accepts it (large text bodies).
  bool gzip_ok = false;

  static HttpResponse Text(int status, std::string body);
  static HttpResponse Json(int status, std::string body);
  // {"error":"message"}, the body of every 4xx and 5xx.
  static HttpResponse Error(int status, std::string_view message);
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

// One request to an admin route, as the journal keeps it.
struct MutationRecord {
  std::string who;  // Access::who; empty when authentication failed
  std::string method;
  std::string path;
  std::string target;  // the `target` parameter, when given
  std::string params;  // decoded parameters without csrf_token, "k=v&k=v"
  std::string remote;  // client address
  int status = 0;
  std::string error;  // the refusal or error message, empty on success
};
using MutationSink = std::function<void(const MutationRecord&)>;

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
  // A handler must answer within this, counted from when its request was
  // read (HttpRequest::deadline); long handlers stop with 503 after it.
  std::chrono::milliseconds handler_timeout{10000};
  std::optional<HttpTlsOptions> tls;  // absent: plain HTTP
  AuthSettings auth;                  // no users or tokens: no authentication
  std::string realm = "rigwatch";
  size_t max_body_bytes = 1 << 20;
  // Called after every request to an admin route by a known principal
  // (also refused ones), besides the "http_mutation" log event
  // (agent/http/mutation.h). May be empty.
  MutationSink on_mutation;
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
  // `role` is what a client needs (Authenticator::Check); an admin route is
  // a mutation: POST or DELETE only, journaled. `max_body_bytes` (0: the
  // server's limit) bounds the request body of this route.
  void Handle(std::string path, HttpHandler handler,
              std::vector<std::string> methods = {"GET"},
              Role role = Role::kRead, size_t max_body_bytes = 0);

  // Binds and starts serving. Fails with the listen address in the message.
  Status Start();
  // Stops accepting, waits for handlers running (queued ones get 503,
  // streams are not produced further), closes every connection.
  void Stop();

  // Reads the TLS certificate and key files again when they changed since
  // the last load (SIGHUP, or a periodic check). A bad new pair is logged
  // and the old one kept. No-op without TLS.
  Status ReloadTlsIfChanged();

  // "host:port" actually bound (port resolved when 0 was asked).
  std::string BoundAddress() const;
  int BoundPort() const;

  // Who may make requests (credentials swapped on config reload).
  Authenticator& auth() { return auth_; }

 private:
  class Backend;  // the libmicrohttpd glue, agent/http/backend.cc
  // A request fully read and framed correctly: route, auth, method, handler.
  // Sets req.principal.
  HttpResponse Serve(HttpRequest& req);
  // The body limit of the route `path` falls under (Handle's
  // max_body_bytes, else HttpServerOptions::max_body_bytes).
  size_t MaxBodyFor(const std::string& path) const;
  struct Route_ {
    HttpHandler handler;
    std::vector<std::string> methods;
    Role role = Role::kRead;
    size_t max_body_bytes = 0;
  };
  const Route_* Route(const std::string& path) const;

  HttpServerOptions options_;
  std::map<std::string, Route_> exact_;
  std::vector<std::pair<std::string, Route_>> prefix_;
  std::unique_ptr<Backend> backend_;
  Authenticator auth_;
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
