// Vocabulary of the fleet simulator: which firmware a simulated miner speaks
// and which faults it is currently injecting. Plain values, no locking: a
// Faults object is owned by one miner and touched only by the event loop.
#ifndef RIGWATCH_TESTS_SIM_SIM_TYPES_H_
#define RIGWATCH_TESTS_SIM_SIM_TYPES_H_

#include <string>
#include <string_view>
#include <vector>

#include "agent/common/clock.h"
#include "agent/common/status.h"

namespace rigwatch::sim {

// Firmware variants (docs/protocols.md §1.4, §1.6, §2.3, §2.4).
enum class Variant {
  kAxeosV2_0,
  kAxeosV2_9,
  kAxeosV2_12,
  kAxeosV2_15,
  kNerdqaxeV1_0_35,
  kCgminer4_11,
  kAntminerS9,
  kAntminerS19,    // stock bmminer, 2022 build (§6), CGI on the same port
  kAvalon1366,     // AvalonMiner 1366, cgminer 4.11 with MM ID0 (§9)
  kLuxosS19,       // LuxOS on an S19 (§10), with sessions
  kVnishS19XP,     // Vnish 1.2.6 on an S19 XP (§11): REST + 4028, one port
  kBraiinsS19,     // BOSer 25.07 on an S19j Pro (§8): 4028 + REST, one port
  kBraiinsS9,      // BOSminer+ 0.2.0 on an S9 (§8): 4028, no REST API
  kWhatsminerM50,  // Whatsminer M50S, btminer API v2.0.5, signed writes
};

// The wire family: AxeOS speaks HTTP, cgminer speaks the 4028 TCP API.
enum class Family { kAxeos, kCgminer };

Family FamilyOf(Variant v);
// The agent's `kind:` for a variant: bitaxe, cgminer, antminer, avalon,
// luxos, vnish, braiins, whatsminer.
std::string_view KindOf(Variant v);
// Stable names used on the command line and in the control API:
// "axeos-v2.0", "axeos-v2.9", "axeos-v2.12", "axeos-v2.15",
// "nerdqaxe-v1.0.35", "cgminer-4.11", "antminer-s9", "antminer-s19",
// "avalon-1366", "luxos-s19", "vnish-s19xp", "braiins-s19", "braiins-s9",
// "whatsminer-m50".
std::string_view VariantName(Variant v);
// Accepts the names above. Fails with the list of accepted names.
Result<Variant> ParseVariant(std::string_view name);
// Every variant of a family, in declaration order; for kCgminer only the
// generic cgminer ones (the vendor variants have kinds of their own).
std::vector<Variant> VariantsOf(Family f);

// What a miner does wrong. Defaults mean "healthy".
struct Faults {
  enum class Deny { kNone, kRestart, kAll };

  bool refuse = false;     // listener closed: connect gets RST/refused
  bool blackhole = false;  // accept and read, never answer
  // The cgminer-framed API side resets every request (a 4028 API that is
  // disabled or closed to us) while the web side on the same port answers.
  bool api_off = false;
  int trickle_ms = 0;         // > 0: send the reply one byte every trickle_ms
  bool reset_mid = false;     // send part of the reply, then RST
  bool truncate = false;      // valid framing, body cut in half
  bool garbage = false;       // valid framing, body of random bytes
  bool huge = false;          // valid framing, a 10 MB JSON body
  int http_status = 0;        // AxeOS: 500 or 401 instead of the reply
  Deny code45 = Deny::kNone;  // cgminer: E Code 45 on restart or on all
  double temp_ramp_c_per_min = 0;  // > 0: temperature climbs at this rate
  double temp_ceiling_c = 95;      // ... up to this ceiling
  SteadyTime temp_ramp_start{};
  double hashrate_fraction = 1.0;  // < 1: hashrate drops to this fraction
  bool ignore_restart = false;     // restart is answered but never reboots
  // The web login's password: Antminer HTTP Digest (user root), Vnish
  // unlock, Braiins REST login (user root); the `password` fault changes
  // it from the simulator's factory "root".
  std::string web_password = "root";
  // The Whatsminer write password (signed writes); the `password` fault
  // sets it too, from the factory "admin".
  std::string api_password = "admin";
  // Hostile values in the AxeOS info reply (hostile_fields.h).
  size_t hostname_bytes = 0;      // > 0: hostname of that many bytes
  bool hostname_churn = false;    // a new hostname on every reply
  uint64_t churn_seq = 0;         //   ... its sequence number
  bool counter_negative = false;  // sharesAccepted is negative
  int counter_spike = 0;          // the next N replies: sharesAccepted 2^70
  bool field_overflow = false;    // hashRate is 1e309

  bool Healthy() const;
};

// Names accepted by ApplyFault / ClearFault, for error messages and --help.
std::string_view FaultNames();

// Sets fault `name` with optional parameter `param` (empty = default):
//   refuse, blackhole, api_off, reset_mid, truncate, garbage, huge, http500,
//   http401, ignore_restart                        no parameter
//   trickle[=ms, default 200]   code45[=restart|all, default restart]
//   temp_ramp[=C per minute, default 2]   temp_ceiling=C (default 95)
//   hashrate_drop[=fraction 0..1, default 0.5]   password=TEXT
//   hostname_huge[=bytes, default 921600]   hostname_churn
//   counter_negative   counter_spike[=replies, default 1]   field_overflow
// `now` starts a temperature ramp. Fails on an unknown name or bad parameter,
// leaving `f` unchanged.
Status ApplyFault(Faults& f, std::string_view name, std::string_view param,
                  SteadyTime now);
// Clears one fault by the same names, or every fault with "all".
Status ClearFault(Faults& f, std::string_view name);
// Names of the active faults, e.g. {"trickle=200", "http500"}.
std::vector<std::string> ActiveFaults(const Faults& f);

}  // namespace rigwatch::sim

#endif  // RIGWATCH_TESTS_SIM_SIM_TYPES_H_
