// LoopTransport against real sockets on 127.0.0.1 (FakeFleet).
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <optional>

#include "agent/poller/event_loop.h"
#include "agent/poller/loop_transport.h"
#include "tests/unit/poller/fake_fleet.h"

namespace rigwatch::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Mode = FakeFleet::Mode;

// A port on 127.0.0.1 with nothing listening (bound, then closed).
uint16_t DeadPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

class TransportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto loop = EventLoop::Create();
    ASSERT_TRUE(loop.ok());
    loop_ = std::move(loop).value();
    transport_ = std::make_unique<LoopTransport>(*loop_, 2);
  }

  void StartFleet(std::vector<FakeFleet::Spec> specs) {
    fleet_ = FakeFleet::Create(std::move(specs));
    ASSERT_NE(fleet_, nullptr);
    fleet_->StartThread();
  }

  Exchange Http(size_t miner, std::string path = "/api/system/info",
                std::string method = "GET") {
    Exchange ex;
    ex.protocol = Protocol::kHttp;
    ex.conn_key = "m" + std::to_string(miner);
    ex.host = "127.0.0.1";
    ex.port = fleet_ ? fleet_->port(miner) : 0;
    ex.request = Request{"info", std::move(method), std::move(path), "", false};
    ex.deadline = std::chrono::steady_clock::now() + seconds(3);
    ex.connect_timeout = seconds(1);
    ex.first_byte_timeout = seconds(2);
    ex.max_response_bytes = 1 << 20;
    return ex;
  }
  Exchange Tcp(size_t miner,
               std::string payload = "{\"command\":\"summary\"}") {
    Exchange ex = Http(miner);
    ex.protocol = Protocol::kCgminerTcp;
    ex.request = Request{"summary", "", "", std::move(payload), false};
    return ex;
  }

  // Runs one exchange to completion (bounded: 10s of real time).
  ExchangeResult Run(Exchange ex) {
    std::optional<ExchangeResult> got;
    transport_->Start(std::move(ex),
                      [&](ExchangeResult r) { got = std::move(r); });
    const auto stop = std::chrono::steady_clock::now() + seconds(10);
    while (!got && std::chrono::steady_clock::now() < stop) {
      loop_->RunOnce(stop);
    }
    EXPECT_TRUE(got.has_value()) << "no completion within 10s";
    return got.value_or(ExchangeResult{});
  }

  std::unique_ptr<FakeFleet> fleet_;
  std::unique_ptr<EventLoop> loop_;
  std::unique_ptr<LoopTransport> transport_;
};

TEST_F(TransportTest, HttpGetWithoutOriginAndNoIdleConnection) {
  // The device offers keep-alive; the poller still closes after each reply.
  StartFleet({{Mode::kHttp, "{\"hashRate\":1}", 200, true}});
  for (int i = 0; i < 2; ++i) {
    ExchangeResult r = Run(Http(0));
    EXPECT_EQ(r.result, PollResult::kOk) << r.response.transport.ToString();
    EXPECT_EQ(r.response.http_status, 200);
    EXPECT_EQ(r.response.body, "{\"hashRate\":1}");
  }
  auto reqs = fleet_->requests(0);
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].rfind("GET /api/system/info HTTP/1.1\r\n", 0), 0u);
  EXPECT_EQ(reqs[0].find("Origin:"), std::string::npos);
  EXPECT_EQ(reqs[0].find("Expect:"), std::string::npos);
  // One connection per exchange, announced as closing: no idle socket held
  // on a device that has 7-20 of them (docs/protocols.md §1.1).
  EXPECT_NE(reqs[0].find("\r\nConnection: close\r\n"), std::string::npos);
  EXPECT_EQ(fleet_->connections(0), 2);
}

TEST_F(TransportTest, HttpDeviceClosingEachConnectionIsFine) {
  StartFleet({{Mode::kHttp, "ok", 200, /*keep_alive=*/false}});
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(Run(Http(0)).result, PollResult::kOk);
  }
  EXPECT_EQ(fleet_->connections(0), 3);
}

