#include "agent/http/auth.h"

#include <arpa/inet.h>
#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <strings.h>

#include <cctype>
#include <optional>

#include "agent/common/log.h"
#include "agent/common/status.h"
#include "agent/http/server.h"

namespace rigwatch {
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

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(c));
  return out;
}

bool StartsWithNoCase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() &&
         strncasecmp(s.data(), prefix.data(), prefix.size()) == 0;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

std::string Hex(const unsigned char* p, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * n);
  for (size_t i = 0; i < n; ++i) {
    out += kDigits[p[i] >> 4];
    out += kDigits[p[i] & 15];
  }
  return out;
}

// `authority` (lower case) with the scheme's default port made explicit, so
// an Origin "http://a" equals a Host "a:80". IPv6 literals are bracketed.
std::string WithPort(std::string authority, std::string_view scheme) {
  const size_t bracket = authority.find(']');
  const size_t colon = authority.rfind(':');
  const bool has_port =
      colon != std::string::npos &&
      (bracket == std::string::npos ? authority.find(':') == colon
                                    : colon > bracket);
  if (!has_port) authority += scheme == "https" ? ":443" : ":80";
  return authority;
}

}  // namespace

std::string_view RoleName(Role role) {
  return role == Role::kAdmin ? "admin" : "read";
}

std::optional<Role> ParseRole(std::string_view name) {
  if (name == "read") return Role::kRead;
  if (name == "admin") return Role::kAdmin;
  return std::nullopt;
}

bool IsLoopbackAddress(std::string_view addr) {
  std::string a(addr);
  if (a.size() >= 2 && a.front() == '[' && a.back() == ']') {
    a = a.substr(1, a.size() - 2);
  }
  if (Lower(a) == "localhost") return true;
  in_addr v4{};
  if (inet_pton(AF_INET, a.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, a.c_str(), &v6) == 1) {
    if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
    return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
  }
  return false;
}

Access DecideAccess(Role required, const Presented& presented,
                    bool credentials_configured, bool admin_configured,
                    std::string_view remote_addr, bool allow_loopback_admin) {
  using K = Access::Kind;
  switch (presented.kind) {
    case Presented::Kind::kInvalid:
      return {K::kUnauthorized, "", "invalid credentials"};
    case Presented::Kind::kValid:
      if (required == Role::kAdmin && presented.role != Role::kAdmin) {
        return {K::kForbidden, presented.name,
                "\"" + presented.name + "\" has role " +
                    std::string(RoleName(presented.role)) +
                    "; this needs role admin"};
      }
      return {K::kOk, presented.name, ""};
    case Presented::Kind::kNone:
      break;
  }
  if (required == Role::kRead) {
    if (credentials_configured) {
      return {K::kUnauthorized, "",
              "credentials required (Basic or Bearer authorization)"};
    }
    return {K::kOk, "anonymous", ""};
  }
  if (allow_loopback_admin && IsLoopbackAddress(remote_addr)) {
    return {K::kOk, "loopback", ""};
  }
  if (!admin_configured) {
    return {K::kForbidden, "anonymous",
            "changes need an admin credential and none is configured "
            "(http.users or http.tokens with role: admin); unauthenticated "
            "loopback clients only with http.allow_loopback_admin: true"};
  }
  return {K::kUnauthorized, "", "this needs an admin credential"};
}

bool IsBrowserRequest(const HttpRequest& req) {
  return !req.Header("Origin").empty() || !req.Header("Cookie").empty() ||
         !req.Header("Sec-Fetch-Site").empty();
}

bool IsCrossOrigin(const HttpRequest& req) {
  std::string_view origin = Trim(req.Header("Origin"));
  if (!origin.empty()) {
    // "null" (sandboxed frames, file: pages) and garbage are foreign.
    const size_t sep = origin.find("://");
    if (sep == std::string_view::npos) return true;
    const std::string scheme = Lower(origin.substr(0, sep));
    std::string o = Lower(origin.substr(sep + 3));
    if (!o.empty() && o.back() == '/') o.pop_back();
    return WithPort(o, scheme) !=
           WithPort(Lower(Trim(req.Header("Host"))), scheme);
  }
  std::string site = Lower(Trim(req.Header("Sec-Fetch-Site")));
  return site == "cross-site" || site == "same-site";
}

Authenticator::Authenticator(AuthSettings settings) {
  if (RAND_bytes(mac_key_.data(), static_cast<int>(mac_key_.size())) != 1) {
    // Without a random key the cache would be a fast oracle: never use it.
    AbortWithMessage("RAND_bytes failed: ", "no key for the auth cache");
  }
  SetSettings(std::move(settings));
}

