#include "agent/store/codec.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

using namespace std::literals;

#include "agent/store/csv.h"
#include "agent/store/time_windows.h"

namespace rigwatch::store {
namespace {

std::vector<ChunkPoint> RoundTrip(const std::vector<ChunkPoint>& in,
                                  size_t* bytes = nullptr) {
  std::string enc;
  EncodeChunk(in, enc);
  if (bytes) *bytes = enc.size();
  std::vector<ChunkPoint> out;
  Status s = DecodeChunk(enc, out);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

void ExpectSame(const std::vector<ChunkPoint>& a,
                const std::vector<ChunkPoint>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].ts_ms, b[i].ts_ms) << i;
    // Bit-exact, so NaN and -0.0 are checked too.
    EXPECT_EQ(std::memcmp(&a[i].value, &b[i].value, 8), 0)
        << i << ": " << a[i].value << " vs " << b[i].value;
  }
}

TEST(Varint, RoundTripsEdges) {
  for (uint64_t v : {uint64_t{0}, uint64_t{127}, uint64_t{128},
                     uint64_t{1} << 35, ~uint64_t{0}}) {
    std::string s;
    PutVarint(s, v);
    std::string_view in = s;
    uint64_t got;
    ASSERT_TRUE(GetVarint(in, got));
    EXPECT_EQ(got, v);
    EXPECT_TRUE(in.empty());
  }
  std::string_view truncated("\x80\x80", 2);
  uint64_t v;
  EXPECT_FALSE(GetVarint(truncated, v));
  EXPECT_EQ(UnZigZag(ZigZag(-5)), -5);
}

TEST(Chunk, RegularDecimalsPackSmall) {
  std::vector<ChunkPoint> pts;
  for (int i = 0; i < 360; ++i) {
    pts.push_back({1767225600000 + 10000 * i, 55.25 + (i % 3) * 0.25});
  }
  size_t bytes;
  ExpectSame(pts, RoundTrip(pts, &bytes));
  EXPECT_LE(bytes, 2 * pts.size() + 16);  // ~1 byte ts + 1 byte value
}

TEST(Chunk, NoisyFloatsJitterAndSpecialsRoundTripExactly) {
  std::mt19937_64 rng(7);
  std::normal_distribution<double> noise(0, 3);
  std::vector<ChunkPoint> pts;
  int64_t ts = 1767225600000;
  for (int i = 0; i < 500; ++i) {
    ts += 10000 + static_cast<int64_t>(noise(rng) * 30);
    pts.push_back({ts, 480.0 + noise(rng)});
  }
  pts[10].value = std::numeric_limits<double>::quiet_NaN();
  pts[11].value = -0.0;
  pts[12].value = std::numeric_limits<double>::infinity();
  pts[13].value = pts[12].value;
  ExpectSame(pts, RoundTrip(pts));
}

TEST(Chunk, Float32ReadingsUseHalfWidthWords) {
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<float> u(14.0f, 15.0f);
  std::vector<ChunkPoint> pts;
  for (int i = 0; i < 360; ++i) pts.push_back({10000 * i, u(rng)});
  size_t bytes;
  ExpectSame(pts, RoundTrip(pts, &bytes));
  EXPECT_LT(bytes, 5 * pts.size());  // <= 4 bytes of float32 + header
  pts[7].value = 14.1;  // not a float32: falls back to double words
  ExpectSame(pts, RoundTrip(pts));
}

TEST(Chunk, NegativeZeroAndLargeIntegers) {
  ExpectSame({{0, -0.0}, {1, 0.0}}, RoundTrip({{0, -0.0}, {1, 0.0}}));
  std::vector<ChunkPoint> big = {{0, 1e18}, {5, -1e18}, {9, 3}};
  ExpectSame(big, RoundTrip(big));
  std::vector<ChunkPoint> one = {{-1000, 0.1}};
  ExpectSame(one, RoundTrip(one));
  ExpectSame({}, RoundTrip({}));
}

TEST(Chunk, MalformedInputIsDataLossNotACrash) {
  std::vector<ChunkPoint> pts = {{0, 1.5}, {10, 2.5}, {20, 7.123456789123}};
  std::string enc;
  EncodeChunk(pts, enc);
  for (size_t cut = 0; cut < enc.size(); ++cut) {
    std::vector<ChunkPoint> out;
    Status s = DecodeChunk(std::string_view(enc).substr(0, cut), out);
    EXPECT_EQ(s.code(), StatusCode::kDataLoss) << cut;
  }
  std::vector<ChunkPoint> out;
  EXPECT_EQ(DecodeChunk(enc + "x", out).code(), StatusCode::kDataLoss);
}

TEST(SeriesName, RoundTrips) {
  Labels l = {{"a", "x"}, {"b", ""}};
  std::string enc = EncodeSeriesName("m", l);
  std::string metric;
  Labels got;
  ASSERT_TRUE(DecodeSeriesName(enc, metric, got).ok());
  EXPECT_EQ(metric, "m");
  EXPECT_EQ(got, l);
  EXPECT_FALSE(DecodeSeriesName("m\0a\0"sv, metric, got).ok());
}

TEST(TimeWindows, NamesParseBack) {
  int64_t t = 1795837869123;  // 2026-11-28T...
  EXPECT_EQ(ParseWindowName(HourName(t)), HourStart(t));
  EXPECT_EQ(ParseWindowName(DayName(t)), DayStart(t));
  EXPECT_EQ(HourName(1767225600000), "2026010100");
  EXPECT_EQ(MonthEnd(1767225600000), 1769904000000);  // 2026-02-01
  EXPECT_EQ(ParseWindowName("2026133100"), -1);
  EXPECT_EQ(FormatRfc3339(FromUnixMillis(1767225600123)),
            "2026-01-01T00:00:00.123Z");
}

}  // namespace
}  // namespace rigwatch::store
