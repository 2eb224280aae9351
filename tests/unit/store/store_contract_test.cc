// One contract, every Store implementation: RocksStore (real RocksDB in a
// temp dir) and MemoryStore.
#include <gtest/gtest.h>

#include <sstream>

#include "agent/store/csv.h"
#include "agent/store/memory_store.h"
#include "agent/store/rocks_store.h"
#include "tests/fakes/fake_clock.h"
#include "tests/unit/store/store_test_util.h"

namespace rigwatch::store {
namespace {

using testing::At;
using testing::MinerPoll;
using testing::TempDir;

struct RocksBackend {
  static Result<std::unique_ptr<Store>> Open(const StoreOptions& o) {
    return OpenRocksStore(o);
  }
};
struct MemoryBackend {
  static Result<std::unique_ptr<Store>> Open(const StoreOptions& o) {
    return OpenMemoryStore(o);
  }
};

template <typename Backend>
class StoreContractTest : public ::testing::Test {
 protected:
  void SetUp() override {
    clock_.SetWall(At(0));
    opts_.path = dir_.Sub("db");
    opts_.clock = &clock_;
    opts_.maintenance_interval = std::chrono::seconds(0);
    opts_.min_free_bytes = 0;
    opts_.verify_on_open = false;
  }
  Store& Open() {
    auto s = Backend::Open(opts_);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
    return *store_;
  }
  // rig-1 every 10 s from `start` for `n` polls; shares count up by 3.
  void Feed(const std::string& target, int64_t start, int n,
            double base = 500) {
    for (int i = 0; i < n; ++i) {
      store_->Append(target, At(start + 10 * i),
                     MinerPoll(base + i, 55.25, 4800 + i, 3.0 * i));
    }
    store_->SyncRound();
  }