void Authenticator::SetSettings(AuthSettings settings) {
  std::vector<TokenMac> tokens;
  for (HttpToken& t : settings.tokens) {
    tokens.push_back({t.name, KeyedMac("\x01token", t.token), t.role});
    OPENSSL_cleanse(t.token.data(), t.token.size());
  }
  std::lock_guard<std::mutex> l(mu_);
  users_ = std::move(settings.users);
  tokens_ = std::move(tokens);
  allow_loopback_admin_ = settings.allow_loopback_admin;
  verified_.clear();
  ++users_generation_;
}

std::string Authenticator::CsrfToken(std::string_view who) const {
  Mac m = KeyedMac("\x02csrf", who);
  return Hex(m.data(), m.size());
}

std::vector<std::string> Authenticator::CredentialCacheForTest() {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<std::string> out;
  for (const auto& [user, mac] : verified_) {
    out.emplace_back(reinterpret_cast<const char*>(mac.data()), mac.size());
  }
  return out;
}

Authenticator::Mac Authenticator::KeyedMac(std::string_view a,
                                           std::string_view b) const {
  Mac out{};
  unsigned int len = 0;
  std::string msg;
  msg.reserve(a.size() + 1 + b.size());
  msg.append(a).append(1, ':').append(b);
  HMAC(EVP_sha256(), mac_key_.data(), static_cast<int>(mac_key_.size()),
       reinterpret_cast<const unsigned char*>(msg.data()), msg.size(),
       out.data(), &len);
  OPENSSL_cleanse(msg.data(), msg.size());
  return out;
}

bool Authenticator::RateLimited(const std::string& addr) {
  auto it = failures_by_addr_.find(addr);
  if (it == failures_by_addr_.end()) return false;
  if (std::chrono::steady_clock::now() - it->second.window_start >=
      kFailureWindow) {
    failures_by_addr_.erase(it);
    return false;
  }
  return it->second.count >= kFailuresPerWindow;
}

void Authenticator::CountFailure(const std::string& addr) {
  failures_.fetch_add(1);
  const auto now = std::chrono::steady_clock::now();
  if (failures_by_addr_.size() >= kMaxFailureEntries &&
      !failures_by_addr_.count(addr)) {
    std::erase_if(failures_by_addr_, [&](const auto& e) {
      return now - e.second.window_start >= kFailureWindow;
    });
    if (failures_by_addr_.size() >= kMaxFailureEntries) {
      failures_by_addr_.clear();
    }
  }
  Failures& f = failures_by_addr_[addr];
  if (f.count == 0 || now - f.window_start >= kFailureWindow) {
    f = Failures{0, now};
  }
  if (++f.count == kFailuresPerWindow) {
    LogWarn("http_auth_rate_limited")
        .Kv("remote", addr)
        .Kv("failures", f.count)
        .Kv("for", std::to_string(kFailureWindow.count()) + "s");
  }
}

Access Authenticator::Check(const HttpRequest& req, Role required) {
  bool configured = false;
  bool admin_configured = false;
  bool allow_loopback = false;
  {
    std::lock_guard<std::mutex> l(mu_);
    configured = !users_.empty() || !tokens_.empty();
    for (const HttpUser& u : users_) admin_configured |= u.role == Role::kAdmin;
    for (const TokenMac& t : tokens_) {
      admin_configured |= t.role == Role::kAdmin;
    }
    allow_loopback = allow_loopback_admin_;
    if (configured && RateLimited(req.remote_addr)) {
      failures_.fetch_add(1);
      return {Access::Kind::kRateLimited, "",
              "too many failed logins from this address; retry later"};
    }
  }
  Presented p;
  if (configured) {
    std::string_view h = Trim(req.Header("Authorization"));
    if (StartsWithNoCase(h, "Basic ")) {
      p = CheckBasic(req, Trim(h.substr(6)));
    } else if (StartsWithNoCase(h, "Bearer ")) {
      p = CheckBearer(req, Trim(h.substr(7)));
    }
  }
  Access a = DecideAccess(required, p, configured, admin_configured,
                          req.remote_addr, allow_loopback);
  // No credentials at all is how every browser starts: counted, but it is
  // not a guess, so it does not use up the address' allowance (wrong ones
  // were counted by CheckBasic/CheckBearer).
  if (a.kind == Access::Kind::kUnauthorized &&
      p.kind == Presented::Kind::kNone) {
    failures_.fetch_add(1);
  }
  if (a.kind != Access::Kind::kOk) return a;
  if (req.method != "GET" && req.method != "HEAD" && IsBrowserRequest(req)) {
    std::string given(Trim(req.Header("X-CSRF-Token")));
    if (given.empty()) given = req.Param("csrf_token").value_or("");
    const std::string want = CsrfToken(a.who);
    if (!ConstantTimeEquals(given, want)) {
      const std::string how =
          "; get one from GET /api/v1/csrf and send it in the X-CSRF-Token "
          "header or the csrf_token parameter (query or form field)";
      if (IsCrossOrigin(req)) {
        return {Access::Kind::kForbidden, a.who,
                "cross-origin request (Origin \"" +
                    std::string(req.Header("Origin")) + "\", Host \"" +
                    std::string(req.Header("Host")) +
                    "\") without a valid CSRF token" + how};
      }
      return {Access::Kind::kForbidden, a.who,
              "browser request without a valid CSRF token" + how};
    }
  }
  return a;
}

