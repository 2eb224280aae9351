#include "exporters/label_caps.h"

#include <gtest/gtest.h>

#include "exporters/json_util.h"

namespace rigwatch {
namespace {

TEST(LabelCapsTest, ShortValidValueIsUnchanged) {
  std::string v = "bitaxe-\xC3\xA9t\xC3\xA9";  // "bitaxe-été"
  EXPECT_FALSE(CapLabelValue(v));
  EXPECT_EQ(v, "bitaxe-\xC3\xA9t\xC3\xA9");
}

TEST(LabelCapsTest, LongValueIsCutToTheCap) {
  std::string v(900 * 1024, 'h');
  EXPECT_TRUE(CapLabelValue(v));
  EXPECT_EQ(v, std::string(kMaxMinerLabelBytes, 'h'));
}

TEST(LabelCapsTest, CutNeverSplitsACharacter) {
  // 127 ASCII bytes then a 2-byte character: it does not fit whole.
  std::string v = std::string(kMaxMinerLabelBytes - 1, 'a') + "\xC3\xA9";
  EXPECT_TRUE(CapLabelValue(v));
  EXPECT_EQ(v, std::string(kMaxMinerLabelBytes - 1, 'a'));
  // Exactly at the cap with the character whole: unchanged.
  v = std::string(kMaxMinerLabelBytes - 2, 'a') + "\xC3\xA9";
  EXPECT_FALSE(CapLabelValue(v));
  EXPECT_EQ(v.size(), kMaxMinerLabelBytes);
}

TEST(LabelCapsTest, InvalidUtf8BecomesReplacementCharacter) {
  std::string v =
      "a\xFF"
      "b\xC3";  // a stray byte and a cut sequence
  EXPECT_TRUE(CapLabelValue(v));
  EXPECT_EQ(v,
            "a\xEF\xBF\xBD"
            "b\xEF\xBF\xBD");
}

TEST(LabelCapsTest, ScrapeCapsLabelsAndInfo) {
  ScrapeResult r;
  r.samples.push_back(Sample{
      "miner_pool_up", {{"pool", std::string(500, 'p')}, {"i", "0"}}, 1});
  r.info.hostname = std::string(1000, 'x');
  r.info.model = "BM1366";
  EXPECT_EQ(CapScrapeStrings(r), 2u);
  EXPECT_EQ(r.samples[0].labels[0].value.size(), kMaxMinerLabelBytes);
  EXPECT_EQ(r.samples[0].labels[1].value, "0");
  EXPECT_EQ(r.info.hostname.size(), kMaxMinerLabelBytes);
  EXPECT_EQ(r.info.model, "BM1366");
}

TEST(LabelCapsTest, OutOfRangeNumberIsOneMissingField) {
  auto j = json_util::ParseLenient(
      R"({"hashRate": 1e309, "temp": 51.5, "x": -1e309, "y": [1e999],
          "z": 1e-400})",
      "info");
  ASSERT_TRUE(j.ok()) << j.status().ToString();
  EXPECT_TRUE(j.value()["hashRate"].is_null());
  EXPECT_TRUE(j.value()["x"].is_null());
  EXPECT_TRUE(j.value()["y"][0].is_null());
  EXPECT_TRUE(j.value()["z"].is_null());
  EXPECT_EQ(json_util::ToNumber(json_util::Field(j.value(), "temp")), 51.5);
}

}  // namespace
}  // namespace rigwatch
