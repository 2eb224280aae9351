// The golden-file loop of the kinds tested outside golden_test.cc (vnish,
// braiins): every fixture of a kind's folder that `skip` does not reject is
// rendered by `outcome` and compared with expected/<file>.golden;
// RIGWATCH_UPDATE_GOLDEN=1 rewrites them. Also the rendering of one step
// of a restart chain for fixtures named <name>-<HTTP status>.<step>.json.
#ifndef RIGWATCH_TESTS_UNIT_EXPORTERS_GOLDEN_DIR_H_
#define RIGWATCH_TESTS_UNIT_EXPORTERS_GOLDEN_DIR_H_

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "exporters/exporter.h"
#include "tests/unit/exporters/golden_util.h"

namespace rigwatch::testing {

inline Response HttpReply(int status, std::string body) {
  Response r;
  r.http_status = status;
  r.body = std::move(body);
  return r;
}

// "ok-200.unlock.json" -> {"ok-200", "unlock"}; the status is after the
// last '-' of the first part.
struct FixtureName {
  std::string base;
  std::string what;
  int status() const { return std::stoi(base.substr(base.rfind('-') + 1)); }
};
inline FixtureName SplitFixtureName(const std::filesystem::path& p) {
  const std::string stem = p.stem().string();
  const size_t dot = stem.rfind('.');
  if (dot == std::string::npos) return {stem, ""};
  return {stem.substr(0, dot), stem.substr(dot + 1)};
}

// The next request of `e`'s restart chain after `before` and `reply`
// ("next METHOD PATH AUTHORIZATION"), or the error that ends it; with
// `last`, the verdict on `reply` ("restart ok").
inline std::string ChainStep(const Exporter& e, std::vector<Response> before,
                             const Response& reply, bool last) {
  if (last) return "restart " + e.ParseRestartReply(reply).ToString() + "\n";
  before.push_back(reply);
  Result<std::optional<Request>> next = e.NextRestartRequest(before);
  if (!next.ok()) return "restart " + next.status().ToString() + "\n";
  if (!next->has_value()) return "next none\n";
  return "next " + (*next)->method + " " + (*next)->path + " " +
         (*next)->authorization + "\n";
}

inline void CheckGoldenDir(
    const std::string& kind, size_t min_files,
    const std::function<bool(const std::filesystem::path&)>& skip,
    const std::function<std::string(const std::filesystem::path&)>& outcome) {
  namespace fs = std::filesystem;
  const bool update = std::getenv("RIGWATCH_UPDATE_GOLDEN") != nullptr;
  std::vector<fs::path> files;
  for (const auto& f : fs::directory_iterator(FixtureDir(kind))) {
    if (f.is_regular_file() && !skip(f.path())) files.push_back(f.path());
  }
  std::sort(files.begin(), files.end());
  ASSERT_GE(files.size(), min_files) << FixtureDir(kind);
  for (const fs::path& p : files) {
    SCOPED_TRACE(p.filename().string());
    const fs::path golden =
        p.parent_path() / "expected" / (p.filename().string() + ".golden");
    const std::string got = outcome(p);
    if (update) {
      fs::create_directories(golden.parent_path());
      std::ofstream(golden, std::ios::binary) << got;
      continue;
    }
    ASSERT_TRUE(fs::exists(golden)) << "no golden file " << golden;
    EXPECT_EQ(got, ReadFile(golden));
  }
}

}  // namespace rigwatch::testing

#endif  // RIGWATCH_TESTS_UNIT_EXPORTERS_GOLDEN_DIR_H_
