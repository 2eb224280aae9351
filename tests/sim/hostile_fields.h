// The hostile-miner faults: a reply that is valid JSON but whose values no
// sane miner sends (a 900 KB hostname, a hostname that changes on every
// reply, a negative or 2^70 share counter, a number past a double's range).
// They rewrite the rendered AxeOS info body, so every firmware variant gets
// them in its own formatting. Pure except for the per-reply state kept in
// Faults (the churn sequence, the spike countdown).
#ifndef RIGWATCH_TESTS_SIM_HOSTILE_FIELDS_H_
#define RIGWATCH_TESTS_SIM_HOSTILE_FIELDS_H_

#include <string>
#include <string_view>

#include "tests/sim/sim_types.h"

namespace rigwatch::sim {

// Replaces the value of the first member `key` in JSON text `body` with the
// literal `value` (already JSON: a quoted string or a number). Returns false
// when `body` has no such member.
bool ReplaceJsonValue(std::string& body, std::string_view key,
                      std::string_view value);

// Applies f's hostile-value faults to an AxeOS info body. Advances the churn
// sequence and the spike countdown: call once per reply.
void ApplyHostileFields(std::string& body, Faults& f);

}  // namespace rigwatch::sim

#endif  // RIGWATCH_TESTS_SIM_HOSTILE_FIELDS_H_
