// Golden tests: every fixture file in tests/fixtures/{bitaxe,cgminer} is
// parsed and the outcome (samples with labels and values, identity, uptime,
// or the error) is compared with tests/fixtures/<kind>/expected/<file>.golden.
// RIGWATCH_UPDATE_GOLDEN=1 rewrites the golden files; review the diff.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "exporters/antminer.h"
#include "exporters/avalon.h"
#include "exporters/bitaxe.h"
#include "exporters/cgminer.h"
#include "exporters/luxos.h"
#include "exporters/registry.h"
#include "tests/unit/exporters/golden_util.h"

namespace rigwatch {
namespace {

namespace fs = std::filesystem;
using testing::FixtureDir;
using testing::ReadFile;
using testing::Render;

std::vector<fs::path> Fixtures(const std::string& kind) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(FixtureDir(kind))) {
    if (e.is_regular_file()) out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// cgminer fixtures are named <variant>.<command>.bin, Antminer web CGI
// pages <variant>.<page>.cgi.bin (command "<page>.cgi").
std::string Command(const fs::path& p) {
  std::string stem = p.stem().string();
  const bool cgi = stem.ends_with(".cgi");
  if (cgi) stem.resize(stem.size() - 4);
  size_t dot = stem.rfind('.');
  if (dot == std::string::npos) return "";
  return stem.substr(dot + 1) + (cgi ? ".cgi" : "");
}

using ReplyParser = Status (*)(std::string_view, std::string_view,
                               ScrapeResult&);

// The per-command parser of the kinds built on the cgminer framing.
ReplyParser ParserOf(const std::string& kind) {
  if (kind == "antminer") return &antminer::ParseReply;
  if (kind == "avalon") return &avalon::ParseReply;
  if (kind == "luxos") return &luxos::ParseReply;
  return nullptr;
}

// Restart-path fixtures: `.session.bin` is the first reply of a restart
// chain (the next request is rendered), `.ascset.bin` a final reply.
std::string RestartOutcome(const std::string& kind, const std::string& cmd,
                           const std::string& body) {
  const Exporter& e = *FindExporter(kind);
  Response r;
  r.body = body;
  if (cmd == "session") {
    std::vector<Response> rs = {r};
    Result<std::optional<Request>> next = e.NextRestartRequest(rs);
    if (!next.ok()) return "restart " + next.status().ToString() + "\n";
    return "next " + (next->has_value() ? (*next)->payload : "none") + "\n";
  }
  return "restart " + e.ParseRestartReply(r).ToString() + "\n";
}

std::string Outcome(const std::string& kind, const fs::path& p) {
  std::string body = ReadFile(p);
  if (kind == "bitaxe") return Render(bitaxe::ParseInfo(body));
  std::string cmd = Command(p);
  if (ReplyParser parse = ParserOf(kind)) {
    if (cmd == "session" || cmd == "ascset") {
      return RestartOutcome(kind, cmd, body);
    }
    ScrapeResult out;
    Status st = parse(cmd, body, out);
    if (!st.ok()) return Render(st);
    return Render(out);
  }
  if (cmd == "restart") {
    Response r;
    r.body = body;
    return "restart " + cgminer::GetExporter().ParseRestartReply(r).ToString() +
           "\n";
  }
  cgminer::Section s = cmd == "devs"    ? cgminer::Section::kDevs
                       : cmd == "pools" ? cgminer::Section::kPools
                       : cmd == "stats" ? cgminer::Section::kStats
                                        : cgminer::Section::kSummary;
  ScrapeResult out;
  Status st = cgminer::ParseSection(s, body, out);
  if (!st.ok()) return Render(st);
  return Render(out);
}

void CheckKind(const std::string& kind) {
  const bool update = std::getenv("RIGWATCH_UPDATE_GOLDEN") != nullptr;
  std::vector<fs::path> files = Fixtures(kind);
  ASSERT_GE(files.size(), 5u) << "fixtures missing in " << FixtureDir(kind);
  for (const fs::path& p : files) {
    SCOPED_TRACE(p.filename().string());
    fs::path golden =
        p.parent_path() / "expected" / (p.filename().string() + ".golden");
    std::string got = Outcome(kind, p);
    if (update) {
      fs::create_directories(golden.parent_path());
      std::ofstream(golden, std::ios::binary) << got;
      continue;
    }
    ASSERT_TRUE(fs::exists(golden)) << "no golden file " << golden;
    EXPECT_EQ(got, ReadFile(golden));
  }
}

TEST(ExporterGoldenTest, Bitaxe) { CheckKind("bitaxe"); }

// The poller finds counters (and HELP text) through the descriptor table, so
// every name an exporter emits must be in it, with every label documented.
TEST(ExporterGoldenTest, EverySampleHasADescriptor) {
  int checked = 0;
  for (const std::string kind :
       {"bitaxe", "cgminer", "antminer", "avalon", "luxos"}) {
    for (const fs::path& p : Fixtures(kind)) {
      std::string body = ReadFile(p);
      ScrapeResult out;
      if (ReplyParser parse = ParserOf(kind)) {
        parse(Command(p), body, out)
            .IgnoreError("only the samples of replies that parse are checked");
      } else if (kind == "bitaxe") {
        Result<ScrapeResult> r = bitaxe::ParseInfo(body);
        if (!r.ok()) continue;
        out = std::move(r).value();
      } else {
        for (cgminer::Section s :
             {cgminer::Section::kSummary, cgminer::Section::kDevs,
              cgminer::Section::kPools, cgminer::Section::kStats}) {
          cgminer::ParseSection(s, body, out)
              .IgnoreError(
                  "only the samples of the sections that parse are checked");
        }
      }
      for (const Sample& s : out.samples) {
        const MetricDesc* d = FindDesc(MinerMetricDescs(), s.name);
        ASSERT_NE(d, nullptr) << s.name << " from " << p;
        for (const Label& l : s.labels) {
          EXPECT_NE(d->labels.find(l.name), std::string_view::npos)
              << s.name << " label " << l.name << " not documented";
        }
        ++checked;
      }
    }
  }
  EXPECT_GT(checked, 200);
}
TEST(ExporterGoldenTest, Cgminer) { CheckKind("cgminer"); }
TEST(ExporterGoldenTest, Antminer) { CheckKind("antminer"); }
TEST(ExporterGoldenTest, Avalon) { CheckKind("avalon"); }
TEST(ExporterGoldenTest, Luxos) { CheckKind("luxos"); }

}  // namespace
}  // namespace rigwatch
