// The whatsminer kind: golden files over the fixtures of two firmware
// generations (API v1.4 2021, API v2.0.5 2024), the write crypto against
// the published test vector, and the signed restart chain.
#include "exporters/whatsminer.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "exporters/miner_metrics.h"
#include "exporters/registry.h"
#include "tests/unit/exporters/golden_util.h"

namespace rigwatch {
namespace {

namespace fs = std::filesystem;
using testing::FixtureDir;
using testing::ReadFile;
using testing::Render;
using testing::ValueOf;

const Credentials kAdmin{"admin", "admin"};

std::string Hex(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

Response Body(std::string body) {
  Response r;
  r.body = std::move(body);
  return r;
}

Response Fixture(const std::string& name) {
  return Body(ReadFile(FixtureDir("whatsminer") / name));
}

std::string Command(const fs::path& p) {
  std::string stem = p.stem().string();
  size_t dot = stem.rfind('.');
  return dot == std::string::npos ? "" : stem.substr(dot + 1);
}

// Poll replies render their samples; a get_token reply the next request of
// the chain (after a v2 get_version); a write reply the chain's verdict.
std::string Outcome(const fs::path& p) {
  const Exporter& e = whatsminer::GetExporter();
  const std::string cmd = Command(p);
  const Response r = Body(ReadFile(p));
  const Response version = Fixture("m50s-20240326.get_version.bin");
  if (cmd == "get_token") {
    std::vector<Response> rs = {version, r};
    Result<std::optional<Request>> n = e.NextSignedRestartRequest(rs, kAdmin);
    if (!n.ok()) return "restart " + n.status().ToString() + "\n";
    return "next " + (n->has_value() ? (*n)->payload : "none") + "\n";
  }
  if (cmd == "write") {
    std::vector<Response> rs = {version, Fixture("vector.get_token.bin"), r};
    return "restart " + e.ParseSignedRestartReply(rs, kAdmin).ToString() + "\n";
  }
  ScrapeResult out;
  Status st = whatsminer::ParseReply(cmd, r.body, out);
  if (!st.ok()) return Render(st);
  return Render(out);
}

TEST(WhatsminerTest, Golden) {
  const bool update = std::getenv("RIGWATCH_UPDATE_GOLDEN") != nullptr;
  std::vector<fs::path> files;
  for (const auto& f : fs::directory_iterator(FixtureDir("whatsminer"))) {
    if (f.is_regular_file()) files.push_back(f.path());
  }
  std::sort(files.begin(), files.end());
  ASSERT_GE(files.size(), 10u);
  for (const fs::path& p : files) {
    SCOPED_TRACE(p.filename().string());
    fs::path golden =
        p.parent_path() / "expected" / (p.filename().string() + ".golden");
    std::string got = Outcome(p);
    if (update) {
      fs::create_directories(golden.parent_path());
      std::ofstream(golden, std::ios::binary) << got;
      continue;
    }
    ASSERT_TRUE(fs::exists(golden)) << "no golden file " << golden;
    EXPECT_EQ(got, ReadFile(golden));
  }
}

// Every name and label emitted is in the descriptor table.
TEST(WhatsminerTest, EverySampleHasADescriptor) {
  int checked = 0;
  for (const auto& f : fs::directory_iterator(FixtureDir("whatsminer"))) {
    if (!f.is_regular_file()) continue;
    ScrapeResult out;
    whatsminer::ParseReply(Command(f.path()), ReadFile(f.path()), out)
        .IgnoreError("only the samples of replies that parse are checked");
    for (const Sample& s : out.samples) {
      const MetricDesc* d = FindDesc(MinerMetricDescs(), s.name);
      ASSERT_NE(d, nullptr) << s.name;
      for (const Label& l : s.labels) {
        EXPECT_NE(d->labels.find(l.name), std::string_view::npos) << s.name;
      }
      ++checked;
    }
  }
  EXPECT_GT(checked, 40);
}

TEST(WhatsminerTest, FullPollInBaseUnits) {
  const Exporter& e = whatsminer::GetExporter();
  std::vector<Response> rs;
  for (const Request& q : e.PollRequests()) {
    rs.push_back(Fixture("m50s-20240326." + q.name + ".bin"));
  }
  ASSERT_EQ(rs.size(), 5u);
  Result<ScrapeResult> r = e.Parse(rs);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_DOUBLE_EQ(ValueOf(*r, metric::kHashrate), 118362450.77e6);
  EXPECT_DOUBLE_EQ(ValueOf(*r, metric::kExpectedHashrate), 118000e9);
  EXPECT_EQ(ValueOf(*r, metric::kTemperature, "sensor", "chip"), 80.5);
  EXPECT_EQ(ValueOf(*r, metric::kTemperature, "sensor", "chip_max"), 88.75);
  EXPECT_EQ(ValueOf(*r, metric::kTemperature, "sensor", "board"), 66.5);
  EXPECT_EQ(ValueOf(*r, metric::kTemperature, "sensor", "env"), 24);
  EXPECT_EQ(ValueOf(*r, metric::kTemperature, "sensor", "chain2_chip"), 81.25);
  EXPECT_EQ(ValueOf(*r, metric::kTemperature, "sensor", "chain3_board"), 64);
  EXPECT_EQ(ValueOf(*r, metric::kChainChips, "chain", "1"), 148);
  EXPECT_EQ(ValueOf(*r, metric::kPower), 3392);
  EXPECT_EQ(ValueOf(*r, metric::kFanSpeed, "fan", "in"), 5520);
  EXPECT_EQ(ValueOf(*r, metric::kFrequency), 555e6);
  EXPECT_EQ(ValueOf(*r, metric::kPoolUp, "pool", "1"), 0);
  EXPECT_EQ(r->info.model, "M50SVH40");
  EXPECT_EQ(r->info.firmware, "20240326.18.REL");
  EXPECT_EQ(r->uptime_seconds, 23170);
  // The 2021 firmware: no power reading (-1), pools refused (skipped).
  rs.clear();
  for (const Request& q : e.PollRequests()) {
    rs.push_back(Fixture("m31s-20210315." + q.name + ".bin"));
  }
  r = e.Parse(rs);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(testing::FindSample(*r, metric::kPower), nullptr);
  EXPECT_EQ(ValueOf(*r, metric::kDeviceUp, "device", "chain3"), 0);
  EXPECT_EQ(r->info.model, "M31SV20");
  // API v3 firmware: a failed poll names the generation.
  rs.back() = Fixture("m60-20250110.get_version.bin");
  rs[0] = Body(R"({"STATUS":"E","Code":14,"Msg":"invalid cmd"})");
  r = e.Parse(rs);
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("API v3"), std::string::npos)
      << r.status().ToString();
}

TEST(WhatsminerTest, WriteCryptoMatchesTheVector) {
  EXPECT_EQ(*whatsminer::Md5CryptHash("admin", "BQ5hoXV9"),
            "RxmaDUO33TS7O26yeMHZ81");
  Result<whatsminer::WriteKey> k =
      whatsminer::DeriveWriteKey("admin", "BQ5hoXV9", "P5NTAcEp", "5039");
  ASSERT_TRUE(k.ok()) << k.status().ToString();
  EXPECT_EQ(k->sign, "W7vZynrBZBwIIjR5dvDJb0");
  EXPECT_EQ(Hex(k->aes_key),
            "199e0a202039bb7b558db7a54697dca29cb278055b7e659a127fb844d5a2fbf6");
  const std::string plain =
      R"({"cmd": "reboot", "token": "W7vZynrBZBwIIjR5dvDJb0"})";
  const std::string data = whatsminer::EncryptData(plain, k->aes_key);
  EXPECT_EQ(data,
            "DcyTG412zG4o6HOvecGnhxaAsY7U7iOQ1/9IYKdHACIZB4vURlN+js4PLFe7u5Qr"
            "RyDVoLR3fLV0Wtq/FvLWeA==");
  EXPECT_EQ(*whatsminer::DecryptData(data, k->aes_key), plain);
  EXPECT_FALSE(whatsminer::DecryptData("abc", k->aes_key).ok());
  EXPECT_FALSE(whatsminer::DecryptData("AAAA", k->aes_key).ok());
  EXPECT_FALSE(whatsminer::DecryptData("====", k->aes_key).ok());
  EXPECT_FALSE(whatsminer::Md5CryptHash("admin", "bad$salt").ok());
  EXPECT_FALSE(whatsminer::Md5CryptHash("admin", "").ok());
}

std::string Next(const std::vector<Response>& rs,
                 const Credentials& login = kAdmin) {
  Result<std::optional<Request>> n =
      whatsminer::GetExporter().NextSignedRestartRequest(rs, login);
  if (!n.ok()) return "error " + n.status().ToString();
  return n->has_value() ? (*n)->name : "done";
}

TEST(WhatsminerTest, SignedRestartChain) {
  const Exporter& e = whatsminer::GetExporter();
  EXPECT_TRUE(e.RestartUsesLogin());
  const Response v2 = Fixture("m50s-20240326.get_version.bin");
  const Response v1 = Fixture("m31s-20210315.get_version.bin");
  const Response v3 = Fixture("m60-20250110.get_version.bin");
  const Response token = Fixture("vector.get_token.bin");
  const Response ok = Fixture("ok.write.bin");
  const Response bad = Fixture("bad-token.write.bin");
  EXPECT_EQ(Next({}), "get_version");
  EXPECT_EQ(Next({v2}), "get_token");
  EXPECT_EQ(Next({v1}), "get_token");
  // No get_version on some firmware: STATUS E, go on.
  EXPECT_EQ(Next({Fixture("m31s-20210315.pools.bin")}), "get_token");
  // API v3 firmware: unsupported, never a silent success.
  EXPECT_EQ(Next({v3}).rfind("error failed_precondition", 0), 0u) << Next({v3});
  EXPECT_EQ(Next({v2, token}), "restart_btminer");
  EXPECT_EQ(Next({v2, Fixture("busy.get_token.bin")})
                .rfind("error failed_precondition", 0),
            0u);
  EXPECT_EQ(Next({v2, token, ok}), "done");
  EXPECT_TRUE(e.ParseSignedRestartReply({{v2, token, ok}}, kAdmin).ok());
  // A refused token: one more token and write, then denied.
  EXPECT_EQ(Next({v2, token, bad}), "get_token");
  EXPECT_EQ(Next({v2, token, bad, token}), "restart_btminer");
  EXPECT_EQ(Next({v2, token, bad, token, bad}), "done");
  Status denied =
      e.ParseSignedRestartReply({{v2, token, bad, token, bad}}, kAdmin);
  EXPECT_EQ(denied.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(denied.message().find("check token err"), std::string::npos);
  // The encrypted reply under another password does not decrypt.
  EXPECT_EQ(
      e.ParseSignedRestartReply({{v2, token, ok}}, {"admin", "other"}).code(),
      StatusCode::kInvalidArgument);
  // The reboot reply may never come.
  Response dropped;
  dropped.transport = UnavailableError("connection reset by peer");
  dropped.request_sent = true;
  EXPECT_TRUE(e.ParseSignedRestartReply({{v2, token, dropped}}, kAdmin).ok());
}

TEST(WhatsminerTest, TheWriteIsTheVectorsEncryption) {
  const Exporter& e = whatsminer::GetExporter();
  std::vector<Response> rs = {Fixture("m50s-20240326.get_version.bin"),
                              Fixture("vector.get_token.bin")};
  Result<std::optional<Request>> n = e.NextSignedRestartRequest(rs, kAdmin);
  ASSERT_TRUE(n.ok() && n->has_value());
  const std::string& p = (*n)->payload;
  ASSERT_EQ(p.rfind("{\"enc\":1,\"data\":\"", 0), 0u) << p;
  const std::string data = p.substr(17, p.size() - 19);
  Result<whatsminer::WriteKey> k =
      whatsminer::DeriveWriteKey("admin", "BQ5hoXV9", "P5NTAcEp", "5039");
  EXPECT_EQ(*whatsminer::DecryptData(data, k->aes_key),
            R"({"cmd":"restart_btminer","token":"W7vZynrBZBwIIjR5dvDJb0"})");
  EXPECT_NE(FindExporter("whatsminer"), nullptr);
}

}  // namespace
}  // namespace rigwatch
