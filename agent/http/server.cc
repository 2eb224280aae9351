#include "agent/http/server.h"

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <strings.h>
#include <zlib.h>

#include <algorithm>
#include <cstring>

#include "agent/common/log.h"
#include "agent/http/backend.h"

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

std::vector<std::string> HttpRequest::Params(std::string_view name) const {
  std::vector<std::string> out;
  std::string_view q = query;
  while (!q.empty()) {
    size_t amp = q.find('&');
    std::string_view part = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view() : q.substr(amp + 1);
    size_t eq = part.find('=');
    std::string key = UrlDecode(part.substr(0, eq));
    if (key != name) continue;
    out.push_back(eq == std::string_view::npos
                      ? std::string()
                      : UrlDecode(part.substr(eq + 1)));
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

// Address entries the failure table may hold; past this, expired windows
// are dropped, and if none has expired the table starts over.
constexpr size_t kMaxFailureEntries = 10000;

// The cost of a "$2b$10$..." hash; 0 when it is not one.
int BcryptCost(std::string_view h) {
  if (h.size() < 7 || h[0] != '$' || h[3] != '$' || h[6] != '$') return 0;
  if (h[4] < '0' || h[4] > '9' || h[5] < '0' || h[5] > '9') return 0;
  return (h[4] - '0') * 10 + (h[5] - '0');
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  }
  return diff == 0;
}

}  // namespace

