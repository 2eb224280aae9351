#include "agent/http/server.h"

#include <civetweb.h>
#include <strings.h>
#include <zlib.h>

#include <algorithm>
#include <cstring>

#include "agent/common/json.h"
#include "agent/common/log.h"
#include "agent/http/mutation.h"

namespace rigwatch {

std::string_view HttpRequest::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k.size() == name.size() &&
        strncasecmp(k.data(), name.data(), name.size()) == 0) {
      return v;
    }
  }
  return {};
}

std::vector<std::pair<std::string, std::string>> HttpRequest::AllParams()
    const {
  std::vector<std::pair<std::string, std::string>> out;
  std::string_view q = query;
  while (!q.empty()) {
    size_t amp = q.find('&');
    std::string_view part = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view() : q.substr(amp + 1);
    size_t eq = part.find('=');
    out.emplace_back(UrlDecode(part.substr(0, eq)),
                     eq == std::string_view::npos
                         ? std::string()
                         : UrlDecode(part.substr(eq + 1)));
  }
  return out;
}

std::vector<std::string> HttpRequest::Params(std::string_view name) const {
  std::vector<std::string> out;
  for (auto& [k, v] : AllParams()) {
    if (k == name) out.push_back(std::move(v));
  }
  return out;
}

std::optional<std::string> HttpRequest::Param(std::string_view name) const {
  std::vector<std::string> all = Params(name);
  if (all.empty()) return std::nullopt;
  return all.front();
}

