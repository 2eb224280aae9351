#include "agent/actions/alertmanager.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <stop_token>
#include <thread>

namespace rigwatch::actions {
namespace {

TEST(AlertmanagerJsonTest, ApiV2Shape) {
  AmAlert a;
  a.labels = {{"alertname", "temp_high"},
              {"miner", "rig-1"},
              {"severity", "critical"},
              {"bad-name", "x"}};
  a.annotations = {{"summary", "hot"}, {"description", "81 > 75"}};
  a.starts_at = FromUnixMillis(1767225600000);
  a.ends_at = FromUnixMillis(1767225900000);
  a.generator_url = "http://agent:9842/api/v1/targets/rig-1";
  auto r = AlertsToJson({a});
  ASSERT_TRUE(r.ok());
  auto j = nlohmann::json::parse(*r);
  ASSERT_TRUE(j.is_array());
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["labels"]["alertname"], "temp_high");
  EXPECT_EQ(j[0]["labels"]["bad_name"], "x");
  EXPECT_EQ(j[0]["annotations"]["summary"], "hot");
  EXPECT_EQ(j[0]["startsAt"], "2026-01-01T00:00:00.000Z");
  EXPECT_EQ(j[0]["endsAt"], "2026-01-01T00:05:00.000Z");
  EXPECT_EQ(j[0]["generatorURL"], "http://agent:9842/api/v1/targets/rig-1");
}

TEST(AlertmanagerJsonTest, InvalidUtf8IsReplacedNotThrown) {
  AmAlert a;
  a.labels = {{"alertname", "x"}, {"miner", std::string("rig\xff\xfe", 5)}};
  auto r = AlertsToJson({a});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(nlohmann::json::accept(*r));
}

TEST(AlertmanagerChannelTest, UnreachableIsUnavailable) {
  AlertmanagerOptions o;
  o.url = "http://127.0.0.1:1";
  o.timeout = std::chrono::seconds(5);
  AlertmanagerChannel ch(o);
  EXPECT_EQ(ch.Deliver("[]", {}).code(), StatusCode::kUnavailable);
}

TEST(AlertmanagerChannelTest, ASilentReceiverIsLeftSoonAfterStop) {
  // A listening socket nobody accepts from: the kernel completes the
  // handshake, then nothing ever answers.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(fd, 8), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  AlertmanagerOptions o;
  o.url = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  o.timeout = std::chrono::seconds(60);
  AlertmanagerChannel ch(o);
  std::stop_source stop;
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    stop.request_stop();
  });
  const auto t0 = std::chrono::steady_clock::now();
  Status s = ch.Deliver("[]", stop.get_token());
  const auto took = std::chrono::steady_clock::now() - t0;
  stopper.join();
  ::close(fd);
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_NE(s.message().find("interrupted"), std::string::npos) << s.message();
  EXPECT_LT(took, std::chrono::seconds(3)) << "not the 60 s timeout";
}

}  // namespace
}  // namespace rigwatch::actions
