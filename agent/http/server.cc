#include "agent/http/server.h"

#include <strings.h>
#include <zlib.h>

#include <algorithm>
#include <cstring>

#include "agent/common/json.h"
#include "agent/common/log.h"
#include "agent/common/units.h"
#include "agent/http/backend.h"
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

namespace {

// "k=v&k=v" (URL-encoded) appended to `out` as decoded pairs.
void AppendParams(std::string_view q,
                  std::vector<std::pair<std::string, std::string>>& out) {
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
}

}  // namespace

bool HttpRequest::HasFormBody() const {
  constexpr std::string_view kForm = "application/x-www-form-urlencoded";
  std::string_view type = Header("Content-Type");
  return method != "GET" && method != "HEAD" && type.size() >= kForm.size() &&
         strncasecmp(type.data(), kForm.data(), kForm.size()) == 0 &&
         (type.size() == kForm.size() || type[kForm.size()] == ';' ||
          type[kForm.size()] == ' ');
}

std::vector<std::pair<std::string, std::string>> HttpRequest::AllParams()
    const {
  std::vector<std::pair<std::string, std::string>> out;
  AppendParams(query, out);
  if (HasFormBody()) AppendParams(body, out);
  return out;
}

std::vector<std::string> HttpRequest::Params(std::string_view name) const {
  std::vector<std::string> out;
  for (auto& [k, v] : AllParams()) {
    if (k == name) out.push_back(std::move(v));
  }
  return out;
}

Status HttpRequest::StillWanted() const {
  if (std::chrono::steady_clock::now() >= deadline) {
    return DeadlineExceededError(
        "the request took longer than http.handler_timeout (" +
        FormatDuration(handler_timeout) + ")");
  }
  if (client_gone && client_gone()) {
    return UnavailableError("the client closed its connection");
  }
  return Status::Ok();
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

HttpServer::HttpServer(HttpServerOptions options)
    : options_(std::move(options)), auth_(options_.auth) {}

HttpServer::~HttpServer() { Stop(); }

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

size_t HttpServer::MaxBodyFor(const std::string& path) const {
  const Route_* route = Route(path);
  return route != nullptr && route->max_body_bytes != 0
             ? route->max_body_bytes
             : options_.max_body_bytes;
}

Status HttpServer::Start() {
  if (backend_ != nullptr) return FailedPreconditionError("already started");
  auto backend = std::make_unique<Backend>(*this);
  RW_RETURN_IF_ERROR(backend->Start());
  backend_ = std::move(backend);
  return Status::Ok();
}

void HttpServer::Stop() {
  // The backend (with its TLS context) lives until the destructor: other
  // threads may still ask for a certificate reload or the bound address.
  if (backend_ != nullptr) backend_->Stop();
}

Status HttpServer::ReloadTlsIfChanged() {
  return backend_ ? backend_->ReloadTlsIfChanged() : Status::Ok();
}

std::string HttpServer::BoundAddress() const {
  return backend_ ? backend_->BoundAddress() : std::string();
}

int HttpServer::BoundPort() const {
  return backend_ ? backend_->BoundPort() : 0;
}

HttpResponse HttpServer::Serve(HttpRequest& req) {
  const Route_* route = Route(req.path);
  const bool mutation = route != nullptr && route->role == Role::kAdmin;
  Access access = auth_.Check(req, route ? route->role : Role::kRead);
  req.principal = access.who;
  if (access.kind != Access::Kind::kOk) {
    int status = 403;
    if (access.kind == Access::Kind::kUnauthorized) status = 401;
    if (access.kind == Access::Kind::kRateLimited) status = 429;
    HttpResponse r = HttpResponse::Error(status, access.reason);
    if (status == 401) {
      r.headers.emplace_back("WWW-Authenticate",
                             "Basic realm=\"" + options_.realm + "\"");
    } else if (status == 429) {
      r.headers.emplace_back(
          "Retry-After", std::to_string(Authenticator::kFailureWindow.count()));
    }
    if (mutation) {
      JournalMutation(req, status, access.reason, options_.on_mutation);
    }
    return r;
  }

  if (route == nullptr)
    return HttpResponse::Error(404, "not found: " + req.path);
  if (std::find(route->methods.begin(), route->methods.end(), req.method) ==
      route->methods.end()) {
    std::string allow;
    for (size_t i = 0; i < route->methods.size(); ++i) {
      allow += (i ? ", " : "") + route->methods[i];
    }
    HttpResponse r = HttpResponse::Error(
        405, "method " + req.method + " not allowed; Allow: " + allow);
    r.headers.emplace_back("Allow", allow);
    return r;
  }
  HttpResponse resp = route->handler(req);
  if (mutation) {
    JournalMutation(req, resp.status, resp.status >= 400 ? resp.body : "",
                    options_.on_mutation);
  }
  return resp;
}

}  // namespace rigwatch