  TempDir dir_;
  FakeClock clock_;
  StoreOptions opts_;
  std::unique_ptr<Store> store_;
};

using Backends = ::testing::Types<RocksBackend, MemoryBackend>;
TYPED_TEST_SUITE(StoreContractTest, Backends);

const SeriesKey kHash{"rig-1", "miner_hashrate_hashes_per_second", {}};
const SeriesKey kFan{
    "rig-1", "miner_fan_speed_rpm", {{"board", "a"}, {"fan", "0"}}};
const SeriesKey kShares{"rig-1", "miner_shares_accepted_total", {}};

TYPED_TEST(StoreContractTest, AppendThenReadRangeReturnsEveryPointInOrder) {
  Store& s = this->Open();
  this->Feed("rig-1", 0, 30);
  ASSERT_TRUE(s.Flush().ok());
  auto pts = s.ReadRange(kHash, At(0), At(300));
  ASSERT_TRUE(pts.ok()) << pts.status().ToString();
  ASSERT_EQ(pts->size(), 30u);
  for (int i = 0; i < 30; ++i) {
    EXPECT_EQ((*pts)[i].ts, At(10 * i));
    EXPECT_EQ((*pts)[i].value, 500 + i);
  }
  // Half-open range; labels in any order name the same series.
  SeriesKey fan_reordered{
      "rig-1", "miner_fan_speed_rpm", {{"fan", "0"}, {"board", "a"}}};
  auto fan = s.ReadRange(fan_reordered, At(100), At(150));
  ASSERT_TRUE(fan.ok());
  ASSERT_EQ(fan->size(), 5u);
  EXPECT_EQ(fan->front().value, 4810);
  EXPECT_EQ(s.Stats().samples_written, 120u);
  EXPECT_EQ(s.dropped_samples(), 0u);
}

TYPED_TEST(StoreContractTest, UnknownSeriesIsEmptyNotZero) {
  Store& s = this->Open();
  this->Feed("rig-1", 0, 3);
  ASSERT_TRUE(s.Flush().ok());
  auto pts = s.ReadRange({"rig-1", "no_such_metric", {}}, At(0), At(100));
  ASSERT_TRUE(pts.ok());
  EXPECT_TRUE(pts->empty());
  auto latest = s.Latest({"rig-9", "miner_hashrate_hashes_per_second", {}});
  ASSERT_TRUE(latest.ok());
  EXPECT_FALSE(latest->has_value());
}

TYPED_TEST(StoreContractTest, AbsentSampleInOnePollLeavesAGap) {
  Store& s = this->Open();
  s.Append("rig-1", At(0), MinerPoll(1, 50, 4000, 1));
  Samples partial = MinerPoll(2, 51, 4001, 2);
  partial.erase(partial.begin());  // no hashrate this time
  s.Append("rig-1", At(10), partial);
  s.Append("rig-1", At(20), MinerPoll(3, 52, 4002, 3));
  ASSERT_TRUE(s.Flush().ok());
  auto hash = s.ReadRange(kHash, At(0), At(30));
  ASSERT_TRUE(hash.ok());
  ASSERT_EQ(hash->size(), 2u);
  EXPECT_EQ((*hash)[1].ts, At(20));
  auto shares = s.ReadRange(kShares, At(0), At(30));
  ASSERT_EQ(shares->size(), 3u);
}

TYPED_TEST(StoreContractTest, LatestIsTheNewestPoint) {
  Store& s = this->Open();
  this->Feed("rig-1", 0, 10);
  ASSERT_TRUE(s.Flush().ok());
  auto l = s.Latest(kHash);
  ASSERT_TRUE(l.ok());
  ASSERT_TRUE(l->has_value());
  EXPECT_EQ((*l)->ts, At(90));
  EXPECT_EQ((*l)->value, 509);
  // A series missing from the newest poll still has a latest value.
  s.Append("rig-1", At(100),
           {{"miner_temperature_celsius", {{"sensor", "chip"}}, 60}});
  ASSERT_TRUE(s.Flush().ok());
  l = s.Latest(kHash);
  ASSERT_TRUE(l.ok() && l->has_value());
  EXPECT_EQ((*l)->ts, At(90));
}

TYPED_TEST(StoreContractTest, AggregatesOverAWindow) {
  Store& s = this->Open();
  // Counter 0,3,6,...,27 then a reset to 2 at t=100.
  this->Feed("rig-1", 0, 10);
  s.Append("rig-1", At(100), MinerPoll(0, 0, 0, 2));
  ASSERT_TRUE(s.Flush().ok());
  auto agg = [&](const SeriesKey& k, Aggregation a) {
    auto r = s.Aggregate(k, At(0), At(200), a);
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : std::nullopt;
  };
  EXPECT_EQ(agg(kShares, Aggregation::kIncrease), 27 + 2);
  EXPECT_DOUBLE_EQ(*agg(kShares, Aggregation::kRate), 29.0 / 100.0);
  EXPECT_EQ(agg(kShares, Aggregation::kLast), 2);
  EXPECT_EQ(agg(kHash, Aggregation::kMax), 509);
  EXPECT_EQ(agg(kHash, Aggregation::kMin), 0);
  EXPECT_DOUBLE_EQ(*agg(kHash, Aggregation::kAvg), (5045.0) / 11.0);
  auto empty = s.Aggregate(kHash, At(1000), At(2000), Aggregation::kAvg);
  ASSERT_TRUE(empty.ok());
  EXPECT_FALSE(empty->has_value());
}

TYPED_TEST(StoreContractTest, SelectorsMatchLabelsAndTargets) {
  Store& s = this->Open();
  this->Feed("rig-1", 0, 3);
  this->Feed("rig-2", 0, 3);
  s.Append("host", At(0), {{"node_load1", {}, 0.5}});
  ASSERT_TRUE(s.Flush().ok());
  using Op = LabelMatcher::Op;
  auto count = [&](Selector sel) {
    auto r = s.MatchSeries(sel);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->size() : size_t{999};
  };
  EXPECT_EQ(count({"miner_fan_speed_rpm", {}, {}}), 2u);
  EXPECT_EQ(count({"miner_fan_speed_rpm", {}, "rig-2"}), 1u);
  EXPECT_EQ(count({"", {{"miner", Op::kEq, "rig-1"}}, {}}), 4u);
  EXPECT_EQ(count({"", {{"miner", Op::kRegex, "rig-.*"}}, {}}), 8u);
  EXPECT_EQ(count({"", {{"miner", Op::kNotRegex, "rig-.*"}}, {}}), 1u);
  EXPECT_EQ(count({"", {{"sensor", Op::kEq, "chip"}}, {}}), 2u);
  EXPECT_EQ(count({"", {{"sensor", Op::kNe, ""}}, {}}), 2u);
  EXPECT_EQ(count({"", {{"miner", Op::kRegex, "rig"}}, {}}), 0u);  // anchored
  auto bad = s.MatchSeries({"", {{"miner", Op::kRegex, "(["}}, {}});
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);

