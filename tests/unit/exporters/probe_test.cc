// The `kind: auto` decision table over real replies: the exporters'
// fixtures where they are what a probe receives, and probe replies
// (tests/fixtures/probe) for the firmwares whose exporters live elsewhere.
#include "exporters/probe.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "exporters/registry.h"
#include "tests/support/files.h"

namespace rigwatch::probe {
namespace {

std::string Fixture(const std::string& rel) {
  const std::string path = test_support::SourceDir() + "/tests/fixtures/" + rel;
  std::string bytes = test_support::ReadFile(path);
  EXPECT_FALSE(bytes.empty()) << "missing fixture " << path;
  return bytes;
}

Response Reply(const std::string& fixture) {
  Response r;
  r.body = Fixture(fixture);
  return r;
}

Response Web(int status, const std::string& fixture) {
  Response r = Reply(fixture);
  r.http_status = status;
  return r;
}

Response Refused() {
  Response r;
  r.transport = UnavailableError("connect: Connection refused");
  return r;
}

// The kinds of this build.
bool Registered(std::string_view k) { return FindExporter(k) != nullptr; }
// This build plus the kinds whose table entries wait for their exporters.
bool AllKinds(std::string_view k) {
  return Registered(k) || k == "whatsminer" || k == "vnish" || k == "braiins";
}

std::string KindOf(const Replies& r, const KindFilter& f = AllKinds) {
  std::optional<Decision> d = Decide(r, f);
  return d ? d->kind : "<none>";
}

Replies Version(const std::string& fixture) {
  Replies r;
  r.version = Reply(fixture);
  return r;
}

TEST(ProbeTableTest, EveryRegisteredKindHasAnEntryAndEveryEntryAKind) {
  std::set<std::string_view> table;
  for (std::string_view k : TableKinds()) {
    EXPECT_TRUE(table.insert(k).second) << k << " listed twice";
    EXPECT_TRUE(AllKinds(k)) << k << " is neither registered nor expected";
  }
  for (std::string_view k : KnownKinds()) {
    EXPECT_TRUE(table.count(k)) << "kind " << k << " has no probe entry";
  }
}

TEST(ProbeTableTest, VersionRepliesOfEveryApiKind) {
  EXPECT_EQ(KindOf(Version("probe/antminer-s19jpro.version.bin")), "antminer");
  EXPECT_EQ(KindOf(Version("avalon/a1366-2211.version.bin")), "avalon");
  EXPECT_EQ(KindOf(Version("avalon/nano3s-2502.version.bin")), "avalon");
  EXPECT_EQ(KindOf(Version("probe/luxos-s19.version.bin")), "luxos");
  EXPECT_EQ(KindOf(Version("probe/cgminer-4.11.version.bin")), "cgminer");
  EXPECT_EQ(KindOf(Version("probe/braiins-boser.version.bin")), "braiins");
  EXPECT_EQ(KindOf(Version("probe/vnish-s19xp.version.bin")), "vnish");
  // Old Whatsminers refuse `version` with their flat Code 14.
  EXPECT_EQ(KindOf(Version("cgminer/whatsminer.invalid-cmd.summary.bin")),
            "whatsminer");
}

TEST(ProbeTableTest, EvidenceNamesTheMarker) {
  std::optional<Decision> d =
      Decide(Version("probe/luxos-s19.version.bin"), AllKinds);
  ASSERT_TRUE(d);
  // LuxOS also says "Antminer": the copy is listed before the original.
  EXPECT_EQ(*d, (Decision{"luxos", "version contains LUXMINER"}));
}

TEST(ProbeTableTest, AnyCommandsStatusNamesTheFirmware) {
  // What a firmware sends for any command carries its Description.
  EXPECT_EQ(KindOf(Version("cgminer/luxos-s19.summary.bin")), "luxos");
  EXPECT_EQ(KindOf(Version("cgminer/boser.summary.bin")), "braiins");
}

TEST(ProbeTableTest, DevdetailsWhenVersionSaysNothing) {
  Replies r;
  r.version = Response{};  // 0 bytes: the host is not in --api-allow
  r.devdetails = Reply("probe/whatsminer-m50s.devdetails.bin");
  EXPECT_EQ(KindOf(r), "whatsminer");
  r.devdetails = Reply("probe/braiins-bosminer.devdetails.bin");
  // "Bitmain Antminer S9" in devdetails is no stock Antminer.
  EXPECT_EQ(KindOf(r), "braiins");
  std::optional<Decision> d = Decide(r, AllKinds);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->evidence, "devdetails contains BOSMINER");
}

TEST(ProbeTableTest, WebPages) {
  Replies r;
  r.version = Refused();
  r.web = Web(200, "probe/axeos.index.html");
  EXPECT_EQ(KindOf(r), "bitaxe");
  r.web = Web(200, "probe/nerdqaxe.index.html");
  EXPECT_EQ(KindOf(r), "bitaxe");
  r.web = Web(200, "probe/vnish.index.html");
  EXPECT_EQ(KindOf(r), "vnish");

  r.web = Web(401, "probe/antminer.401.html");
  r.web->www_authenticate =
      "Digest realm=\"antMiner Configuration\", nonce=\"n1\", qop=\"auth\"";
  EXPECT_EQ(KindOf(r), "antminer");

  r.web = Web(307, "probe/whatsminer.index.html");
  r.web->location = "https://192.168.1.30/cgi-bin/luci";
  EXPECT_EQ(KindOf(r), "whatsminer");
  r.web->location = "http://192.168.1.30/cgi-bin/luci";  // not to https
  EXPECT_EQ(KindOf(r), "<none>");

  // AxeOS refusing a non-private client: a 401 page tells nothing.
  r.web = Web(401, "bitaxe/unauthorized.html");
  EXPECT_EQ(KindOf(r), "<none>");
  // A title in an error page is no evidence either.
  r.web = Web(404, "probe/axeos.index.html");
  EXPECT_EQ(KindOf(r), "<none>");
}

TEST(ProbeTableTest, KindsThisBuildLacksFallBackToWhatReadsThem) {
  // Without their own exporters: Vnish's 4028 is the stock Antminer API,
  // Braiins and Whatsminer answer as cgminer does.
  EXPECT_EQ(KindOf(Version("probe/vnish-s19xp.version.bin"), Registered),
            Registered("vnish") ? "vnish" : "antminer");
  EXPECT_EQ(KindOf(Version("probe/braiins-boser.version.bin"), Registered),
            Registered("braiins") ? "braiins" : "cgminer");
  // A filter that lacks a kind never returns it.
  auto no_luxos = [](std::string_view k) {
    return AllKinds(k) && k != "luxos";
  };
  EXPECT_EQ(KindOf(Version("probe/luxos-s19.version.bin"), no_luxos),
            "antminer");
}

TEST(ProbeStepsTest, StopsAtTheFirstDecisiveStep) {
  Replies r;
  EXPECT_EQ(NextStep(r, AllKinds), Source::kVersion);
  r.version = Reply("avalon/a1366-2211.version.bin");
  EXPECT_EQ(NextStep(r, AllKinds), std::nullopt);
}

TEST(ProbeStepsTest, NoDevdetailsWhenTheApiPortIsClosed) {
  Replies r;
  r.version = Refused();
  EXPECT_EQ(NextStep(r, AllKinds), Source::kWeb);
  Response not_found;
  not_found.http_status = 404;
  not_found.body = "This URI does not exist";
  r.web = not_found;
  EXPECT_EQ(NextStep(r, AllKinds), std::nullopt);
  EXPECT_EQ(Decide(r, AllKinds), std::nullopt);
  EXPECT_EQ(Explain(r),
            "version: connect: Connection refused; web: HTTP 404, no known "
            "marker");
}

TEST(ProbeStepsTest, AllThreeStepsWhenNothingMatches) {
  Replies r;
  r.version = Reply("bitaxe/garbage.bin");
  EXPECT_EQ(NextStep(r, AllKinds), Source::kDevdetails);
  r.devdetails = Reply("bitaxe/garbage.bin");
  EXPECT_EQ(NextStep(r, AllKinds), Source::kWeb);
  r.web = Refused();
  EXPECT_EQ(NextStep(r, AllKinds), std::nullopt);
  EXPECT_EQ(Explain(r),
            "version: reply without a known marker; devdetails: reply "
            "without a known marker; web: connect: Connection refused");
}

TEST(ProbeStepsTest, Requests) {
  EXPECT_EQ(RequestFor(Source::kVersion).payload, R"({"command":"version"})");
  EXPECT_EQ(RequestFor(Source::kVersion).side, Request::Side::kApi);
  EXPECT_EQ(RequestFor(Source::kDevdetails).payload,
            R"({"command":"devdetails"})");
  const Request web = RequestFor(Source::kWeb);
  EXPECT_EQ(web.side, Request::Side::kWeb);
  EXPECT_EQ(web.method, "GET");
  EXPECT_EQ(web.path, "/");
  EXPECT_FALSE(web.authenticate);
}

}  // namespace
}  // namespace rigwatch::probe
