// Replies of a Whatsminer M50S on btminer API v2.0.5, firmware 20240326
// (docs/protocols.md "Whatsminer"): the cgminer-like reads, the flat
// envelope of get_version/get_token/status, the error codes, and the signed,
// encrypted writes checked for real (the token's md5-crypt sign against the
// tokens handed out, AES-256-ECB under the key of the miner's password).
// Pure functions except for the tokens, which the caller owns per miner.
#ifndef RIGWATCH_TESTS_SIM_WHATSMINER_REPLIES_H_
#define RIGWATCH_TESTS_SIM_WHATSMINER_REPLIES_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "agent/common/clock.h"
#include "tests/sim/family_replies.h"
#include "tests/sim/miner_model.h"
#include "tests/sim/sim_types.h"

namespace rigwatch::sim {

// The miner's fixed salt (the key of a password never changes) and the
// tokens handed out by get_token: at most 32 live, 30 minutes each. Kept
// per miner, not per client address. A reboot forgets them.
inline constexpr std::string_view kWhatsminerSalt = "BQ5hoXV9";
struct WhatsminerTokens {
  struct Token {
    std::string time;  // last four digits of When
    std::string newsalt;
    SteadyTime issued{};
  };
  std::vector<Token> live;
  uint64_t issued = 0;  // for distinct newsalts
};

// Answers one request at `now`. The write password is faults.api_password.
// restart_btminer and reboot accepted with a valid token set reboot.
FamilyReply RenderWhatsminerReply(std::string_view request, const Snapshot& s,
                                  const Faults& faults, SteadyTime now,
                                  WhatsminerTokens& tokens);

}  // namespace rigwatch::sim

#endif  // RIGWATCH_TESTS_SIM_WHATSMINER_REPLIES_H_