TEST_F(TransportTest, HttpErrorStatusIsATransportSuccess) {
  StartFleet({{Mode::kHttp, "Unauthorized", 401, true}});
  ExchangeResult r = Run(Http(0));
  EXPECT_TRUE(r.response.transport.ok());
  EXPECT_EQ(r.response.http_status, 401);
  EXPECT_EQ(r.response.body, "Unauthorized");
}

TEST_F(TransportTest, HttpKeepsTheChallengeAndTheRedirectTarget) {
  StartFleet({{Mode::kHttp, "<html>401</html>", 401, true,
               "wWw-Authenticate:  Digest realm=\"antMiner Configuration\", "
               "nonce=\"n1\"\r\nX-Other: 1\r\n"},
              {Mode::kHttp, "/cgi-bin/luci", 307, true,
               "Location: https://10.0.0.5/cgi-bin/luci\r\n"}});
  ExchangeResult r = Run(Http(0, "/"));
  EXPECT_EQ(r.response.http_status, 401);
  EXPECT_EQ(r.response.www_authenticate,
            "Digest realm=\"antMiner Configuration\", nonce=\"n1\"");
  EXPECT_EQ(r.response.location, "");
  r = Run(Http(1, "/"));
  EXPECT_EQ(r.response.http_status, 307);  // not followed
  EXPECT_EQ(r.response.location, "https://10.0.0.5/cgi-bin/luci");
  EXPECT_EQ(r.response.www_authenticate, "");
}

TEST_F(TransportTest, HttpBodyOverTheCapIsAParseError) {
  StartFleet({{Mode::kHttp, std::string(5000, 'x'), 200, true}});
  Exchange ex = Http(0);
  ex.max_response_bytes = 1000;
  ExchangeResult r = Run(std::move(ex));
  EXPECT_EQ(r.result, PollResult::kParseError);
  EXPECT_EQ(r.response.transport.code(), StatusCode::kResourceExhausted);
}

TEST_F(TransportTest, RefusedConnection) {
  Exchange h = Http(0);
  h.port = DeadPort();
  ExchangeResult r = Run(h);
  EXPECT_EQ(r.result, PollResult::kRefused);
  EXPECT_FALSE(r.response.request_sent);
  Exchange t = Tcp(0);
  t.port = h.port;
  r = Run(t);
  EXPECT_EQ(r.result, PollResult::kRefused);
  EXPECT_NE(r.response.transport.message().find("connect"), std::string::npos);
}

TEST_F(TransportTest, FirstByteTimeoutOnABlackHole) {
  StartFleet({{Mode::kBlackHole}, {Mode::kBlackHole}});
  for (bool tcp : {false, true}) {
    Exchange ex = tcp ? Tcp(1) : Http(0);
    ex.first_byte_timeout = milliseconds(200);
    const auto t0 = std::chrono::steady_clock::now();
    ExchangeResult r = Run(std::move(ex));
    const auto took = std::chrono::steady_clock::now() - t0;
    EXPECT_EQ(r.result, PollResult::kTimeout) << tcp;
    EXPECT_EQ(r.response.transport.code(), StatusCode::kDeadlineExceeded);
    EXPECT_GE(took, milliseconds(190));
    EXPECT_LT(took, milliseconds(1500));
  }
}

TEST_F(TransportTest, TotalDeadlineOnABlackHole) {
  StartFleet({{Mode::kBlackHole}});
  Exchange ex = Http(0);
  ex.deadline = std::chrono::steady_clock::now() + milliseconds(300);
  EXPECT_EQ(Run(std::move(ex)).result, PollResult::kTimeout);
}

TEST_F(TransportTest, CgminerSendsOnePayloadAndReadsToEof) {
  StartFleet({{Mode::kCgminer, "{\"STATUS\":[{\"STATUS\":\"S\"}],\"id\":1}"}});
  ExchangeResult r = Run(Tcp(0));
  EXPECT_EQ(r.result, PollResult::kOk) << r.response.transport.ToString();
  EXPECT_EQ(r.response.body,
            std::string("{\"STATUS\":[{\"STATUS\":\"S\"}],\"id\":1}") + '\0');
  EXPECT_TRUE(r.response.request_sent);
  auto reqs = fleet_->requests(0);
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0], "{\"command\":\"summary\"}");  // no newline
}

