// A tiny Exporter for poller tests (the real parsers are tested elsewhere).
// Poll = "info" (required) and optionally "extra" (optional). Reply bodies
// are "uptime=U shares=S" or one of the words "denied", "garbage".
// Restart: POST /restart; a reply "RESTART", or a reset after the request
// was sent, is accepted; "denied" is PermissionDenied.
#ifndef RIGWATCH_TESTS_UNIT_POLLER_TEST_EXPORTER_H_
#define RIGWATCH_TESTS_UNIT_POLLER_TEST_EXPORTER_H_

#include <cstdio>
#include <string>

#include "exporters/exporter.h"
#include "exporters/miner_metrics.h"

namespace rigwatch::testing {

class TestExporter final : public Exporter {
 public:
  TestExporter(Protocol p = Protocol::kHttp, bool with_extra = false)
      : protocol_(p), with_extra_(with_extra) {}

  std::string_view Kind() const override { return "test"; }
  Protocol GetProtocol() const override { return protocol_; }
  uint16_t DefaultPort() const override { return 8080; }
  std::vector<Request> PollRequests() const override {
    std::vector<Request> r;
    if (protocol_ == Protocol::kHttp) {
      r.push_back(Request{"info", "GET", "/info", "", false});
      if (with_extra_) r.push_back(Request{"extra", "GET", "/extra", "", true});
    } else {
      r.push_back(Request{"info", "", "", "{\"command\":\"summary\"}", false});
    }
    return r;
  }
  Result<ScrapeResult> Parse(
      std::span<const Response> responses) const override {
    const Response& r = responses[0];
    if (r.http_status == 401 || r.body == "denied") {
      return PermissionDeniedError("info: access denied");
    }
    if (r.http_status >= 400) {
      return InvalidArgumentError("info: HTTP " +
                                  std::to_string(r.http_status));
    }
    double up = 0, shares = 0;
    if (std::sscanf(r.body.c_str(), "uptime=%lf shares=%lf", &up, &shares) !=
        2) {
      return InvalidArgumentError("info: malformed reply at byte 0");
    }
    ScrapeResult out;
    out.samples.push_back(
        Sample{std::string(metric::kSharesAccepted), {}, shares});
    out.samples.push_back(Sample{std::string(metric::kUptime), {}, up});
    if (responses.size() > 1 && responses[1].transport.ok()) {
      out.samples.push_back(Sample{std::string(metric::kPower), {}, 15});
    }
    out.info = MinerInfo{"T1", "v1.0", "rig"};
    out.uptime_seconds = up;
    return out;
  }
  Request RestartRequest() const override {
    if (protocol_ == Protocol::kHttp) {
      return Request{"restart", "POST", "/restart", "", false};
    }
    return Request{"restart", "", "", "{\"command\":\"restart\"}", false};
  }
  Status ParseRestartReply(const Response& r) const override {
    if (r.body == "denied") return PermissionDeniedError("access denied");
    if (r.transport.ok() && r.body.rfind("RESTART", 0) == 0) {
      return Status::Ok();
    }
    if (!r.transport.ok() && r.request_sent) return Status::Ok();
    if (!r.transport.ok()) return r.transport;
    return InvalidArgumentError("unexpected reply: " + r.body);
  }

 private:
  Protocol protocol_;
  bool with_extra_;
};

}  // namespace rigwatch::testing

#endif  // RIGWATCH_TESTS_UNIT_POLLER_TEST_EXPORTER_H_
