// Who may make a request, and with which role.
//
// Credentials: Basic auth against bcrypt hashes (what Prometheus sends,
// checked as Prometheus' web config does) and bearer tokens (for scripts).
// Each carries a role: `read` (GET /metrics and the read API) or `admin`
// (every mutation as well). Verified Basic credentials are cached as an HMAC
// under a per-process random key, never as plaintext; tokens are kept only as
// such an HMAC too. Failed logins are limited per client address.
//
// Mutations (admin routes) need an admin credential, or a loopback client
// when `allow_loopback_admin` is set; a browser-made mutation (Origin,
// Cookie or Sec-Fetch-Site present) must also carry the CSRF token of its
// principal (docs/security.md).
//
// The HttpServer owns one Authenticator and asks it about every request
// before routing; nothing here knows about sockets.
#ifndef RIGWATCH_AGENT_HTTP_AUTH_H_
#define RIGWATCH_AGENT_HTTP_AUTH_H_

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rigwatch {

struct HttpRequest;

enum class Role { kRead, kAdmin };
std::string_view RoleName(Role role);  // "read", "admin"
std::optional<Role> ParseRole(std::string_view name);

struct HttpUser {
  std::string name;
  std::string bcrypt_hash;
  Role role = Role::kRead;
};

struct HttpToken {
  std::string name;
  std::string token;  // the secret; the Authenticator keeps only its HMAC
  Role role = Role::kRead;
};

struct AuthSettings {
  std::vector<HttpUser> users;
  std::vector<HttpToken> tokens;
  // Unauthenticated clients on 127.0.0.0/8 or ::1 may use admin routes.
  bool allow_loopback_admin = false;
};

// True for 127.0.0.0/8, ::1 and ::ffff:127.x.y.z (a client address or a
// listen host; "localhost" too). Brackets around IPv6 are allowed.
bool IsLoopbackAddress(std::string_view addr);

// The outcome of asking about one request.
struct Access {
  enum class Kind {
    kOk,
    kUnauthorized,  // 401: missing or wrong credentials
    kForbidden,     // 403: authenticated, or anonymous, but not allowed
    kRateLimited,   // 429: the client address failed too often
  };
  Kind kind = Kind::kOk;
  // Who made the request: the user or token name, "loopback" (admin by
  // allow_loopback_admin) or "anonymous" (no credentials configured).
  std::string who;
  std::string reason;  // why it was refused, for the JSON error body
};

// The credential a request presented, once checked.
struct Presented {
  enum class Kind { kNone, kValid, kInvalid };
  Kind kind = Kind::kNone;
  std::string name;
  Role role = Role::kRead;
};

// The access policy, pure so that it can be tested with any client address
// (tests may only send traffic from loopback). `credentials_configured`:
// some user or token exists; `admin_configured`: one of them is an admin.
Access DecideAccess(Role required, const Presented& presented,
                    bool credentials_configured, bool admin_configured,
                    std::string_view remote_addr, bool allow_loopback_admin);

// True when a request looks made by a browser (Origin, Cookie or
// Sec-Fetch-Site present): such a mutation must carry the CSRF token.
bool IsBrowserRequest(const HttpRequest& req);
// True when Origin names another host:port than Host, or Sec-Fetch-Site says
// "cross-site" or "same-site" and there is no Origin matching Host.
bool IsCrossOrigin(const HttpRequest& req);

// Thread-safe.
class Authenticator {
 public:
  explicit Authenticator(AuthSettings settings);
  Authenticator(const Authenticator&) = delete;
  Authenticator& operator=(const Authenticator&) = delete;

  // Decides one request for a route that needs `required`. Checks the
  // request's Basic or Bearer credentials (bcrypt without the lock, so a
  // guesser does not delay other requests), applies DecideAccess, and for a
  // browser-made request with a method other than GET/HEAD, the CSRF token
  // (header X-CSRF-Token, or parameter csrf_token in the query or an HTML
  // form body: HttpRequest::AllParams).
  Access Check(const HttpRequest& req, Role required);

  // The CSRF token of a principal (Access::who): an HMAC under the process
  // key, hex. Stable for the life of the process.
  std::string CsrfToken(std::string_view who) const;

  // Swaps the credentials (config reload) and forgets what was verified.
  void SetSettings(AuthSettings settings);

  // Requests refused for bad or missing credentials, and for coming from an
  // address that failed too often (rigwatch_http_auth_failures_total).
  uint64_t failures() const { return failures_.load(); }
  // For tests: the bytes the credential cache holds, one entry per user.
  std::vector<std::string> CredentialCacheForTest();

  // Failed logins one client address may make per window before it gets
  // 429 without any password check until the window ends.
  static constexpr int kFailuresPerWindow = 10;
  static constexpr std::chrono::seconds kFailureWindow{60};

 private:
  using Mac = std::array<unsigned char, 32>;

  Mac KeyedMac(std::string_view a, std::string_view b) const;
  bool RateLimited(const std::string& addr);
  void CountFailure(const std::string& addr);
  Presented CheckBasic(const HttpRequest& req, std::string_view encoded);
  Presented CheckBearer(const HttpRequest& req, std::string_view token);

  struct TokenMac {
    std::string name;
    Mac mac;
    Role role;
  };

  // Guards everything below but the key; never held during bcrypt.
  std::mutex mu_;
  std::vector<HttpUser> users_;
  std::vector<TokenMac> tokens_;
  bool allow_loopback_admin_ = false;
  uint64_t users_generation_ = 0;  // bumped by SetSettings
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
  std::map<std::string, Failures> failures_by_addr_;
  std::atomic<uint64_t> failures_{0};
};

}  // namespace rigwatch

#endif  // RIGWATCH_AGENT_HTTP_AUTH_H_
