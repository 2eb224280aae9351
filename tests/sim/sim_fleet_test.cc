// The simulator over real loopback sockets, in-process: framing per firmware,
// every fault's observable behaviour, the control API, reboots driven by a
// FakeClock, a 2,000-miner start, and the fleet_sim binary's lifecycle.
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "tests/sim/sim_fleet_fixture.h"

extern char** environ;

namespace rigwatch::sim {
namespace {

using testing::Cgminer;
using testing::Connect;
using testing::Http;
using testing::HttpReply;
using testing::ReadHttpReply;
using testing::ReadSome;
using testing::ReadToEof;
using testing::SendAll;

TEST_F(FleetTest, CgminerReplyEndsWithOneNulThenCloses) {
  for (const char* name : {"sim-cgminer-0001", "sim-cgminer-0002"}) {
    auto r = Cgminer(Addr(name), kSummary);  // reads to EOF: server closed
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_FALSE(r->empty());
    EXPECT_EQ(r->back(), '\0');
    EXPECT_EQ(std::count(r->begin(), r->end(), '\0'), 1);
    json j = Parse(r->substr(0, r->size() - 1));
    ASSERT_FALSE(j.is_discarded()) << *r;
    EXPECT_EQ(j["STATUS"][0]["Code"], 11);
  }
}

TEST_F(FleetTest, CgminerAnswersOnlyTheFirstRecv) {
  // A request longer than 4095 bytes: the single recv() sees no closing
  // brace, so cgminer answers "Invalid JSON".
  std::string big = "{\"command\":\"summary\"";
  big.append(5000, ' ');
  big += '}';
  auto fd = Connect(Addr("sim-cgminer-0001"), milliseconds(1000));
  ASSERT_TRUE(fd.ok());
  ASSERT_TRUE(SendAll(*fd, big).ok());
  std::string partial;
  auto r = ReadToEof(*fd, milliseconds(3000), &partial);
  ::close(*fd);
  // Closing with the rest unread may reset the connection; the reply
  // arrives first either way.
  const std::string got = r.ok() ? *r : partial;
  ASSERT_FALSE(got.empty()) << r.status().ToString();
  EXPECT_EQ(Parse(got.substr(0, got.size() - 1))["STATUS"][0]["Code"], 23);
}

TEST_F(FleetTest, CgminerMultiCommandAndUnknown) {
  auto r = Cgminer(Addr("sim-cgminer-0002"), "{\"command\":\"summary+stats\"}");
  ASSERT_TRUE(r.ok());
  // The S9's stats section keeps its "}{" inside the multi reply.
  EXPECT_NE(r->find("\"summary\":[{\"STATUS\""), std::string::npos);
  EXPECT_NE(r->find("}{\"STATS\":0"), std::string::npos);
  r = Cgminer(Addr("sim-cgminer-0001"), "{\"command\":\"estats\"}");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(Parse(r->substr(0, r->size() - 1))["STATUS"][0]["Code"], 14);
}

TEST_F(FleetTest, NerdqaxeRepliesChunkedAndCloses) {
  auto fd = Connect(Addr("sim-axeos-0005"), milliseconds(1000));
  ASSERT_TRUE(fd.ok());
  ASSERT_TRUE(
      SendAll(*fd, "GET /api/system/info HTTP/1.1\r\nHost: x\r\n\r\n").ok());
  auto raw = ReadToEof(*fd, milliseconds(3000));  // EOF: Connection: close
  ::close(*fd);
  ASSERT_TRUE(raw.ok()) << raw.status().ToString();
  const size_t end = raw->find("\r\n\r\n");
  ASSERT_NE(end, std::string::npos);
  const std::string head = raw->substr(0, end);
  EXPECT_NE(head.find("Transfer-Encoding: chunked"), std::string::npos);
  EXPECT_NE(head.find("Connection: close"), std::string::npos);
  EXPECT_EQ(head.find("Content-Length"), std::string::npos);
  // De-chunk by hand: every chunk is at most 2048 bytes, then "0\r\n\r\n".
  std::string body;
  size_t p = end + 4;
  while (true) {
    const size_t eol = raw->find("\r\n", p);
    ASSERT_NE(eol, std::string::npos);
    const size_t n = std::strtoul(raw->c_str() + p, nullptr, 16);
    EXPECT_LE(n, 2048u);
    if (n == 0) {
      EXPECT_EQ(raw->substr(eol), "\r\n\r\n");
      break;
    }
    body += raw->substr(eol + 2, n);
    p = eol + 2 + n + 2;
  }
  json j = Parse(body);
  ASSERT_FALSE(j.is_discarded()) << body;
  EXPECT_EQ(j["deviceModel"], "NerdQAxe++");
}

TEST_F(FleetTest, AxeosKeepsTheConnectionAlive) {
  auto fd = Connect(Addr("sim-axeos-0004"), milliseconds(1000));
  ASSERT_TRUE(fd.ok());
  for (const char* path : {"/api/system/info", "/api/system/asic", "/nope"}) {
    ASSERT_TRUE(SendAll(*fd, std::string("GET ") + path +
                                 " HTTP/1.1\r\nHost: x\r\n\r\n")
                    .ok());
    auto r = ReadHttpReply(*fd, milliseconds(3000));
    ASSERT_TRUE(r.ok()) << path << ": " << r.status().ToString();
    EXPECT_EQ(r->status, std::string(path) == "/nope" ? 404 : 200) << path;
    EXPECT_FALSE(r->server_closed);
    if (r->status == 200) {
      EXPECT_FALSE(Parse(r->body).is_discarded());
    }
  }
  ::close(*fd);
  auto asic = Http(Addr("sim-axeos-0001"), "GET", "/api/system/asic");
  ASSERT_TRUE(asic.ok());
  EXPECT_EQ(asic->status, 404);  // v2.0 predates /api/system/asic
  auto wrong = Http(Addr("sim-axeos-0004"), "GET", "/api/system/restart");
  ASSERT_TRUE(wrong.ok());
  EXPECT_EQ(wrong->status, 405);
}

TEST_F(FleetTest, ControlApiListsLogsAndValidates) {
  auto [st, list] = Ctl("GET", "/miners");
  ASSERT_EQ(st, 200);
  ASSERT_EQ(list["miners"].size(), 7u);
  EXPECT_EQ(list["miners"][4]["variant"], "nerdqaxe-v1.0.35");
  EXPECT_EQ(list["miners"][6]["kind"], "cgminer");

  ASSERT_TRUE(Http(Addr("sim-axeos-0002"), "GET", "/api/system/info").ok());
  ASSERT_TRUE(
      Cgminer(Addr("sim-cgminer-0001"), "{\"command\":\"pools\"}").ok());
  auto [s1, log1] = Ctl("GET", "/miners/sim-axeos-0002/requests");
  EXPECT_EQ(log1["total"], 1);
  EXPECT_EQ(log1["requests"][0]["what"], "GET /api/system/info");
  EXPECT_EQ(log1["requests"][0]["t_ms"], ToUnixMillis(clock_.Now()));
  auto [s2, log2] = Ctl("GET", "/miners/sim-cgminer-0001/requests");
  EXPECT_EQ(log2["requests"][0]["what"], "pools");
  EXPECT_EQ(Ctl("DELETE", "/miners/sim-axeos-0002/requests").first, 200);
  EXPECT_EQ(
      Ctl("GET", "/miners/sim-axeos-0002/requests").second["requests"].size(),
      0u);

  EXPECT_EQ(Ctl("GET", "/miners/nope").first, 404);
  EXPECT_EQ(Ctl("POST", "/miners/sim-axeos-0002/faults", "{\"fault\":1}").first,
            400);
  EXPECT_EQ(Ctl("POST", "/miners/sim-axeos-0002/faults", "not json").first,
            400);
  EXPECT_EQ(
      Ctl("POST", "/miners/sim-axeos-0002/faults", R"({"fault":"melt"})").first,
      400);
  EXPECT_EQ(Ctl("GET", "/nowhere").first, 404);

  // "*" addresses every miner; params move the nominal hashrate.
  EXPECT_EQ(Ctl("POST", "/miners/*/faults", R"({"fault":"http500"})")
                .second["miners"],
            7);
  EXPECT_EQ(Ctl("DELETE", "/miners/*/faults/all").first, 200);
  EXPECT_EQ(
      Ctl("POST", "/miners/sim-axeos-0003/params", R"({"hashrate_ghs":1000})")
          .first,
      200);
  auto r = Http(Addr("sim-axeos-0003"), "GET", "/api/system/info");
  ASSERT_TRUE(r.ok());
  EXPECT_NEAR(Parse(r->body)["hashRate"].get<double>(), 1000, 50);
  EXPECT_EQ(Ctl("POST", "/miners/sim-axeos-0003/params", R"({"x":1})").first,
            400);
}

TEST_F(FleetTest, TargetsYamlListsEveryMiner) {
  const std::string y = sim_->TargetsYaml();
  EXPECT_NE(y.find("- {name: sim-axeos-0001, kind: bitaxe, address: \"" +
                   Addr("sim-axeos-0001") + "\"}"),
            std::string::npos);
  EXPECT_NE(y.find("- {name: sim-cgminer-0002, kind: cgminer, address: \"" +
                   Addr("sim-cgminer-0002") + "\"}"),
            std::string::npos);
  EXPECT_EQ(std::count(y.begin(), y.end(), '\n'), 8);  // comment + 7
}

TEST(FleetScaleTest, TwoThousandMinersStartAndAnswer) {
  const auto t0 = std::chrono::steady_clock::now();
  FleetOptions o;
  o.miners = 2000;
  o.base_address = "127.78.0.0";
  o.http_port = 0;
  o.cgminer_port = 0;
  auto sim = FleetSim::Create(std::move(o), SystemClock::Default());
  ASSERT_TRUE(sim.ok()) << sim.status().ToString();
  ASSERT_TRUE((*sim)->Start().ok());
  const auto t1 = std::chrono::steady_clock::now();
  int ok = 0;
  for (const auto& m : (*sim)->miners()) {
    if (FamilyOf(m.variant) == Family::kAxeos) {
      auto r = Http(m.address(), "GET", "/api/system/info");
      ok += r.ok() && r->status == 200;
    } else {
      auto r = Cgminer(m.address(), kSummary);
      ok += r.ok() && !r->empty() && r->back() == '\0';
    }
    ASSERT_LT(std::chrono::steady_clock::now() - t0, seconds(30));
  }
  const auto t2 = std::chrono::steady_clock::now();
  EXPECT_EQ(ok, 2000);
  const auto ms = [](auto d) {
    return std::chrono::duration_cast<milliseconds>(d).count();
  };
  std::printf(
      "fleet_sim_start_2000_ms %lld ms\nfleet_sim_2000_exchanges_ms "
      "%lld ms\n",
      static_cast<long long>(ms(t1 - t0)), static_cast<long long>(ms(t2 - t1)));
}

TEST(FleetSimBinaryTest, PrintsReadyWritesTargetsAndStopsOnSigterm) {
  const std::string bin = RIGWATCH_FLEET_SIM_BIN;  // set by CMake
  char dir_tmpl[] = "/tmp/fleet_sim_test_XXXXXX";
  ASSERT_NE(::mkdtemp(dir_tmpl), nullptr);
  const std::string targets = std::string(dir_tmpl) + "/targets.yaml";
  int out[2];
  ASSERT_EQ(::pipe(out), 0);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_addclose(&fa, out[0]);
  std::vector<std::string> args = {
      bin, "--miners",       "6", "--base-address", "127.79.0.0", "--http-port",
      "0", "--cgminer-port", "0", "--targets-out",  targets};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  ASSERT_EQ(posix_spawn(&pid, bin.c_str(), &fa, nullptr, argv.data(), environ),
            0);
  posix_spawn_file_actions_destroy(&fa);
  ::close(out[1]);
  // Whatever fails below, the child does not outlive the test.
  struct Reaper {
    pid_t pid;
    ~Reaper() {
      if (pid > 0 && ::waitpid(pid, nullptr, WNOHANG) == 0) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
      }
    }
  } reaper{pid};
  std::string line;
  while (line.find('\n') == std::string::npos) {
    auto r = ReadSome(out[0], milliseconds(10000));
    ASSERT_TRUE(r.ok() && !r->empty()) << "no ready line: " << line;
    line += *r;
  }
  ::close(out[0]);
  EXPECT_EQ(line.rfind("fleet_sim ready miners=6 control=127.0.0.1:", 0), 0u)
      << line;
  const std::string control = line.substr(
      line.find("control=") + 8, line.find('\n') - line.find("control=") - 8);
  auto h = Http(control, "GET", "/healthz");
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(Parse(h->body)["miners"], 6);
  std::ifstream f(targets);
  std::stringstream ss;
  ss << f.rdbuf();
  EXPECT_NE(ss.str().find("kind: bitaxe"), std::string::npos);
  EXPECT_NE(ss.str().find("kind: cgminer"), std::string::npos);

  ASSERT_EQ(::kill(pid, SIGTERM), 0);
  int status = 0;
  pid_t done = 0;
  ASSERT_TRUE(Eventually([&] {
    done = ::waitpid(pid, &status, WNOHANG);
    return done == pid;
  }));
  reaper.pid = 0;
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  std::remove(targets.c_str());
  ::rmdir(dir_tmpl);
}

}  // namespace
}  // namespace rigwatch::sim