  auto sel =
      s.Select({"miner_hashrate_hashes_per_second", {}, {}}, At(0), At(100));
  ASSERT_TRUE(sel.ok());
  ASSERT_EQ(sel->size(), 2u);
  EXPECT_EQ((*sel)[0].key.target, "rig-1");
  EXPECT_EQ((*sel)[1].key.target, "rig-2");
  EXPECT_EQ((*sel)[1].points.size(), 3u);
}

TYPED_TEST(StoreContractTest, ScanIsInTimeOrderAcrossTargetsAndWritesCsv) {
  Store& s = this->Open();
  // rig-b polls at odd seconds, rig-a at even ones; across an hour boundary.
  for (int i = 0; i < 6; ++i) {
    s.Append("rig-b", At(3590 + 4 * i + 1), {{"m", {}, double(i)}});
    s.Append("rig-a", At(3590 + 4 * i), {{"m", {{"k", "a,\"b\""}}, double(i)}});
  }
  ASSERT_TRUE(s.Flush().ok());
  auto it = s.Scan(At(3590), At(3700));
  ASSERT_TRUE(it.ok());
  Row row;
  std::vector<std::pair<WallTime, std::string>> seen;
  while (true) {
    auto more = (*it)->Next(row);
    ASSERT_TRUE(more.ok()) << more.status().ToString();
    if (!*more) break;
    seen.emplace_back(row.ts, row.target);
  }
  ASSERT_EQ(seen.size(), 12u);
  for (size_t i = 1; i < seen.size(); ++i) {
    EXPECT_LT(seen[i - 1].first, seen[i].first);
    EXPECT_EQ(seen[i].second, i % 2 ? "rig-b" : "rig-a");
  }
  auto it2 = s.Scan(At(3590), At(3592));
  ASSERT_TRUE(it2.ok());
  std::ostringstream csv;
  auto n = WriteCsv(**it2, csv);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 2u);
  EXPECT_EQ(csv.str(),
            "timestamp,miner,metric,labels,value\n"
            "2026-01-01T00:59:50.000Z,rig-a,m,\"k=\"\"a,\\\"\"b\\\"\"\"\"\",0\n"
            "2026-01-01T00:59:51.000Z,rig-b,m,,0\n");
}

TYPED_TEST(StoreContractTest, PollLargerThanTheQueueIsDroppedAndCounted) {
  this->opts_.queue_capacity_samples = 3;
  Store& s = this->Open();
  s.Append("rig-1", At(0), MinerPoll(1, 2, 3, 4));  // 4 samples > 3
  s.Append("rig-1", At(10), {{"m", {}, 1}});
  ASSERT_TRUE(s.Flush().ok());
  EXPECT_EQ(s.dropped_samples(), 4u);
  EXPECT_EQ(s.Stats().samples_written, 1u);
}

TYPED_TEST(StoreContractTest, FloodNeverBlocksAndEverySampleIsAccounted) {
  this->opts_.queue_capacity_samples = 40;
  Store& s = this->Open();
  const int kPolls = 5000;
  for (int i = 0; i < kPolls; ++i) {
    s.Append("rig-" + std::to_string(i % 7), At(i), MinerPoll(i, 1, 2, 3));
  }
  ASSERT_TRUE(s.Flush().ok());
  StoreStats st = s.Stats();
  EXPECT_EQ(st.samples_written + st.dropped_samples, 4u * kPolls);
}

TYPED_TEST(StoreContractTest, DurableKvPutGetListDelete) {
  Store& s = this->Open();
  ASSERT_TRUE(s.Put("rules", "b", "2").ok());
  ASSERT_TRUE(s.Put("rules", "a", "1").ok());
  ASSERT_TRUE(s.Put("outbox", "a", "mail").ok());
  auto g = s.Get("rules", "a");
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(*g, std::optional<std::string>("1"));
  auto l = s.List("rules");
  ASSERT_TRUE(l.ok());
  ASSERT_EQ(l->size(), 2u);
  EXPECT_EQ((*l)[0], (std::pair<std::string, std::string>("a", "1")));
  ASSERT_TRUE(s.Delete("rules", "a").ok());
  EXPECT_FALSE(s.Get("rules", "a")->has_value());
  EXPECT_EQ(s.List("outbox")->size(), 1u);
  EXPECT_TRUE(s.List("none")->empty());
}

