// The miner exporter contract. Exporters are pure (docs/architecture.md
// "Components"): they describe the requests they need and turn the raw replies
// into samples. They never open sockets, sleep, log or throw; transport,
// timeouts and retries live in the poller, once. That makes every parser
// testable from fixture files and fuzzable.
#ifndef RIGWATCH_EXPORTERS_EXPORTER_H_
#define RIGWATCH_EXPORTERS_EXPORTER_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "agent/common/status.h"
#include "exporters/sample.h"

namespace rigwatch {

enum class Protocol {
  kHttp,        // HTTP/1.1 to host:port (AxeOS)
  kCgminerTcp,  // one JSON request per TCP connection, reply read to EOF
};

// One exchange with a miner. For kHttp: `method` and `path`, `payload` as the
// body. For kCgminerTcp: `payload` is sent in one write, as is (no newline).
struct Request {
  std::string name;  // short, for error context and metrics: "info", "stats"
  std::string method;
  std::string path;
  std::string payload;
  // When true, a failure of this request does not fail the poll; the parser
  // gets the failed Response and exports what the other replies allow.
  bool optional = false;
  // A fallback data source: sent only when an earlier, non-fallback and not
  // optional request of the same poll failed in transport (the kind's API
  // is down or closed to us). The poller then skips the remaining
  // non-fallback requests and sends the fallback ones in order. In a poll
  // where nothing failed, or for a skipped request, the parser gets
  // NotSentResponse() (`not_sent`, transport FailedPrecondition). A
  // fallback request that is not `optional` and fails in transport ends
  // the poll like any required request.
  bool fallback = false;
  // Which side of the miner the exchange goes to: the kind's API
  // (GetProtocol() on the target's port) or its web side (kHttp on the
  // miner's `http_port:`, else DefaultHttpPort()), e.g. the Antminer CGI.
  enum class Side { kApi, kWeb };
  Side side = Side::kApi;
  // Send the miner's credentials (config `auth:`, else DefaultCredentials()):
  // HTTP Digest on the web side, or, for a kind whose LoginPayload() is set,
  // as the body that function builds (a token login such as Vnish's unlock).
  bool authenticate = false;
  // kHttp: sent as the `Authorization:` header when not empty, e.g. a token
  // an earlier reply of the restart chain handed out ("Bearer <t>").
  std::string authorization;
};

// A vendor's factory login. Documented in docs/config.md; never logged.
struct Credentials {
  std::string username;
  std::string password;
};

// What came back for one Request. `transport` is ok when a reply was read to
// its end (whatever the HTTP status). For kCgminerTcp `body` holds the raw
// bytes, trailing NUL included if the miner sent one (the parser strips it).
// A body cut by the size cap arrives with transport ResourceExhausted.
struct Response {
  Status transport;
  int http_status = 0;  // kHttp only
  std::string body;
  // kHttp only: the WWW-Authenticate and Location headers of the reply, if
  // any (cut at 512 bytes), for the kind probe (exporters/probe.h).
  std::string www_authenticate;
  std::string location;
  // True when the whole request was written before the transport failed.
  // A reset/EOF after a sent restart request means the device went down to
  // restart (AxeOS v2.0 replies nothing; docs/protocols.md §1.1).
  bool request_sent = false;
  // The poller did not send the request (Request::fallback).
  bool not_sent = false;
};

// True when the whole request went out and the miner then dropped the
// connection (reset/EOF, not a timeout or the size cap): a device going down
// to restart (AxeOS v2.0, Antminer reboot.cgi, Avalon ascset reboot).
inline bool DroppedAfterSend(const Response& r) {
  return !r.transport.ok() && r.request_sent &&
         r.transport.code() != StatusCode::kDeadlineExceeded &&
         r.transport.code() != StatusCode::kResourceExhausted;
}

// The Response the poller hands the parser for a request it did not send
// (Request::fallback).
inline Response NotSentResponse() {
  Response r;
  r.transport = FailedPreconditionError("not sent");
  r.not_sent = true;
  return r;
}

// Identity of a miner as it reports it; exported through miner_info.
struct MinerInfo {
  std::string model;
  std::string firmware;
  std::string hostname;
  friend bool operator==(const MinerInfo&, const MinerInfo&) = default;
};

struct ScrapeResult {
  Samples samples;  // without the miner label (sample.h)
  MinerInfo info;
  // Seconds since the miner's (re)start when it reports it. The poller uses a
  // decrease to detect a reboot and keep exported counters monotonic.
  std::optional<double> uptime_seconds;
};

class Exporter {
 public:
  virtual ~Exporter() = default;

