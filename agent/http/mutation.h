// The journal of changes made through the HTTP API: every request to an
// admin route by a known principal (a credential, or "loopback"), done or
// refused, becomes one "http_mutation" log event and one MutationRecord for
// the server's sink (the agent keeps them in its store; GET /api/v1/journal
// lists them).
#ifndef RIGWATCH_AGENT_HTTP_MUTATION_H_
#define RIGWATCH_AGENT_HTTP_MUTATION_H_

#include <string_view>

#include "agent/http/server.h"

namespace rigwatch {

// Builds the record of `req` answered with `status` (`error`: the refusal
// or the JSON error body, empty on success), logs it (info when done, warn
// when refused) and hands it to `sink` when set. Does nothing when
// req.principal is empty or "anonymous" (authentication failed).
void JournalMutation(const HttpRequest& req, int status, std::string_view error,
                     const MutationSink& sink);

// The record as one JSON object (what GET /api/v1/journal lists).
std::string MutationJson(const MutationRecord& r, int64_t unix_ms);

}  // namespace rigwatch

#endif  // RIGWATCH_AGENT_HTTP_MUTATION_H_
