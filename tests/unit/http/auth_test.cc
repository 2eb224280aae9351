// The access policy and the Authenticator without a server: roles, tokens,
// loopback admin for any client address (tests may only send traffic from
// loopback, so non-loopback clients are tried here), and the CSRF rule.
#include "agent/http/auth.h"

#include <gtest/gtest.h>

#include <string>

#include "agent/http/server.h"

namespace rigwatch {
namespace {

using K = Access::Kind;

// bcrypt of "s3cret" (cost 4), made with glibc crypt("$2b$04$...").
constexpr char kHash[] =
    "$2b$04$abcdefghijklmnopqrstuuLZYjhNQAOdpbzt4WxWlUHjv1wsyH5DG";
constexpr char kAdminToken[] = "0123456789abcdef0123456789abcdef";
constexpr char kReadToken[] = "fedcba9876543210fedcba9876543210";

const Presented kNone{};
const Presented kBad{Presented::Kind::kInvalid, "", Role::kRead};
const Presented kReader{Presented::Kind::kValid, "prom", Role::kRead};
const Presented kAdmin{Presented::Kind::kValid, "ops", Role::kAdmin};

HttpRequest Req(std::string method, std::string remote,
                std::vector<std::pair<std::string, std::string>> headers = {},
                std::string query = "") {
  HttpRequest r;
  r.method = std::move(method);
  r.path = "/api/v1/mute";
  r.remote_addr = std::move(remote);
  r.headers = std::move(headers);
  r.query = std::move(query);
  return r;
}

TEST(LoopbackTest, Addresses) {
  for (const char* a : {"127.0.0.1", "127.1.2.3", "::1", "[::1]",
                        "::ffff:127.0.0.1", "localhost"}) {
    EXPECT_TRUE(IsLoopbackAddress(a)) << a;
  }
  for (const char* a :
       {"10.0.0.5", "192.168.1.20", "0.0.0.0", "::", "::ffff:10.0.0.1",
        "fe80::1", "128.0.0.1", "", "127.0.0.1.evil", "2001:db8::1"}) {
    EXPECT_FALSE(IsLoopbackAddress(a)) << a;
  }
}

TEST(DecideAccessTest, NoAdminConfiguredRefusesEveryRemoteMutation) {
  for (const char* remote : {"10.0.0.5", "192.168.1.20", "2001:db8::1",
                             "::ffff:10.0.0.1", "0.0.0.0"}) {
    // Nothing configured, loopback admin allowed: still refused from afar.
    Access a = DecideAccess(Role::kAdmin, kNone, false, false, remote, true);
    EXPECT_EQ(a.kind, K::kForbidden) << remote;
    EXPECT_NE(a.reason.find("none is configured"), std::string::npos);
    // Only read users configured: anonymous refused, readers refused.
    EXPECT_EQ(DecideAccess(Role::kAdmin, kNone, true, false, remote, true).kind,
              K::kForbidden)
        << remote;
    EXPECT_EQ(
        DecideAccess(Role::kAdmin, kReader, true, false, remote, true).kind,
        K::kForbidden)
        << remote;
    // Reads stay open when nothing is configured.
    EXPECT_EQ(DecideAccess(Role::kRead, kNone, false, false, remote, true).kind,
              K::kOk);
  }
}

TEST(DecideAccessTest, LoopbackAdminOnlyWhenAllowed) {
  Access a = DecideAccess(Role::kAdmin, kNone, false, false, "127.0.0.1", true);
  EXPECT_EQ(a.kind, K::kOk);
  EXPECT_EQ(a.who, "loopback");
  EXPECT_EQ(DecideAccess(Role::kAdmin, kNone, false, false, "::1", true).kind,
            K::kOk);
  EXPECT_EQ(
      DecideAccess(Role::kAdmin, kNone, false, false, "127.0.0.1", false).kind,
      K::kForbidden);
  // A presented read credential keeps its role, on loopback too.
  EXPECT_EQ(
      DecideAccess(Role::kAdmin, kReader, true, true, "127.0.0.1", true).kind,
      K::kForbidden);
}

TEST(DecideAccessTest, Roles) {
  for (const char* remote : {"10.0.0.5", "127.0.0.1"}) {
    EXPECT_EQ(
        DecideAccess(Role::kRead, kReader, true, true, remote, false).kind,
        K::kOk);
    Access r = DecideAccess(Role::kAdmin, kReader, true, true, remote, false);
    EXPECT_EQ(r.kind, K::kForbidden);
    EXPECT_EQ(r.reason, "\"prom\" has role read; this needs role admin");
    Access a = DecideAccess(Role::kAdmin, kAdmin, true, true, remote, false);
    EXPECT_EQ(a.kind, K::kOk);
    EXPECT_EQ(a.who, "ops");
    EXPECT_EQ(DecideAccess(Role::kRead, kBad, true, true, remote, true).kind,
              K::kUnauthorized);
    EXPECT_EQ(DecideAccess(Role::kAdmin, kBad, true, true, remote, true).kind,
              K::kUnauthorized);
    // Credentials configured, none sent: 401 so that a browser asks.
    EXPECT_EQ(DecideAccess(Role::kRead, kNone, true, true, remote, false).kind,
              K::kUnauthorized);
    EXPECT_EQ(DecideAccess(Role::kAdmin, kNone, true, true, remote, false).kind,
              K::kUnauthorized);
  }
}

TEST(AuthenticatorTest, BearerTokensAndRoles) {
  AuthSettings s;
  s.users = {{"prom", kHash, Role::kRead}};
  s.tokens = {{"ci", kAdminToken, Role::kAdmin},
              {"grafana", kReadToken, Role::kRead}};
  Authenticator auth(s);
  auto bearer = [](const std::string& t) {
    return std::vector<std::pair<std::string, std::string>>{
        {"Authorization", "Bearer " + t}};
  };
  Access a =
      auth.Check(Req("POST", "10.0.0.5", bearer(kAdminToken)), Role::kAdmin);
  EXPECT_EQ(a.kind, K::kOk);
  EXPECT_EQ(a.who, "ci");
  EXPECT_EQ(
      auth.Check(Req("POST", "10.0.0.5", bearer(kReadToken)), Role::kAdmin)
          .kind,
      K::kForbidden);
  EXPECT_EQ(
      auth.Check(Req("GET", "10.0.0.5", bearer(kReadToken)), Role::kRead).kind,
      K::kOk);
  EXPECT_EQ(auth.Check(Req("POST", "10.0.0.5", bearer("nope-nope-nope-nope")),
                       Role::kAdmin)
                .kind,
            K::kUnauthorized);
  EXPECT_EQ(auth.Check(Req("GET", "10.0.0.5", bearer("")), Role::kRead).kind,
            K::kUnauthorized);
  // Basic for the read user: role read.
  Access b = auth.Check(
      Req("POST", "10.0.0.6", {{"Authorization", "Basic cHJvbTpzM2NyZXQ="}}),
      Role::kAdmin);
  EXPECT_EQ(b.kind, K::kForbidden);
  EXPECT_EQ(b.who, "prom");
}

TEST(AuthenticatorTest, TokensAreNotKeptInPlaintext) {
  AuthSettings s;
  s.tokens = {{"ci", kAdminToken, Role::kAdmin}};
  Authenticator auth(s);
  // The settings' copy is wiped when taken over; the token still works.
  EXPECT_EQ(
      auth.Check(Req("POST", "127.0.0.1",
                     {{"Authorization", std::string("Bearer ") + kAdminToken}}),
                 Role::kAdmin)
          .kind,
      K::kOk);
}

TEST(AuthenticatorTest, BrowserMutationsNeedTheCsrfToken) {
  AuthSettings s;
  s.allow_loopback_admin = true;
  Authenticator auth(s);
  const std::string token = auth.CsrfToken("loopback");
  EXPECT_EQ(token.size(), 64u);
  EXPECT_NE(token, auth.CsrfToken("ops"));
  // A script: no Origin, no cookie, no CSRF token needed.
  EXPECT_EQ(auth.Check(Req("POST", "127.0.0.1"), Role::kAdmin).kind, K::kOk);
  // A cross-origin form post.
  Access x = auth.Check(
      Req("POST", "127.0.0.1",
          {{"Origin", "http://evil.example"}, {"Host", "127.0.0.1:9842"}}),
      Role::kAdmin);
  EXPECT_EQ(x.kind, K::kForbidden);
  EXPECT_NE(x.reason.find("cross-origin"), std::string::npos) << x.reason;
  // Same origin, but a browser: still needs it.
  Access same = auth.Check(
      Req("POST", "127.0.0.1",
          {{"Origin", "http://127.0.0.1:9842"}, {"Host", "127.0.0.1:9842"}}),
      Role::kAdmin);
  EXPECT_EQ(same.kind, K::kForbidden);
  EXPECT_NE(same.reason.find("browser request"), std::string::npos);
  // With the token, in the header or the query.
  EXPECT_EQ(auth.Check(Req("POST", "127.0.0.1",
                           {{"Origin", "http://evil.example"},
                            {"Host", "127.0.0.1:9842"},
                            {"X-CSRF-Token", token}}),
                       Role::kAdmin)
                .kind,
            K::kOk);
  EXPECT_EQ(auth.Check(Req("DELETE", "127.0.0.1",
                           {{"Cookie", "a=b"}, {"Host", "127.0.0.1:9842"}},
                           "target=x&csrf_token=" + token),
                       Role::kAdmin)
                .kind,
            K::kOk);
  // Another principal's token does not do.
  EXPECT_EQ(auth.Check(Req("POST", "127.0.0.1",
                           {{"Sec-Fetch-Site", "cross-site"},
                            {"X-CSRF-Token", auth.CsrfToken("ops")}}),
                       Role::kAdmin)
                .kind,
            K::kForbidden);
  // Reads from a browser need nothing.
  EXPECT_EQ(
      auth.Check(Req("GET", "127.0.0.1", {{"Origin", "http://evil.example"}}),
                 Role::kRead)
          .kind,
      K::kOk);
}

TEST(CrossOriginTest, OriginAgainstHost) {
  auto req = [](std::string origin, std::string host, std::string site = "") {
    HttpRequest r;
    if (!origin.empty()) r.headers.emplace_back("Origin", origin);
    if (!host.empty()) r.headers.emplace_back("Host", host);
    if (!site.empty()) r.headers.emplace_back("Sec-Fetch-Site", site);
    return r;
  };
  EXPECT_FALSE(IsCrossOrigin(req("http://127.0.0.1:9842", "127.0.0.1:9842")));
  EXPECT_FALSE(IsCrossOrigin(req("http://Rig.Local", "rig.local:80")));
  EXPECT_FALSE(IsCrossOrigin(req("https://rig.local", "rig.local:443")));
  EXPECT_FALSE(IsCrossOrigin(req("http://[::1]:9842", "[::1]:9842")));
  EXPECT_TRUE(IsCrossOrigin(req("http://evil.example", "127.0.0.1:9842")));
  EXPECT_TRUE(IsCrossOrigin(req("http://127.0.0.1:9843", "127.0.0.1:9842")));
  EXPECT_TRUE(IsCrossOrigin(req("null", "127.0.0.1:9842")));
  EXPECT_TRUE(IsCrossOrigin(req("", "127.0.0.1:9842", "cross-site")));
  EXPECT_FALSE(IsCrossOrigin(req("", "127.0.0.1:9842", "same-origin")));
  EXPECT_FALSE(IsCrossOrigin(req("", "127.0.0.1:9842")));
}

}  // namespace
}  // namespace rigwatch