Presented Authenticator::CheckBearer(const HttpRequest& req,
                                     std::string_view token) {
  const Mac mac = KeyedMac("\x01token", token);
  std::lock_guard<std::mutex> l(mu_);
  // Every configured token is compared, in constant time each, so the
  // answer's timing says nothing about which one came close.
  const TokenMac* match = nullptr;
  for (const TokenMac& t : tokens_) {
    if (CRYPTO_memcmp(t.mac.data(), mac.data(), mac.size()) == 0) match = &t;
  }
  if (token.empty() || match == nullptr) {
    CountFailure(req.remote_addr);
    return {Presented::Kind::kInvalid, "", Role::kRead};
  }
  return {Presented::Kind::kValid, match->name, match->role};
}

Presented Authenticator::CheckBasic(const HttpRequest& req,
                                    std::string_view encoded) {
  std::string hash;  // the user's bcrypt hash, or a stand-in of equal cost
  bool known = false;
  Role role = Role::kRead;
  uint64_t generation = 0;
  std::string user, pass;
  Mac mac{};
  {
    std::optional<std::string> decoded = Base64Decode(encoded);
    size_t colon = decoded ? decoded->find(':') : std::string::npos;
    if (colon == std::string::npos) {
      if (decoded) OPENSSL_cleanse(decoded->data(), decoded->size());
      return {};  // not a credential at all
    }
    user = decoded->substr(0, colon);
    pass = decoded->substr(colon + 1);
    OPENSSL_cleanse(decoded->data(), decoded->size());
    mac = KeyedMac(user, pass);
    std::lock_guard<std::mutex> l(mu_);
    auto v = verified_.find(user);
    if (v != verified_.end() &&
        CRYPTO_memcmp(v->second.data(), mac.data(), mac.size()) == 0) {
      OPENSSL_cleanse(pass.data(), pass.size());
      for (const HttpUser& u : users_) {
        if (u.name == user) return {Presented::Kind::kValid, user, u.role};
      }
    }
    // An unknown user is checked against the costliest configured hash, so
    // it takes as long as a known one and names cannot be found by timing.
    for (const HttpUser& u : users_) {
      if (u.name == user) {
        hash = u.bcrypt_hash;
        role = u.role;
        known = true;
        break;
      }
      if (hash.empty() || BcryptCost(u.bcrypt_hash) > BcryptCost(hash)) {
        hash = u.bcrypt_hash;
      }
    }
    generation = users_generation_;
  }
  if (hash.empty()) {
    // Only tokens are configured: nothing to run bcrypt against.
    OPENSSL_cleanse(pass.data(), pass.size());
    std::lock_guard<std::mutex> l(mu_);
    CountFailure(req.remote_addr);
    return {Presented::Kind::kInvalid, "", Role::kRead};
  }
  // bcrypt without the lock: a guesser must not delay other requests.
  crypt_data data{};
  const char* out = crypt_r(pass.c_str(), hash.c_str(), &data);
  OPENSSL_cleanse(pass.data(), pass.size());
  const bool ok =
      known && out != nullptr && out[0] != '*' && ConstantTimeEquals(out, hash);
  OPENSSL_cleanse(&data, sizeof data);
  std::lock_guard<std::mutex> l(mu_);
  if (!ok) {
    CountFailure(req.remote_addr);
    return {Presented::Kind::kInvalid, "", Role::kRead};
  }
  if (generation == users_generation_) verified_[user] = mac;
  return {Presented::Kind::kValid, user, role};
}

}  // namespace rigwatch