TEST_F(TransportTest, CgminerZeroBytesIsDenied) {
  StartFleet({{Mode::kCloseAtOnce}});
  ExchangeResult r = Run(Tcp(0));
  EXPECT_EQ(r.result, PollResult::kDenied);
  EXPECT_EQ(r.response.transport.code(), StatusCode::kPermissionDenied);
}

TEST_F(TransportTest, CgminerReplyOverTheCap) {
  StartFleet({{Mode::kCgminer, std::string(100000, 'x')}});
  Exchange ex = Tcp(0);
  ex.max_response_bytes = 50000;
  EXPECT_EQ(Run(std::move(ex)).result, PollResult::kParseError);
}

TEST_F(TransportTest, CgminerResolvesHostNames) {
  StartFleet({{Mode::kCgminer, "x"}});
  Exchange ex = Tcp(0);
  ex.host = "localhost";  // /etc/hosts; no DNS traffic
  ExchangeResult r = Run(std::move(ex));
  // localhost may resolve to ::1 first where the fleet does not listen.
  if (r.result == PollResult::kOk) {
    EXPECT_EQ(r.response.body, std::string("x") + '\0');
  } else {
    EXPECT_EQ(r.result, PollResult::kRefused);
  }
}

TEST_F(TransportTest, ResetAfterARestartPostCountsAsSent) {
  StartFleet({{Mode::kResetAfterRequest}, {Mode::kResetAfterRequest}});
  Exchange h = Http(0, "/api/system/restart", "POST");
  h.fresh_connection = true;
  ExchangeResult r = Run(std::move(h));
  EXPECT_FALSE(r.response.transport.ok());
  EXPECT_TRUE(r.response.request_sent);
  auto reqs = fleet_->requests(0);
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].rfind("POST /api/system/restart HTTP/1.1\r\n", 0), 0u);
  r = Run(Tcp(1, "{\"command\":\"restart\"}"));
  EXPECT_FALSE(r.response.transport.ok());
  EXPECT_TRUE(r.response.request_sent);
}

TEST_F(TransportTest, AbortNeverCallsBack) {
  StartFleet({{Mode::kBlackHole}, {Mode::kBlackHole}, {Mode::kHttp}});
  bool called_ab = false, called_c = false;
  ExchangeId a =
      transport_->Start(Http(0), [&](ExchangeResult) { called_ab = true; });
  ExchangeId b =
      transport_->Start(Tcp(1), [&](ExchangeResult) { called_ab = true; });
  ExchangeId c =
      transport_->Start(Http(2), [&](ExchangeResult) { called_c = true; });
  // Run until the fleet answered c; its completion may or may not have been
  // delivered yet. Aborting then must suppress a delivery still queued.
  const auto stop = std::chrono::steady_clock::now() + seconds(2);
  while (std::chrono::steady_clock::now() < stop && !called_c &&
         fleet_->requests(2).empty()) {
    loop_->RunOnce(std::chrono::steady_clock::now() + milliseconds(5));
  }
  const bool c_done_before_abort = called_c;
  transport_->Abort(a);
  transport_->Abort(b);
  transport_->Abort(c);
  for (int i = 0; i < 20; ++i) {
    loop_->RunOnce(std::chrono::steady_clock::now() + milliseconds(5));
  }
  EXPECT_FALSE(called_ab);
  EXPECT_EQ(called_c, c_done_before_abort);
  EXPECT_EQ(transport_->in_flight(), 0u);
}

TEST_F(TransportTest, HostsAreSpreadOverCurlMultiHandles) {
  StartFleet(std::vector<FakeFleet::Spec>(5, FakeFleet::Spec{}));
  for (size_t i = 0; i < 5; ++i)
    EXPECT_EQ(Run(Http(i)).result, PollResult::kOk);
  EXPECT_EQ(transport_->curl_multi_handles(), 3u);  // at most 2 hosts each
  transport_->Forget("m0");
  transport_->Forget("m1");
  EXPECT_EQ(Run(Http(0)).result, PollResult::kOk);  // reuses a freed slot
  EXPECT_EQ(transport_->curl_multi_handles(), 3u);
}

}  // namespace
}  // namespace rigwatch::testing