HttpServer::HttpServer(HttpServerOptions options)
    : options_(std::move(options)), users_(options_.users) {
  if (RAND_bytes(mac_key_.data(), static_cast<int>(mac_key_.size())) != 1) {
    // Without a random key the cache would be a fast oracle: never use it.
    AbortWithMessage("RAND_bytes failed: ", "no key for the auth cache");
  }
}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Handle(std::string path, HttpHandler handler,
                        std::vector<std::string> methods) {
  if (std::find(methods.begin(), methods.end(), "GET") != methods.end() &&
      std::find(methods.begin(), methods.end(), "HEAD") == methods.end()) {
    methods.push_back("HEAD");
  }
  Route_ r{std::move(handler), std::move(methods)};
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

void HttpServer::SetUsers(std::vector<HttpUser> users) {
  std::lock_guard<std::mutex> l(auth_mu_);
  users_ = std::move(users);
  verified_.clear();
  ++users_generation_;
}

std::vector<std::string> HttpServer::CredentialCacheForTest() {
  std::lock_guard<std::mutex> l(auth_mu_);
  std::vector<std::string> out;
  for (const auto& [user, mac] : verified_) {
    out.emplace_back(reinterpret_cast<const char*>(mac.data()), mac.size());
  }
  return out;
}

HttpServer::Mac HttpServer::CredentialMac(std::string_view user,
                                          std::string_view pass) const {
  Mac out{};
  unsigned int len = 0;
  std::string msg;
  msg.reserve(user.size() + 1 + pass.size());
  msg.append(user).append(1, ':').append(pass);
  HMAC(EVP_sha256(), mac_key_.data(), static_cast<int>(mac_key_.size()),
       reinterpret_cast<const unsigned char*>(msg.data()), msg.size(),
       out.data(), &len);
  OPENSSL_cleanse(msg.data(), msg.size());
  return out;
}

bool HttpServer::RateLimited(const std::string& addr) {
  auto it = failures_.find(addr);
  if (it == failures_.end()) return false;
  if (std::chrono::steady_clock::now() - it->second.window_start >=
      kAuthFailureWindow) {
    failures_.erase(it);
    return false;
  }
  return it->second.count >= kAuthFailuresPerWindow;
}

void HttpServer::CountFailure(const std::string& addr) {
  auth_failures_.fetch_add(1);
  const auto now = std::chrono::steady_clock::now();
  if (failures_.size() >= kMaxFailureEntries && !failures_.count(addr)) {
    std::erase_if(failures_, [&](const auto& e) {
      return now - e.second.window_start >= kAuthFailureWindow;
    });
    if (failures_.size() >= kMaxFailureEntries) failures_.clear();
  }
  Failures& f = failures_[addr];
  if (f.count == 0 || now - f.window_start >= kAuthFailureWindow) {
    f = Failures{0, now};
  }
  if (++f.count == kAuthFailuresPerWindow) {
    LogWarn("http_auth_rate_limited")
        .Kv("remote", addr)
        .Kv("failures", f.count)
        .Kv("for", std::to_string(kAuthFailureWindow.count()) + "s");
  }
}

HttpServer::AuthResult HttpServer::Authorized(const HttpRequest& req) {
  std::string hash;  // the user's bcrypt hash, or a stand-in of equal cost
  bool known = false;
  uint64_t generation = 0;
  std::string user, pass;
  Mac mac{};
  {
    std::lock_guard<std::mutex> l(auth_mu_);
    if (users_.empty()) return AuthResult::kOk;
    if (RateLimited(req.remote_addr)) {
      auth_failures_.fetch_add(1);
      return AuthResult::kRateLimited;
    }
    std::string_view h = req.Header("Authorization");
    std::optional<std::string> decoded;
    if (h.size() >= 6 && strncasecmp(h.data(), "Basic ", 6) == 0) {
      decoded = Base64Decode(h.substr(6));
    }
    size_t colon = decoded ? decoded->find(':') : std::string::npos;
    if (colon == std::string::npos) {
      if (decoded) OPENSSL_cleanse(decoded->data(), decoded->size());
      // No credentials at all is how every browser starts: counted, but it
      // is not a guess, so it does not use up the address' allowance.
      auth_failures_.fetch_add(1);
      return AuthResult::kDenied;
    }
    user = decoded->substr(0, colon);
    pass = decoded->substr(colon + 1);
    OPENSSL_cleanse(decoded->data(), decoded->size());
    mac = CredentialMac(user, pass);
    auto v = verified_.find(user);
    if (v != verified_.end() &&
        CRYPTO_memcmp(v->second.data(), mac.data(), mac.size()) == 0) {
      OPENSSL_cleanse(pass.data(), pass.size());
      return AuthResult::kOk;
    }
    // An unknown user is checked against the costliest configured hash, so
    // it takes as long as a known one and names cannot be found by timing.
    for (const HttpUser& u : users_) {
      if (u.name == user) {
        hash = u.bcrypt_hash;
        known = true;
        break;
      }
      if (hash.empty() || BcryptCost(u.bcrypt_hash) > BcryptCost(hash)) {
        hash = u.bcrypt_hash;
      }
    }
    generation = users_generation_;
  }
  // bcrypt without the lock: a guesser must not delay other requests.
  crypt_data data{};
  const char* out = crypt_r(pass.c_str(), hash.c_str(), &data);
  OPENSSL_cleanse(pass.data(), pass.size());
  const bool ok =
      known && out != nullptr && out[0] != '*' && ConstantTimeEquals(out, hash);
  OPENSSL_cleanse(&data, sizeof data);
  std::lock_guard<std::mutex> l(auth_mu_);
  if (!ok) {
    CountFailure(req.remote_addr);
    return AuthResult::kDenied;
  }
  if (generation == users_generation_) verified_[user] = mac;
  return AuthResult::kOk;
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

HttpResponse HttpServer::Serve(const HttpRequest& req) {
  switch (Authorized(req)) {
    case AuthResult::kOk:
      break;
    case AuthResult::kDenied: {
      HttpResponse r = HttpResponse::Text(401, "Unauthorized\n");
      r.headers.emplace_back("WWW-Authenticate",
                             "Basic realm=\"" + options_.realm + "\"");
      return r;
    }
    case AuthResult::kRateLimited: {
      HttpResponse r = HttpResponse::Text(
          429, "too many failed logins from this address; retry later\n");
      r.headers.emplace_back("Retry-After",
                             std::to_string(kAuthFailureWindow.count()));
      return r;
    }
  }

  const Route_* route = Route(req.path);
  if (route == nullptr) return HttpResponse::Text(404, "not found\n");
  if (std::find(route->methods.begin(), route->methods.end(), req.method) ==
      route->methods.end()) {
    std::string allow;
    for (size_t i = 0; i < route->methods.size(); ++i) {
      allow += (i ? ", " : "") + route->methods[i];
    }
    HttpResponse r = HttpResponse::Text(
        405, "method " + req.method + " not allowed; Allow: " + allow + "\n");
    r.headers.emplace_back("Allow", allow);
    return r;
  }
  return route->handler(req);
}

}  // namespace rigwatch