TYPED_TEST(StoreContractTest, MaintenanceKeepsDataReadableAndRollsUpHours) {
  Store& s = this->Open();
  this->Feed("rig-1", 0, 720);  // two hours at 10 s
  ASSERT_TRUE(s.Flush().ok());
  auto before = s.ReadRange(kHash, At(0), At(7200));
  ASSERT_TRUE(before.ok());
  ASSERT_EQ(before->size(), 720u);
  // Both hours closed (hour end + chunk_delay of 10 min).
  ASSERT_TRUE(s.RunMaintenance(At(7200 + 601)).ok());
  auto after = s.ReadRange(kHash, At(0), At(7200));
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_EQ(*after, *before);
  auto roll = s.ReadRollups(kHash, At(0), At(7200));
  ASSERT_TRUE(roll.ok()) << roll.status().ToString();
  ASSERT_EQ(roll->size(), 2u);
  EXPECT_EQ((*roll)[0].count, 360u);
  EXPECT_EQ((*roll)[0].min, 500);
  EXPECT_EQ((*roll)[0].max, 859);
  EXPECT_EQ((*roll)[1].hour, At(3600));
  EXPECT_EQ((*roll)[1].sum, (860.0 + 1219.0) / 2 * 360);
  // A sample for a closed hour, up to 24 h late, joins it (rollup too).
  this->clock_.SetWall(At(7200 + 601));
  s.Append("rig-1", At(35), MinerPoll(1, 1, 1, 1));
  ASSERT_TRUE(s.Flush().ok());
  EXPECT_EQ(s.Stats().late_samples, 0u);
  EXPECT_EQ(s.ReadRange(kHash, At(0), At(7200))->size(), 721u);
  roll = s.ReadRollups(kHash, At(0), At(7200));
  EXPECT_EQ((*roll)[0].count, 361u);
  EXPECT_EQ((*roll)[0].min, 1);
  // More than 24 h late: dropped and counted.
  this->clock_.SetWall(At(3600 + 24 * 3600 + 1));
  s.Append("rig-1", At(45), MinerPoll(1, 1, 1, 1));
  ASSERT_TRUE(s.Flush().ok());
  EXPECT_EQ(s.Stats().late_samples, 4u);
  EXPECT_EQ(s.dropped_samples(), 4u);
  EXPECT_EQ(s.ReadRange(kHash, At(0), At(7200))->size(), 721u);
  // Scan over chunked data is still in time order and complete.
  auto it = s.Scan(At(0), At(7200));
  ASSERT_TRUE(it.ok());
  Row row;
  int n = 0;
  WallTime last = At(-1);
  while (*(*it)->Next(row)) {
    EXPECT_LE(last, row.ts);
    last = row.ts;
    ++n;
  }
  EXPECT_EQ(n, 721 * 4);
}

TYPED_TEST(StoreContractTest, RetentionDropsWholeOldDaysOnly) {
  this->opts_.retention = std::chrono::hours(48);
  Store& s = this->Open();
  this->Feed("rig-1", 0, 3);          // day 1
  this->Feed("rig-1", 2 * 86400, 3);  // day 3
  ASSERT_TRUE(s.Flush().ok());
  ASSERT_TRUE(s.RunMaintenance(At(3 * 86400 + 3600)).ok());
  auto pts = s.ReadRange(kHash, At(0), At(4 * 86400));
  ASSERT_TRUE(pts.ok());
  ASSERT_EQ(pts->size(), 3u);
  EXPECT_EQ(pts->front().ts, At(2 * 86400));
}

TYPED_TEST(StoreContractTest, StaleTargetsFollowTheClock) {
  Store& s = this->Open();
  s.Append("rig-1", At(0), MinerPoll(1, 1, 1, 1));
  s.Append("rig-2", At(50), MinerPoll(1, 1, 1, 1));
  ASSERT_TRUE(s.Flush().ok());
  this->clock_.SetWall(At(60));
  EXPECT_EQ(s.StaleTargets(std::chrono::seconds(10), 3),
            std::vector<std::string>{"rig-1"});
  this->clock_.SetWall(At(100));
  EXPECT_EQ(s.StaleTargets(std::chrono::seconds(10), 3),
            (std::vector<std::string>{"rig-1", "rig-2"}));
  auto check = s.Check(std::chrono::seconds(10), 3);
  ASSERT_TRUE(check.ok());
  EXPECT_EQ(check->stale_targets.size(), 2u);
}

TYPED_TEST(StoreContractTest, SelfMetricsNameEveryCounter) {
  Store& s = this->Open();
  this->Feed("rig-1", 0, 2);
  ASSERT_TRUE(s.Flush().ok());
  Samples m = s.SelfMetrics();
  auto find = [&](const std::string& n) -> std::optional<double> {
    for (const Sample& x : m) {
      if (x.name == n) return x.value;
    }
    return std::nullopt;
  };
  EXPECT_EQ(find("rigwatch_store_samples_written_total"), 8);
  EXPECT_EQ(find("rigwatch_store_dropped_samples_total"), 0);
  EXPECT_EQ(find("rigwatch_store_series"), 4);
  EXPECT_EQ(find("rigwatch_store_writes_paused"), 0);
  EXPECT_TRUE(find("rigwatch_store_size_bytes").has_value());
  EXPECT_TRUE(find("rigwatch_store_partitions").has_value());
  EXPECT_TRUE(find("rigwatch_store_last_maintenance_duration_seconds"));
}

}  // namespace
}  // namespace rigwatch::store
