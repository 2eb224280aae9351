// Who may make a request: Basic auth against bcrypt hashes (what Prometheus
// sends, checked as Prometheus' web config does), with a keyed cache of
// verified credentials and a per-address limit on failed logins.
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
#include <string>
#include <string_view>
#include <vector>

namespace rigwatch {

struct HttpRequest;

struct HttpUser {
  std::string name;
  std::string bcrypt_hash;
};

// Thread-safe.
class Authenticator {
 public:
  enum class Result { kOk, kDenied, kRateLimited };

  explicit Authenticator(std::vector<HttpUser> users);
  Authenticator(const Authenticator&) = delete;
  Authenticator& operator=(const Authenticator&) = delete;

  // kOk when no users are configured or the request's Basic credentials
  // match one; kRateLimited (without any password check) while its client
  // address has failed too often; kDenied otherwise. Never holds the lock
  // during bcrypt, so a guesser does not delay other requests.
  Result Check(const HttpRequest& req);

  // Swaps the users (config reload) and forgets what was verified.
  void SetUsers(std::vector<HttpUser> users);

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

  Mac CredentialMac(std::string_view user, std::string_view pass) const;
  bool RateLimited(const std::string& addr);
  void CountFailure(const std::string& addr);

  // Guards users_, verified_ and failures_; never held during bcrypt.
  std::mutex mu_;
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
  std::map<std::string, Failures> failures_by_addr_;
  std::atomic<uint64_t> failures_{0};
};

}  // namespace rigwatch

#endif  // RIGWATCH_AGENT_HTTP_AUTH_H_
