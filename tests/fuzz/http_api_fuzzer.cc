// Fuzz target for what the agent parses from an HTTP request before any
// handler logic: the query (HttpRequest::Param/Params, UrlDecode), Base64 and
// the Authorization header (Basic and Bearer through the Authenticator), the
// Origin/Host same-origin check, and every /api/v1 parser: series selectors
// (match=), time arguments (from=/to=), durations (for=) and the mute
// request from a query, a JSON body or a form body. One input is fed to
// each of them.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "agent/api/api_util.h"
#include "agent/common/units.h"
#include "agent/http/auth.h"
#include "agent/http/server.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using namespace rigwatch;

// Tokens only: Basic credentials are parsed and refused without bcrypt, so
// an input costs microseconds.
Authenticator& Auth() {
  static Authenticator* auth = [] {
    AuthSettings s;
    s.tokens = {{"ci", "0123456789abcdef0123456789abcdef", Role::kAdmin}};
    s.allow_loopback_admin = true;
    return new Authenticator(s);
  }();
  return *auth;
}

void CheckQuery(const std::string& in) {
  HttpRequest req;
  req.query = in;
  for (const char* name : {"match", "from", "to", "target", "for", "miner",
                           "metric", "csrf_token", ""}) {
    std::vector<std::string> all = req.Params(name);
    std::optional<std::string> first = req.Param(name);
    if (first.has_value() != !all.empty()) fuzz::Fail("Param vs Params");
    if (first && *first != all.front()) fuzz::Fail("Param is not the first");
  }
  if (UrlDecode(in).size() > in.size()) fuzz::Fail("UrlDecode grew");
}

void CheckBase64(const std::string& in) {
  std::optional<std::string> round = Base64Decode(Base64Encode(in));
  if (!round || *round != in) fuzz::Fail("Base64 round trip");
  std::optional<std::string> d = Base64Decode(in);
  if (d && d->size() > in.size()) fuzz::Fail("Base64Decode grew");
}

void CheckAuthorization(const std::string& in) {
  static uint32_t n = 0;
  ++n;
  for (const std::string& value :
       {in, "Basic " + in, "Bearer " + in, "Basic " + Base64Encode(in)}) {
    HttpRequest req;
    req.method = (n & 1) ? "POST" : "GET";
    req.path = "/api/v1/mute";
    // A new address now and then, so the failure limit does not answer
    // every input before the header is parsed.
    req.remote_addr = "10.0." + std::to_string((n >> 8) & 255) + "." +
                      std::to_string(n & 255);
    req.headers = {{"Authorization", value}, {"Origin", in}, {"Host", in}};
    Access a = Auth().Check(req, (n & 2) ? Role::kAdmin : Role::kRead);
    if (a.kind != Access::Kind::kOk && a.reason.empty()) {
      fuzz::Fail("refusal without a reason");
    }
    if (a.kind == Access::Kind::kOk && a.who.empty()) fuzz::Fail("no who");
    (void)IsCrossOrigin(req);
  }
}

void CheckApiParsers(const std::string& in) {
  Result<store::Selector> sel = ParseSelector(in);
  fuzz::CheckStatus(sel.status());
  if (sel.ok() && sel->metric.empty() && sel->matchers.empty()) {
    fuzz::Fail("empty selector accepted");
  }
  const WallTime now = FromUnixMillis(1'763'787'600'000);
  Result<WallTime> t = ParseTimeArg(in, now);
  fuzz::CheckStatus(t.status());
  Result<std::chrono::milliseconds> d = ParseDuration(in);
  fuzz::CheckStatus(d.status());

  // From the query, a JSON body, an HTML form body.
  for (int from = 0; from < 3; ++from) {
    for (const char* method : {"POST", "DELETE"}) {
      HttpRequest req;
      req.method = method;
      if (from == 1) {
        req.body = in;
        req.headers = {{"Content-Type", "application/json"}};
      } else if (from == 2) {
        req.body = in;
        req.headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
      } else {
        req.query = in;
      }
      Result<MuteRequest> m = ParseMuteRequest(req);
      fuzz::CheckStatus(m.status());
      if (!m.ok()) continue;
      if (m->target.empty()) fuzz::Fail("mute without a target");
      if (req.method == "POST" &&
          (m->duration.count() <= 0 || m->duration > kMaxMute)) {
        fuzz::Fail("mute duration out of bounds");
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string in(reinterpret_cast<const char*>(data), size);
  CheckQuery(in);
  CheckBase64(in);
  CheckAuthorization(in);
  CheckApiParsers(in);
  return 0;
}
