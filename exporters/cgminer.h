// The cgminer exporter: the CGMiner TCP API on port 4028 as spoken by
// cgminer, Antminer bmminer, Braiins BOSer, Whatsminer btminer (API v2),
// LuxOS and Avalon. See exporter.h for the contract, docs/protocols.md §2 and
// §5.
//
// One poll is four exchanges, each on its own connection, in this order:
//   summary  {"command":"summary"}  required
//   devs     {"command":"devs"}     optional
//   pools    {"command":"pools"}    optional
//   stats    {"command":"stats"}    optional
// Separate requests rather than "summary+devs+pools+stats": stock S19
// firmware rejects `+`, multi-command replies nest every section in a
// 1-element array that the README documents wrongly (§2.1), and a fallback
// would need per-miner state, which exporters do not keep. The server is
// single-threaded, so the poller runs them one after another.
//
// Reply handling: exactly one trailing NUL is stripped; the repair pass of
// json_util.h runs before parsing. A reply of 0 bytes means "this host is not
// in --api-allow" and is PermissionDenied, as is STATUS E Code 45. An
// optional section that failed in transport or answered STATUS E/F is skipped;
// a malformed or truncated optional section fails the poll (with its name and
// byte offset), so broken replies are seen rather than silently dropped.
//
// Restart: {"command":"restart"}. Ok on {"STATUS":"RESTART"} or the text
// reply "RESTART"; Code 45 is PermissionDenied ("restart not allowed by the
// miner's API access group"); Code 14 (BOSer, Whatsminer: no such command) is
// FailedPrecondition.
#ifndef RIGWATCH_EXPORTERS_CGMINER_H_
#define RIGWATCH_EXPORTERS_CGMINER_H_

#include <span>
#include <string_view>
#include <vector>

#include "agent/common/status.h"
#include "exporters/exporter.h"
#include "exporters/json_util.h"

namespace rigwatch::cgminer {

// The process-wide, stateless, thread-safe instance.
const Exporter& GetExporter();

// Which reply a body is, for ParseSection.
enum class Section { kSummary, kDevs, kPools, kStats };

// Parses one raw reply (trailing NUL allowed) of `section` and appends its
// samples and identity to `out`. Errors as in Exporter::Parse, plus
// FailedPrecondition for a STATUS E/F reply (PermissionDenied for Code 45
// and for a 0-byte reply). Exposed for
// tests, the fuzz harness and benchmarks.
Status ParseSection(Section section, std::string_view body, ScrapeResult& out);

// Decodes one raw reply of command `what` (trailing NUL allowed, repaired)
// and checks its STATUS: the document, or the errors of ParseSection. For
// the kinds that share this framing with their own field mapping (antminer,
// avalon, luxos).
Result<json_util::Json> DecodeReply(std::string_view body,
                                    std::string_view what);

// One poll of a cgminer-framed kind: one {"command":"<c>"} request per
// command, the first required, the rest optional.
std::vector<Request> CommandRequests(
    std::span<const std::string_view> commands);

// Parses the replies to CommandRequests(commands) with `parse`: the first
// must succeed; a later one that failed in transport or was refused
// (PermissionDenied, FailedPrecondition) is skipped; a broken one fails the
// poll, so broken replies are seen rather than silently dropped.
using ReplyParser = Status (*)(std::string_view command, std::string_view body,
                               ScrapeResult& out);
Result<ScrapeResult> ParseReplies(std::span<const std::string_view> commands,
                                  std::span<const Response> responses,
                                  ReplyParser parse);

// The one cgminer-framed restart verdict for kinds whose command replies
// STATUS S/I (Avalon ascset, LuxOS rebootdevice): Ok on S/I/RESTART or on the
// connection dropping after the request was sent; Code 45 PermissionDenied;
// Code 14 FailedPrecondition; any other E/F FailedPrecondition with the
// miner's message.
Status CheckCommandReply(const Response& r, std::string_view what);

}  // namespace rigwatch::cgminer

#endif  // RIGWATCH_EXPORTERS_CGMINER_H_
