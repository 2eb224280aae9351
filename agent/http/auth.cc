#include "agent/http/auth.h"

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <strings.h>

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

}  // namespace

Authenticator::Authenticator(std::vector<HttpUser> users)
    : users_(std::move(users)) {
  if (RAND_bytes(mac_key_.data(), static_cast<int>(mac_key_.size())) != 1) {
    // Without a random key the cache would be a fast oracle: never use it.
    AbortWithMessage("RAND_bytes failed: ", "no key for the auth cache");
  }
}

void Authenticator::SetUsers(std::vector<HttpUser> users) {
  std::lock_guard<std::mutex> l(mu_);
  users_ = std::move(users);
  verified_.clear();
  ++users_generation_;
}

std::vector<std::string> Authenticator::CredentialCacheForTest() {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<std::string> out;
  for (const auto& [user, mac] : verified_) {
    out.emplace_back(reinterpret_cast<const char*>(mac.data()), mac.size());
  }
  return out;
}

Authenticator::Mac Authenticator::CredentialMac(std::string_view user,
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

Authenticator::Result Authenticator::Check(const HttpRequest& req) {
  std::string hash;  // the user's bcrypt hash, or a stand-in of equal cost
  bool known = false;
  uint64_t generation = 0;
  std::string user, pass;
  Mac mac{};
  {
    std::lock_guard<std::mutex> l(mu_);
    if (users_.empty()) return Result::kOk;
    if (RateLimited(req.remote_addr)) {
      failures_.fetch_add(1);
      return Result::kRateLimited;
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
      failures_.fetch_add(1);
      return Result::kDenied;
    }
    user = decoded->substr(0, colon);
    pass = decoded->substr(colon + 1);
    OPENSSL_cleanse(decoded->data(), decoded->size());
    mac = CredentialMac(user, pass);
    auto v = verified_.find(user);
    if (v != verified_.end() &&
        CRYPTO_memcmp(v->second.data(), mac.data(), mac.size()) == 0) {
      OPENSSL_cleanse(pass.data(), pass.size());
      return Result::kOk;
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
  std::lock_guard<std::mutex> l(mu_);
  if (!ok) {
    CountFailure(req.remote_addr);
    return Result::kDenied;
  }
  if (generation == users_generation_) verified_[user] = mac;
  return Result::kOk;
}

}  // namespace rigwatch
