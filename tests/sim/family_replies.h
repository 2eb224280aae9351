// Replies of the vendor firmwares on the 4028 API (docs/protocols.md §6, §9,
// §10): stock Antminer S19 (bmminer, privileged commands refused with Code
// 45), AvalonMiner 1366 (MM ID0 string, ascset reboot) and LuxOS on an S19
// (temps, power, one session at a time that expires 60 s after its last
// use). Also the HTTP Digest check of the Antminer web CGI (§6.4).
// Pure functions except for the session, which the caller owns per miner.
#ifndef RIGWATCH_TESTS_SIM_FAMILY_REPLIES_H_
#define RIGWATCH_TESTS_SIM_FAMILY_REPLIES_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "agent/common/clock.h"
#include "tests/sim/miner_model.h"
#include "tests/sim/sim_types.h"

namespace rigwatch::sim {

// True for the variants rendered here rather than by cgminer_replies.h.
bool IsVendorVariant(Variant v);

// LuxOS's one session (§10.2).
struct LuxSession {
  std::string id;  // "" = none
  SteadyTime last_use{};
  uint64_t created = 0;  // sessions handed out, for distinct ids
};

struct FamilyReply {
  std::string body;     // JSON text, no trailing NUL
  std::string command;  // for the request log: "summary", "rebootdevice sid=.."
  bool reboot = false;  // the miner accepted a reboot and goes away
};

// Answers one request of a vendor variant at `now` (session expiry).
FamilyReply RenderFamilyReply(Variant v, std::string_view request,
                              const Snapshot& s, const Faults& faults,
                              SteadyTime now, LuxSession& session);

// The body of the Antminer data CGI `page` ("stats" or "summary", i.e.
// /cgi-bin/stats.cgi, /cgi-bin/summary.cgi; docs/protocols.md §6.5): the
// same figures as the 4028 replies of the antminer-s19 variant.
std::string AntminerCgiPage(std::string_view page, const Snapshot& s);

// The Antminer web realm and the WWW-Authenticate challenge for `nonce`.
inline constexpr std::string_view kAntminerRealm = "antMiner Configuration";
std::string DigestChallenge(std::string_view nonce);

// Checks an `Authorization: Digest ...` header value (RFC 7616 with MD5 and
// qop=auth, as §6.4) for user root and `password` against our `nonce`.
enum class DigestVerdict { kMissing, kOk, kWrong };
DigestVerdict CheckDigest(std::string_view authorization,
                          std::string_view method, std::string_view nonce,
                          std::string_view password);

}  // namespace rigwatch::sim

#endif  // RIGWATCH_TESTS_SIM_FAMILY_REPLIES_H_