HttpResponse HttpResponse::Text(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

HttpResponse HttpResponse::Json(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.content_type = "application/json";
  r.body = std::move(body);
  return r;
}

HttpResponse HttpResponse::Error(int status, std::string_view message) {
  std::string body = "{\"error\":";
  json::AppendString(&body, message);
  body += "}\n";
  return Json(status, std::move(body));
}

std::string Base64Encode(std::string_view in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  for (size_t i = 0; i < in.size(); i += 3) {
    uint32_t v = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) v |= static_cast<unsigned char>(in[i + 1]) << 8;
    if (i + 2 < in.size()) v |= static_cast<unsigned char>(in[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < in.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += i + 2 < in.size() ? kAlphabet[v & 63] : '=';
  }
  return out;
}

std::optional<std::string> Base64Decode(std::string_view in) {
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  while (!in.empty() && in.back() == '=') in.remove_suffix(1);
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v = val(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  if (bits >= 6) return std::nullopt;  // a lone trailing character
  return out;
}

std::string UrlDecode(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '+') {
      out += ' ';
    } else if (c == '%' && i + 2 < in.size() && hex(in[i + 1]) >= 0 &&
               hex(in[i + 2]) >= 0) {
      out += static_cast<char>(hex(in[i + 1]) * 16 + hex(in[i + 2]));
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

Result<std::string> Gzip(std::string_view in, int level) {
  z_stream zs{};
  // 15 window bits + 16 selects the gzip wrapper.
  if (deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
      Z_OK) {
    return InternalError("deflateInit2 failed");
  }
  std::string out;
  out.resize(deflateBound(&zs, in.size()) + 32);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&zs, Z_FINISH);
  size_t produced = zs.total_out;
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) return InternalError("deflate did not finish");
  out.resize(produced);
  return out;
}

bool AcceptsGzip(std::string_view ae) {
  // Good enough for "gzip", "gzip, deflate", "gzip;q=1.0"; "gzip;q=0" off.
  size_t pos = ae.find("gzip");
  if (pos == std::string_view::npos) return false;
  std::string_view rest = ae.substr(pos + 4);
  size_t comma = rest.find(',');
  std::string_view params = rest.substr(0, comma);
  size_t q = params.find("q=");
  if (q != std::string_view::npos) {
    std::string_view qv = params.substr(q + 2);
    if (qv.substr(0, 1) == "0" &&
        qv.find_first_of("123456789") == std::string_view::npos) {
      return false;
    }
  }
  return true;
}

namespace {

int LogMessage(const mg_connection*, const char* message) {
  LogDebug("http_server_message").Kv("msg", message);
  return 1;  // handled: civetweb must not print it itself
}

const char* ReasonPhrase(int status) {
  const char* r = mg_get_response_code_text(nullptr, status);
  return r ? r : "";
}

}  // namespace

HttpServer::HttpServer(HttpServerOptions options)
    : options_(std::move(options)), auth_(options_.auth) {
  mg_init_library(0);
}

HttpServer::~HttpServer() {
  Stop();
  mg_exit_library();
}

void HttpServer::Handle(std::string path, HttpHandler handler,
                        std::vector<std::string> methods, Role role,
                        size_t max_body_bytes) {
  if (role == Role::kAdmin) {
    for (const std::string& m : methods) {
      // Changes go through methods a page cannot send by a link or an <img>.
      if (m != "POST" && m != "DELETE") {
        AbortWithMessage("admin routes are POST or DELETE only: ",
                         path.c_str());
      }
    }
  }
  if (std::find(methods.begin(), methods.end(), "GET") != methods.end() &&
      std::find(methods.begin(), methods.end(), "HEAD") == methods.end()) {
    methods.push_back("HEAD");
  }
  Route_ r{std::move(handler), std::move(methods), role, max_body_bytes};
  if (!path.empty() && path.back() == '/' && path != "/") {
    prefix_.emplace_back(std::move(path), std::move(r));
  } else {
    exact_[std::move(path)] = std::move(r);
  }
}

const HttpServer::Route_* HttpServer::Route(const std::string& path) const {
  auto it = exact_.find(path);
  if (it != exact_.end()) return &it->second;
  const Route_* best = nullptr;
  size_t best_len = 0;
  for (const auto& [p, h] : prefix_) {
    if (path.compare(0, p.size(), p) == 0 && p.size() > best_len) {
      best = &h;
      best_len = p.size();
    }
  }
  return best;
}

Status HttpServer::Start() {
  if (ctx_ != nullptr) return FailedPreconditionError("already started");
  std::string threads = std::to_string(options_.threads);
  std::string timeout = std::to_string(options_.request_timeout.count());
  const char* opts[] = {"listening_ports",
                        options_.listen.c_str(),
                        "num_threads",
                        threads.c_str(),
                        "request_timeout_ms",
                        timeout.c_str(),
                        "enable_keep_alive",
                        "yes",
                        "keep_alive_timeout_ms",
                        "500",
                        "enable_directory_listing",
                        "no",
                        nullptr};
  mg_callbacks callbacks{};
  callbacks.log_message = &LogMessage;
  char errtxt[256] = {0};
  mg_init_data init{};
  init.callbacks = &callbacks;
  init.user_data = this;
  init.configuration_options = opts;
  mg_error_data err{};
  err.text = errtxt;
  err.text_buffer_size = sizeof errtxt;
  ctx_ = mg_start2(&init, &err);
  if (ctx_ == nullptr) {
    return UnavailableError("cannot listen on " + options_.listen + ": " +
                            (errtxt[0] ? errtxt : "unknown error"));
  }
  mg_set_request_handler(ctx_, "/", &HttpServer::Dispatch, this);
  mg_server_port ports[4];
  int n = mg_get_server_ports(ctx_, 4, ports);
  if (n > 0) bound_port_ = ports[0].port;
  size_t colon = options_.listen.rfind(':');
  bound_host_ =
      colon == std::string::npos ? "0.0.0.0" : options_.listen.substr(0, colon);
  return Status::Ok();
}

void HttpServer::Stop() {
  if (ctx_ != nullptr) {
    mg_stop(ctx_);
    ctx_ = nullptr;
  }
}

std::string HttpServer::BoundAddress() const {
  return bound_host_ + ":" + std::to_string(bound_port_);
}

int HttpServer::BoundPort() const { return bound_port_; }

int HttpServer::Dispatch(mg_connection* conn, void* self) {
  return static_cast<HttpServer*>(self)->Serve(conn);
}

int HttpServer::Serve(mg_connection* conn) {
  const mg_request_info* ri = mg_get_request_info(conn);
  HttpRequest req;
  req.method = ri->request_method ? ri->request_method : "";
  req.path = ri->local_uri ? ri->local_uri : "/";
  req.query = ri->query_string ? ri->query_string : "";
  req.remote_addr = ri->remote_addr;
  for (int i = 0; i < ri->num_headers; ++i) {
    req.headers.emplace_back(ri->http_headers[i].name,
                             ri->http_headers[i].value);
  }

  // Every refusal is a JSON error body with a message.
  auto send_simple = [&](int status, std::string_view extra_headers,
                         std::string_view message) {
    const std::string body = HttpResponse::Error(status, message).body;
    mg_printf(conn,
              "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
              "Content-Length: %zu\r\n%.*s\r\n",
              status, ReasonPhrase(status), body.size(),
              static_cast<int>(extra_headers.size()), extra_headers.data());
    mg_write(conn, body.data(), body.size());
    return status;
  };

  // Framing first: a request whose body length is ambiguous (both
  // Content-Length and Transfer-Encoding, or a coding other than chunked)
  // is how requests are smuggled past a proxy. Refused, connection closed.
  std::string_view te = req.Header("Transfer-Encoding");
  const bool chunked = strcasecmp(std::string(te).c_str(), "chunked") == 0;
  if (!te.empty() && (!req.Header("Content-Length").empty() || !chunked)) {
    return send_simple(400, "Connection: close\r\n",
                       "ambiguous request framing: Transfer-Encoding must be "
                       "\"chunked\" alone, without Content-Length");
  }

  const Route_* route = Route(req.path);
  const bool mutation = route != nullptr && route->role == Role::kAdmin;
  Access access = auth_.Check(req, route ? route->role : Role::kRead);
  req.principal = access.who;
  if (access.kind != Access::Kind::kOk) {
    std::string hdr;
    int status = 403;
    if (access.kind == Access::Kind::kUnauthorized) {
      status = 401;
      hdr = "WWW-Authenticate: Basic realm=\"" + options_.realm + "\"\r\n";
    } else if (access.kind == Access::Kind::kRateLimited) {
      status = 429;
      hdr = "Retry-After: " +
            std::to_string(Authenticator::kFailureWindow.count()) + "\r\n";
    }
    if (mutation)
      JournalMutation(req, status, access.reason, options_.on_mutation);
    return send_simple(status, hdr, access.reason);
  }

  if (route == nullptr) return send_simple(404, "", "not found: " + req.path);
  if (std::find(route->methods.begin(), route->methods.end(), req.method) ==
      route->methods.end()) {
    std::string allow = "Allow: ";
    for (size_t i = 0; i < route->methods.size(); ++i) {
      allow += (i ? ", " : "") + route->methods[i];
    }
    return send_simple(405, allow + "\r\n",
                       "method " + req.method + " not allowed; " + allow);
  }

  // Read a bounded body (POSTs to the API are small). A chunked body has no
  // length up front: read until the limit, one byte more means too large.
  const size_t max_body =
      route->max_body_bytes ? route->max_body_bytes : options_.max_body_bytes;
  const std::string too_large =
      "request body larger than " + std::to_string(max_body) + " bytes";
  if (ri->content_length > 0) {
    if (static_cast<size_t>(ri->content_length) > max_body) {
      return send_simple(413, "Connection: close\r\n", too_large);
    }
    req.body.resize(static_cast<size_t>(ri->content_length));
    size_t got = 0;
    while (got < req.body.size()) {
      int n = mg_read(conn, req.body.data() + got, req.body.size() - got);
      if (n <= 0) break;
      got += static_cast<size_t>(n);
    }
    req.body.resize(got);
  } else if (chunked) {
    char buf[8192];
    for (;;) {
      int n = mg_read(conn, buf, sizeof buf);
      if (n <= 0) break;
      if (req.body.size() + static_cast<size_t>(n) > max_body) {
        return send_simple(413, "Connection: close\r\n", too_large);
      }
      req.body.append(buf, static_cast<size_t>(n));
    }
  }

  HttpResponse resp = route->handler(req);
  if (mutation) {
    JournalMutation(req, resp.status, resp.status >= 400 ? resp.body : "",
                    options_.on_mutation);
  }
  std::string head = "HTTP/1.1 " + std::to_string(resp.status) + " " +
                     ReasonPhrase(resp.status) +
                     "\r\nContent-Type: " + resp.content_type + "\r\n";
  for (const auto& [k, v] : resp.headers) head += k + ": " + v + "\r\n";

  if (resp.stream) {
    head += "Transfer-Encoding: chunked\r\n\r\n";
    mg_write(conn, head.data(), head.size());
    bool alive = true;
    resp.stream([&](std::string_view piece) {
      if (!alive || piece.empty()) return alive;
      alive = mg_send_chunk(conn, piece.data(),
                            static_cast<unsigned>(piece.size())) > 0;
      return alive;
    });
    if (alive) mg_write(conn, "0\r\n\r\n", 5);
    return resp.status;
  }

  std::string_view body = resp.body;
  std::string zipped;
  if (resp.gzip_ok && AcceptsGzip(req.Header("Accept-Encoding"))) {
    Result<std::string> z = Gzip(resp.body, 1);
    if (z.ok()) {
      zipped = std::move(*z);
      body = zipped;
      head += "Content-Encoding: gzip\r\n";
    }
  }
  if (resp.gzip_ok) head += "Vary: Accept-Encoding\r\n";
  head += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  mg_write(conn, head.data(), head.size());
  if (req.method != "HEAD") mg_write(conn, body.data(), body.size());
  return resp.status;
}

}  // namespace rigwatch