  // The config `kind:` ("bitaxe", "cgminer").
  virtual std::string_view Kind() const = 0;
  virtual Protocol GetProtocol() const = 0;
  virtual uint16_t DefaultPort() const = 0;

  // The exchanges of one poll, run in this order, one at a time per miner.
  virtual std::vector<Request> PollRequests() const = 0;

  // Parses the replies to PollRequests(), same order and count. Errors:
  //   PermissionDenied  the miner refused us (HTTP 401/403, cgminer Code 45)
  //   Unavailable       a required request failed in transport
  //   InvalidArgument   a reply could not be parsed (message has the place)
  //   DataLoss          a reply was truncated
  virtual Result<ScrapeResult> Parse(
      std::span<const Response> responses) const = 0;

  // The port of the web side (Request::Side::kWeb) when the miner has no
  // `http_port:`.
  virtual uint16_t DefaultHttpPort() const { return 80; }
  // The factory login used for `authenticate` requests when the miner has no
  // `auth:`; empty when the vendor ships none.
  virtual Credentials DefaultCredentials() const { return {}; }
  // For kinds that log in with a request body rather than HTTP Digest: the
  // payload of an `authenticate` request, built from the credentials at
  // send time (the password never passes through the exporter's requests
  // or replies). nullopt (the default) means HTTP Digest.
  virtual std::optional<std::string> LoginPayload(const Credentials&) const {
    return std::nullopt;
  }

  // The exchange that asks the miner to restart its mining process/device.
  virtual Request RestartRequest() const = 0;
  // A restart may be a short chain of exchanges (a session first, then the
  // command). Given the replies so far (empty at first), returns the next
  // request, or nullopt when the chain is complete and ParseRestartReply
  // judges the last reply; an error ends the chain with that error. The
  // default chain is the one RestartRequest().
  virtual Result<std::optional<Request>> NextRestartRequest(
      std::span<const Response> replies) const {
    if (replies.empty()) return std::optional<Request>(RestartRequest());
    return std::optional<Request>();
  }
  // Judges the reply to the last request of the restart chain. Ok means the
  // restart was accepted; PermissionDenied is a distinct "not allowed"
  // (cgminer Code 45, wrong credentials) and FailedPrecondition "this
  // firmware cannot be restarted this way" (counted as "unsupported").
  virtual Status ParseRestartReply(const Response& response) const = 0;

  // A kind whose restart is signed with the miner's password (Whatsminer: a
  // token, then an encrypted write and an encrypted reply) returns true: the
  // poller then reads the target's login (config `auth:`, else
  // DefaultCredentials()) and runs the chain through the two functions
  // below, which such a kind overrides. By default they are the chain and
  // the verdict above, and `login` is empty.
  virtual bool RestartUsesLogin() const { return false; }
  virtual Result<std::optional<Request>> NextSignedRestartRequest(
      std::span<const Response> replies, const Credentials& login) const {
    (void)login;
    return NextRestartRequest(replies);
  }
  // `replies` is the whole chain, never empty.
  virtual Status ParseSignedRestartReply(std::span<const Response> replies,
                                         const Credentials& login) const {
    (void)login;
    return ParseRestartReply(replies.back());
  }
};

}  // namespace rigwatch

#endif  // RIGWATCH_EXPORTERS_EXPORTER_H_
