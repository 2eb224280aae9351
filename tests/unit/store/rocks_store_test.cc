// RocksStore behaviour beyond the shared contract: persistence across
// reopen and kill -9, schema versions, corruption and repair, low disk,
// read-only/secondary opens, max_bytes.
#include "agent/store/rocks_store.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "agent/backup/backup.h"
#include "tests/fakes/fake_clock.h"
#include "tests/support/require.h"
#include "tests/support/wait.h"
#include "tests/unit/store/store_test_util.h"

namespace rigwatch::store {
namespace {

using testing::At;
using testing::MinerPoll;
using testing::TempDir;
namespace fs = std::filesystem;

const SeriesKey kHash{"rig-1", "miner_hashrate_hashes_per_second", {}};

StoreOptions TestOptions(const std::string& path, Clock* clock) {
  StoreOptions o;
  o.path = path;
  o.clock = clock;
  o.maintenance_interval = std::chrono::seconds(0);
  o.min_free_bytes = 0;
  o.verify_on_open = false;
  return o;
}

std::unique_ptr<Store> MustOpen(const StoreOptions& o) {
  auto s = OpenRocksStore(o);
  if (!s.ok()) {
    ADD_FAILURE() << s.status().ToString();
    return nullptr;
  }
  return std::move(s).value();
}

using test_support::WaitFor;

TEST(RocksStore, ReopenKeepsSamplesSeriesAndKv) {
  TempDir dir;
  FakeClock clock;
  StoreOptions o = TestOptions(dir.Sub("db"), &clock);
  {
    auto s = MustOpen(o);
    ASSERT_TRUE(s);
    for (int i = 0; i < 10; ++i)
      s->Append("rig-1", At(10 * i), MinerPoll(i, 1, 2, 3));
    ASSERT_TRUE(s->Flush().ok());
    ASSERT_TRUE(s->Put("outbox", "m1", "hello").ok());
    ASSERT_TRUE(s->Close().ok());
  }
  auto s = MustOpen(o);
  ASSERT_TRUE(s);
  auto pts = s->ReadRange(kHash, At(0), At(100));
  ASSERT_TRUE(pts.ok());
  EXPECT_EQ(pts->size(), 10u);
  EXPECT_EQ(*s->Get("outbox", "m1"), std::optional<std::string>("hello"));
  // The same poll shape after reopen reuses its series and schema.
  s->Append("rig-1", At(100), MinerPoll(10, 1, 2, 3));
  ASSERT_TRUE(s->Flush().ok());
  EXPECT_EQ(s->Stats().series, 4u);
  EXPECT_EQ(s->ReadRange(kHash, At(0), At(200))->size(), 11u);
  auto latest = s->Latest(kHash);
  ASSERT_TRUE(latest.ok() && latest->has_value());
  EXPECT_EQ((*latest)->value, 10);
}

TEST(RocksStore, SyncAlwaysWritesAndReadsBack) {
  TempDir dir;
  FakeClock clock;
  StoreOptions o = TestOptions(dir.Sub("db"), &clock);
  o.sync = SyncMode::kAlways;
  auto s = MustOpen(o);
  ASSERT_TRUE(s);
  for (int i = 0; i < 5; ++i) {
    s->Append("rig-1", At(10 * i), MinerPoll(i, 1, 2, 3));
  }
  ASSERT_TRUE(s->Flush().ok());
  EXPECT_EQ(s->ReadRange(kHash, At(0), At(100))->size(), 5u);
}

TEST(RocksStore, SecondWriterIsRefusedReadOnlyAndSecondaryRead) {
  TempDir dir;
  FakeClock clock;
  StoreOptions o = TestOptions(dir.Sub("db"), &clock);
  auto primary = MustOpen(o);
  ASSERT_TRUE(primary);
  for (int i = 0; i < 5; ++i)
    primary->Append("rig-1", At(10 * i), MinerPoll(i, 1, 2, 3));
  ASSERT_TRUE(primary->Flush().ok());

  auto second = OpenRocksStore(o);
  EXPECT_EQ(second.status().code(), StatusCode::kFailedPrecondition)
      << second.status().ToString();

  StoreOptions ro = o;
  ro.mode = OpenMode::kReadOnly;
  auto r = MustOpen(ro);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->ReadRange(kHash, At(0), At(100))->size(), 5u);
  EXPECT_EQ(r->Put("a", "b", "c").code(), StatusCode::kFailedPrecondition);
  r->Append("rig-1", At(60), MinerPoll(1, 1, 1, 1));
  EXPECT_EQ(r->dropped_samples(), 4u);

  StoreOptions sec = o;
  sec.mode = OpenMode::kSecondary;
  sec.secondary_path = dir.Sub("secondary");
  auto s2 = MustOpen(sec);
  ASSERT_TRUE(s2);
  EXPECT_EQ(s2->ReadRange(kHash, At(0), At(100))->size(), 5u);
}

// Run only as the child of KillMinus9LosesNoSyncedRound (re-executed, so
// RocksDB's thread pools start fresh): writes rounds forever, reporting
// each round on the pipe once it is synced.
TEST(RocksStoreChild, Writer) {
  const char* path = std::getenv("RIGWATCH_STORE_CHILD_DB");
  const char* fd = std::getenv("RIGWATCH_STORE_CHILD_FD");
  if (!path || !fd) GTEST_SKIP() << "helper for KillMinus9LosesNoSyncedRound";
  StoreOptions o = TestOptions(path, SystemClock::Default());
  auto s = MustOpen(o);
  ASSERT_TRUE(s);
  int out = std::atoi(fd);
  for (uint32_t round = 1; round < 100000; ++round) {
    for (int t = 0; t < 20; ++t) {
      s->Append("rig-" + std::to_string(t), At(round),
                MinerPoll(round, t, 0, 0));
    }
    ASSERT_TRUE(s->Flush().ok());
    ASSERT_EQ(write(out, &round, sizeof round), ssize_t(sizeof round));
  }
}

TEST(RocksStore, KillMinus9LosesNoSyncedRound) {
  TempDir dir;
  std::string db = dir.Sub("db");
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(p[0]);
    setenv("RIGWATCH_STORE_CHILD_DB", db.c_str(), 1);
    setenv("RIGWATCH_STORE_CHILD_FD", std::to_string(p[1]).c_str(), 1);
    execl("/proc/self/exe", "rocks_store_test",
          "--gtest_filter=RocksStoreChild.Writer", nullptr);
    _exit(127);
  }
  close(p[1]);
  // Let it run a varying number of rounds, then kill it mid-ingest.
  uint32_t target_rounds = 20 + static_cast<uint32_t>(getpid() % 30);
  uint32_t synced = 0, r;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (synced < target_rounds &&
         std::chrono::steady_clock::now() < deadline &&
         read(p[0], &r, sizeof r) == sizeof r) {
    synced = r;
  }
  kill(pid, SIGKILL);
  // Rounds reported between our last read and the kill are synced too.
  while (read(p[0], &r, sizeof r) == sizeof r) synced = r;
  close(p[0]);
  int status;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status)) << "child exited early: " << status;
  ASSERT_GE(synced, 1u) << "child never synced a round";

  FakeClock clock;
  StoreOptions o = TestOptions(db, &clock);
  o.verify_on_open = true;
  auto s = MustOpen(o);
  ASSERT_TRUE(s);
  for (int t = 0; t < 20; ++t) {
    SeriesKey k{
        "rig-" + std::to_string(t), "miner_hashrate_hashes_per_second", {}};
    auto pts = s->ReadRange(k, At(1), At(synced + 1));
    ASSERT_TRUE(pts.ok());
    ASSERT_EQ(pts->size(), synced) << k.target;
    for (uint32_t i = 0; i < synced; ++i) EXPECT_EQ((*pts)[i].value, i + 1);
  }
  auto check = s->Check(std::chrono::seconds(10), 1000000);
  ASSERT_TRUE(check.ok());
  EXPECT_TRUE(check->ok()) << check->problems.front();
}

// Writes meta/version with RocksDB directly, as another build would have.
void ForgeVersion(
    const std::string& path, const std::string& version,
    const std::vector<std::pair<std::string, std::string>>& meta) {
  rocksdb::DBOptions dbo;
  dbo.create_if_missing = true;
  dbo.create_missing_column_families = true;
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs = {
      {rocksdb::kDefaultColumnFamilyName, {}}, {"meta", {}}, {"kv", {}}};
  std::vector<rocksdb::ColumnFamilyHandle*> h;
  rocksdb::DB* db;
  ASSERT_TRUE(rocksdb::DB::Open(dbo, path, cfs, &h, &db).ok());
  ASSERT_TRUE(db->Put({}, h[1], "version", version).ok());
  for (const auto& [k, v] : meta) ASSERT_TRUE(db->Put({}, h[1], k, v).ok());
  for (auto* x : h) ASSERT_TRUE(db->DestroyColumnFamilyHandle(x).ok());
  ASSERT_TRUE(db->Close().ok());
  delete db;
}

TEST(RocksStore, NewerSchemaVersionIsRefusedWithAClearMessage) {
  TempDir dir;
  ForgeVersion(dir.Sub("db"), "7", {});
  FakeClock clock;
  auto s = OpenRocksStore(TestOptions(dir.Sub("db"), &clock));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.status().message().find("schema version 7 is newer"),
            std::string::npos)
      << s.status().message();
}

TEST(RocksStore, Version1MigratesKvIntoItsOwnFamily) {
  TempDir dir;
  ForgeVersion(dir.Sub("db"), "1",
               {{std::string("Krules\0r1|rig-1", 15), "red"},
                {std::string("Koutbox\0m1", 10), "mail"}});
  FakeClock clock;
  StoreOptions o = TestOptions(dir.Sub("db"), &clock);
  StoreOptions ro = o;
  ro.mode = OpenMode::kReadOnly;
  auto refused = OpenRocksStore(ro);  // read-only cannot migrate
  EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition);
  auto s = MustOpen(o);
  ASSERT_TRUE(s);
  EXPECT_EQ(*s->Get("rules", "r1|rig-1"), std::optional<std::string>("red"));
  EXPECT_EQ(s->List("outbox")->size(), 1u);
  auto check = s->Check(std::chrono::seconds(10), 1);
  ASSERT_TRUE(check.ok());
  EXPECT_EQ(check->schema_version, kSchemaVersion);
}

// Fills one day with data, chunks and compacts it so it lives in SSTs.
void WriteClosedDay(Store& s) {
  uint64_t x = 88172645463325252ull;  // xorshift: noisy, incompressible-ish
  for (int i = 0; i < 8640; i += 3) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    double noise = static_cast<double>(x % 1000000) / 7919.0;
    s.Append("rig-1", At(10 * i), MinerPoll(480 + noise, 55, 4000 + i, i));
  }
  ASSERT_TRUE(s.Flush().ok());
  for (int pass = 0; pass < 7; ++pass) {  // 24 hours, 4 per pass
    ASSERT_TRUE(s.RunMaintenance(At(86400 + 3600)).ok());
  }
}

TEST(RocksStore, CorruptSstIsReportedAndOpenRefusesUnlessRepair) {
  TempDir dir;
  FakeClock clock;
  StoreOptions o = TestOptions(dir.Sub("db"), &clock);
  {
    auto s = MustOpen(o);
    ASSERT_TRUE(s);
    WriteClosedDay(*s);
    ASSERT_EQ(s->ReadRange(kHash, At(0), At(86400))->size(), 2880u);
    ASSERT_TRUE(s->Close().ok());
  }
  fs::path biggest;
  uintmax_t size = 0;
  for (const auto& e : fs::directory_iterator(o.path)) {
    if (e.path().extension() == ".sst" && e.file_size() > size) {
      size = e.file_size();
      biggest = e.path();
    }
  }
  ASSERT_GT(size, 4096u) << "no SST was written";
  {
    std::fstream f(biggest, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(size / 3));
    std::string junk(64, '\x5a');
    f.write(junk.data(), junk.size());
  }
  StoreOptions verify = o;
  verify.verify_on_open = true;
  auto refused = OpenRocksStore(verify);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(refused.status().message().find("repair"), std::string::npos);
  {
    auto s = MustOpen(o);  // without verification it opens...
    ASSERT_TRUE(s);
    auto check =
        s->Check(std::chrono::seconds(10), 1000000);  // ...and Check finds it
    ASSERT_TRUE(check.ok());
    EXPECT_FALSE(check->checksums_ok);
    EXPECT_FALSE(check->ok());
  }
  StoreOptions repair = verify;
  repair.repair = true;
  auto s = MustOpen(repair);
  ASSERT_TRUE(s);
  auto check = s->Check(std::chrono::seconds(10), 1000000);
  ASSERT_TRUE(check.ok());
  EXPECT_TRUE(check->checksums_ok);
  // Still usable for writing after the repair.
  s->Append("rig-1", At(2 * 86400), MinerPoll(1, 1, 1, 1));
  ASSERT_TRUE(s->Flush().ok());
  EXPECT_EQ(s->ReadRange(kHash, At(2 * 86400), At(2 * 86400 + 1))->size(), 1u);
}

// Deletes the files that name the database's column families (every
// MANIFEST and CURRENT), leaving tables and WAL.
void LoseManifest(const std::string& path) {
  int removed = 0;
  for (const auto& e : fs::directory_iterator(path)) {
    const std::string name = e.path().filename().string();
    if (name == "CURRENT" || name.rfind("MANIFEST-", 0) == 0) {
      fs::remove(e.path());
      ++removed;
    }
  }
  ASSERT_GE(removed, 2);
}

TEST(RocksStore, OneRepairAfterALostManifestRecoversEveryRow) {
  TempDir dir;
  FakeClock clock;
  StoreOptions o = TestOptions(dir.Sub("db"), &clock);
  {
    auto s = MustOpen(o);
    ASSERT_TRUE(s);
    WriteClosedDay(*s);  // chunks, rollups (c.., r.. families)
    // Hot rows of the next day, still only in the WAL and memtables.
    for (int i = 0; i < 100; ++i) {
      s->Append("rig-1", At(86400 + 10 * i), MinerPoll(i, 1, 2, 3));
    }
    ASSERT_TRUE(s->Flush().ok());
    ASSERT_TRUE(s->Put("outbox", "m1", "hello").ok());
    ASSERT_TRUE(s->Close().ok());
  }
  LoseManifest(o.path);
  // Neither a plain open (it would start an empty database over the
  // tables) nor a reader goes on; both name the repair.
  for (OpenMode mode : {OpenMode::kReadWrite, OpenMode::kReadOnly}) {
    StoreOptions plain = o;
    plain.mode = mode;
    auto refused = OpenRocksStore(plain);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.status().code(), StatusCode::kDataLoss);
    EXPECT_NE(refused.status().message().find("run rigwatch run --repair"),
              std::string::npos)
        << refused.status().ToString();
  }
  StoreOptions repair = o;
  repair.repair = true;
  {
    auto s = OpenRocksStore(repair);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    EXPECT_EQ((*s)->ReadRange(kHash, At(0), At(86400))->size(), 2880u);
    EXPECT_EQ((*s)->ReadRange(kHash, At(86400), At(2 * 86400))->size(), 100u);
    EXPECT_EQ(*(*s)->Get("outbox", "m1"), std::optional<std::string>("hello"));
    ASSERT_TRUE((*s)->Close().ok());
  }
  auto s = MustOpen(o);  // and it opens plainly afterwards
  ASSERT_TRUE(s);
  EXPECT_EQ(s->ReadRange(kHash, At(0), At(2 * 86400))->size(), 2980u);
}

// A WAL whose last write was torn (a crash mid-append): the repair replays
// every intact batch and says where the damage is.
TEST(RocksStore, RepairReplaysTheWalUpToATornTail) {
  TempDir dir;
  FakeClock clock;
  StoreOptions o = TestOptions(dir.Sub("db"), &clock);
  {
    auto s = MustOpen(o);
    ASSERT_TRUE(s);
    for (int i = 0; i < 10; ++i) {  // one batch each
      s->Append("rig-1", At(10 * i), MinerPoll(i, 1, 2, 3));
      ASSERT_TRUE(s->Flush().ok());
    }
    ASSERT_TRUE(s->Close().ok());
  }
  fs::path newest;
  for (const auto& e : fs::directory_iterator(o.path)) {
    if (e.path().extension() == ".log" && e.file_size() > 0 &&
        (newest.empty() || e.path().filename() > newest.filename())) {
      newest = e.path();
    }
  }
  ASSERT_FALSE(newest.empty());
  fs::resize_file(newest, fs::file_size(newest) - 5);
  LoseManifest(o.path);
  StoreOptions repair = o;
  repair.repair = true;
  testing::LogCapture log(dir.path());
  auto s = OpenRocksStore(repair);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ((*s)->ReadRange(kHash, At(0), At(100))->size(), 9u);
  const auto replayed = log.Grep("event=store_repair_wal_replayed");
  ASSERT_EQ(replayed.size(), 1u);
  EXPECT_NE(replayed[0].find("damaged_records=1"), std::string::npos)
      << replayed[0];
  EXPECT_NE(replayed[0].find("torn record"), std::string::npos) << replayed[0];
}

TEST(RocksStore, MaxBytesDropsTheOldestPartitions) {
  TempDir dir;
  FakeClock clock;
  StoreOptions o = TestOptions(dir.Sub("db"), &clock);
  {
    auto s = MustOpen(o);
    ASSERT_TRUE(s);
    WriteClosedDay(*s);
    ASSERT_TRUE(s->Close().ok());
  }
  o.max_bytes = 1;  // everything but the current hour must go
  auto s = MustOpen(o);
  ASSERT_TRUE(s);
  s->Append("rig-1", At(86400 + 3600), MinerPoll(1, 1, 1, 1));
  ASSERT_TRUE(s->Flush().ok());
  ASSERT_TRUE(s->RunMaintenance(At(86400 + 3600)).ok());
  EXPECT_TRUE(s->ReadRange(kHash, At(0), At(86400))->empty());
  EXPECT_EQ(s->ReadRange(kHash, At(86400), At(2 * 86400))->size(), 1u);
  // Rollups are kept (they have their own retention).
  EXPECT_FALSE(s->ReadRollups(kHash, At(0), At(86400))->empty());
}

// Late samples of an hour already chunked go into its chunk: every point
// in time order, a repeated timestamp taking the later value; samples more
// than 24 h late are dropped and counted.
TEST(RocksStore, LateSamplesMergeIntoTheirChunkedHour) {
  TempDir dir;
  FakeClock clock;
  StoreOptions o = TestOptions(dir.Sub("db"), &clock);
  auto s = MustOpen(o);
  ASSERT_TRUE(s);
  for (int i = 0; i < 3600; i += 20) {
    s->Append("rig-1", At(i), MinerPoll(i, 50, 3000, i));
  }
  ASSERT_TRUE(s->Flush().ok());
  ASSERT_TRUE(s->RunMaintenance(At(2 * 3600)).ok());
  const uint64_t before = s->Stats().samples_written;
  clock.SetWall(At(2 * 3600));  // two hours on: late, but well within 24 h
  s->Append("rig-1", At(30), MinerPoll(-30, 50, 3000, 30));
  s->Append("rig-1", At(10), MinerPoll(-10, 50, 3000, 10));
  s->Append("rig-1", At(20), MinerPoll(-20, 50, 3000, 20));  // replaces 20
  s->Append("rig-1", At(20), MinerPoll(-21, 50, 3000, 20));  // and wins
  s->Append("rig-1", At(3599), MinerPoll(-3599, 50, 3000, 3599));
  // A series the hour never had, from a new target.
  s->Append("rig-2", At(100), MinerPoll(7, 1, 1, 1));
  ASSERT_TRUE(s->Flush().ok());
  EXPECT_EQ(s->Stats().late_samples, 0u);
  EXPECT_EQ(s->Stats().samples_written, before + 6 * 4);
  auto check = [&](Store& st) {
    auto pts = st.ReadRange(kHash, At(0), At(3600));
    ASSERT_TRUE(pts.ok()) << pts.status().ToString();
    ASSERT_EQ(pts->size(), 180u + 3);
    for (size_t i = 1; i < pts->size(); ++i) {
      ASSERT_LT((*pts)[i - 1].ts, (*pts)[i].ts) << i;
    }
    EXPECT_EQ((*pts)[1].value, -10);
    EXPECT_EQ((*pts)[2].value, -21);
    EXPECT_EQ((*pts)[3].value, -30);
    EXPECT_EQ(pts->back().value, -3599);
    auto roll = st.ReadRollups(kHash, At(0), At(3600));
    ASSERT_TRUE(roll.ok());
    ASSERT_EQ(roll->size(), 1u);
    EXPECT_EQ((*roll)[0].count, 183u);
    EXPECT_EQ((*roll)[0].min, -3599);
    auto other = st.ReadRange({"rig-2", "miner_hashrate_hashes_per_second", {}},
                              At(0), At(3600));
    ASSERT_EQ(other->size(), 1u);
    EXPECT_EQ((*other)[0].value, 7);
  };
  check(*s);
  // More than 24 h late: dropped and counted, the chunk untouched.
  clock.SetWall(At(3600 + 24 * 3600 + 1));
  s->Append("rig-1", At(3500), MinerPoll(1, 1, 1, 1));
  ASSERT_TRUE(s->Flush().ok());
  EXPECT_EQ(s->Stats().late_samples, 4u);
  ASSERT_TRUE(s->Close().ok());
  auto reopened = MustOpen(o);
  ASSERT_TRUE(reopened);
  check(*reopened);
}

Samples InfoPoll(double hashrate, const std::string& firmware) {
  return {
      {"miner_hashrate_hashes_per_second", {}, hashrate},
      {"miner_info", {{"model", "S19"}, {"firmware", firmware}}, 1},
      // Two of one *_info metric in one poll: both stay.
      {"miner_pool_info", {{"pool", "0"}, {"url", "a"}}, 1},
      {"miner_pool_info", {{"pool", "1"}, {"url", "b"}}, 1},
  };
}

// A miner whose identity changes: the replaced miner_info series leaves
// the live index (listing, series count) but keeps its samples until
// retention; coming back revives it rather than adding another.
TEST(RocksStore, AReplacedInfoSeriesLeavesTheLiveIndex) {
  TempDir dir;
  FakeClock clock;
  StoreOptions o = TestOptions(dir.Sub("db"), &clock);
  o.retention = std::chrono::hours(48);
  const SeriesKey old_info{
      "rig-1", "miner_info", {{"model", "S19"}, {"firmware", "a"}}};
  const SeriesKey new_info{
      "rig-1", "miner_info", {{"model", "S19"}, {"firmware", "b"}}};
  Selector info{"miner_info", {}, std::nullopt};
  auto s = MustOpen(o);
  ASSERT_TRUE(s);
  for (int i = 0; i < 10; ++i) s->Append("rig-1", At(i), InfoPoll(i, "a"));
  ASSERT_TRUE(s->Flush().ok());
  EXPECT_EQ(s->Stats().series, 4u);
  for (int i = 10; i < 20; ++i) s->Append("rig-1", At(i), InfoPoll(i, "b"));
  ASSERT_TRUE(s->Flush().ok());
  auto live = [&](Store& st) {
    auto m = st.MatchSeries(info);
    EXPECT_TRUE(m.ok());
    std::vector<std::string> fw;
    for (const SeriesKey& k : *m) {
      for (const Label& l : k.labels) {
        if (l.name == "firmware") fw.push_back(l.value);
      }
    }
    return fw;
  };
  EXPECT_EQ(live(*s), std::vector<std::string>{"b"});
  EXPECT_EQ(s->Stats().series, 4u);  // not 5
  EXPECT_EQ(s->MatchSeries({"miner_pool_info", {}, std::nullopt})->size(), 2u);
  EXPECT_EQ(s->ReadRange(old_info, At(0), At(100))->size(), 10u);
  EXPECT_EQ(s->ReadRange(new_info, At(0), At(100))->size(), 10u);
  ASSERT_TRUE(s->Close().ok());
  s = MustOpen(o);  // retirement is persisted
  ASSERT_TRUE(s);
  EXPECT_EQ(live(*s), std::vector<std::string>{"b"});
  EXPECT_EQ(s->Stats().series, 4u);
  EXPECT_EQ(s->ReadRange(old_info, At(0), At(100))->size(), 10u);
  // Back to "a": the same series again, "b" replaced.
  for (int i = 20; i < 25; ++i) s->Append("rig-1", At(i), InfoPoll(i, "a"));
  ASSERT_TRUE(s->Flush().ok());
  EXPECT_EQ(live(*s), std::vector<std::string>{"a"});
  EXPECT_EQ(s->Stats().series, 4u);
  EXPECT_EQ(s->ReadRange(old_info, At(0), At(100))->size(), 15u);
  // Once retention has passed its retirement, "b" is forgotten for good.
  {
    testing::LogCapture log(dir.path());
    ASSERT_TRUE(s->RunMaintenance(At(49 * 3600)).ok());
    EXPECT_EQ(log.Grep("store_replaced_series_forgotten series=1").size(), 1u);
  }
  EXPECT_TRUE(s->ReadRange(new_info, At(0), At(100))->empty());
  ASSERT_TRUE(s->Close().ok());
  s = MustOpen(o);
  ASSERT_TRUE(s);
  EXPECT_EQ(live(*s), std::vector<std::string>{"a"});
  s->Append("rig-1", At(49 * 3600), InfoPoll(1, "a"));
  ASSERT_TRUE(s->Flush().ok());
  EXPECT_EQ(s->ReadRange(kHash, At(49 * 3600), At(49 * 3600 + 1))->size(), 1u);
}

TEST(RocksStore, ABackupLogsNoWarning) {
  TempDir dir;
  FakeClock clock;
  StoreOptions o = TestOptions(dir.Sub("db"), &clock);
  Snapshotter* snapshots = nullptr;
  auto opened = OpenRocksStore(o, &snapshots);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  Store& s = **opened;
  for (int i = 0; i < 50; ++i)
    s.Append("rig-1", At(10 * i), MinerPoll(i, 1, 2, 3));
  ASSERT_TRUE(s.Flush().ok());
  testing::LogCapture log(dir.path());
  for (int i = 0; i < 2; ++i) {  // the second shares the first's files
    s.Append("rig-1", At(1000 + i), MinerPoll(i, 1, 2, 3));
    backup::BackupOptions b;
    b.dir = dir.Sub("backups");
    auto made = backup::CreateBackup(*snapshots, b);
    ASSERT_TRUE(made.ok()) << made.status().ToString();
  }
  EXPECT_EQ(log.Grep("event=backup_created").size(), 2u);
  for (const char* level : {"level=warn", "level=error"}) {
    auto lines = log.Grep(level);
    EXPECT_TRUE(lines.empty()) << lines.size() << " lines, first: " << lines[0];
  }
}

// A tmpfs of `size` at dir/mnt, unmounted when this goes; `mounted` is
// false where mounting is not allowed (needs root).
struct Tmpfs {
  std::string path;
  bool mounted = false;
  Tmpfs(TempDir& dir, const char* size) : path(dir.Sub("mnt")) {
    fs::create_directory(path);
    mounted = mount("tmpfs", path.c_str(), "tmpfs", 0,
                    (std::string("size=") + size).c_str()) == 0;
  }
  ~Tmpfs() {
    if (mounted) umount2(path.c_str(), MNT_DETACH);
  }
};

// Writes `path` until the file system has no byte left.
void FillDisk(const std::string& path) {
  std::ofstream b(path, std::ios::binary);
  std::string chunk(64 << 10, 'x');
  while (b.write(chunk.data(), chunk.size()) && b.flush()) {
  }
}

// Appends polls of new targets until a write fails for lack of space; each
// failing batch registers a target, its series and its schema that never
// reach the disk. Returns the last target appended ("" if none failed).
std::string AppendUntilAWriteFails(Store& s) {
  Samples big;
  for (int k = 0; k < 200; ++k) {
    big.push_back(
        {"miner_temperature_celsius", {{"sensor", std::to_string(k)}}, 1});
  }
  for (int i = 0; i < 5000; ++i) {
    std::string target = "full-" + std::to_string(i);
    s.Append(target, At(1), big);
    s.Flush(std::chrono::seconds(5)).IgnoreError("the disk may be full");
    if (s.dropped_samples() > 0) return target;
  }
  return "";
}

TEST(RocksStore, LowDiskPausesWritesAndResumesWhenSpaceReturns) {
  TempDir dir;
  Tmpfs tmpfs(dir, "48m");
  RIGWATCH_REQUIRE(tmpfs.mounted, "a tmpfs mount (needs root)");
  const std::string& mnt = tmpfs.path;
  FakeClock clock;
  StoreOptions o = TestOptions(mnt + "/db", &clock);
  o.min_free_bytes = 20ull << 20;
  o.disk_check_interval = std::chrono::milliseconds(5);
  o.write_buffer_bytes = 1 << 20;
  {
    auto s = MustOpen(o);
    ASSERT_TRUE(s);
    s->Append("rig-1", At(0), MinerPoll(1, 1, 1, 1));
    ASSERT_TRUE(s->Flush().ok());
    ASSERT_FALSE(s->writes_paused());
    // Ballast leaves ~12 MB free: below the 20 MB minimum.
    std::string ballast = mnt + "/ballast";
    {
      std::ofstream b(ballast, std::ios::binary);
      std::string mb(1 << 20, 'x');
      while (true) {
        b.write(mb.data(), mb.size());
        b.flush();
        if (fs::space(mnt).available < (12ull << 20)) break;
      }
    }
    s->Append("rig-1", At(10), MinerPoll(2, 1, 1, 1));
    ASSERT_TRUE(
        WaitFor([&] { return s->writes_paused(); }, std::chrono::seconds(5)));
    EXPECT_EQ(s->Flush(std::chrono::milliseconds(50)).code(),
              StatusCode::kDeadlineExceeded);
    auto check = s->Check(std::chrono::seconds(10), 1000);
    ASSERT_TRUE(check.ok());
    EXPECT_TRUE(check->low_disk);
    fs::remove(ballast);
    ASSERT_TRUE(
        WaitFor([&] { return !s->writes_paused(); }, std::chrono::seconds(5)));
    ASSERT_TRUE(s->Flush().ok());
    EXPECT_EQ(s->ReadRange(kHash, At(0), At(100))->size(), 2u);
    EXPECT_EQ(s->Stats().pauses, 1u);
    // The store's disk figures (judged by the shipped store_disk_low rule).
    const Samples self = s->SelfMetrics();
    EXPECT_EQ(self.size(), 11u);
    std::map<std::string, double> by_name;
    for (const Sample& x : self) by_name[x.name] = x.value;
    EXPECT_EQ(by_name["rigwatch_store_min_free_bytes"], 20 << 20);
    EXPECT_GT(by_name["rigwatch_store_free_bytes"], 20 << 20);
    EXPECT_LE(by_name["rigwatch_store_free_bytes"], 48 << 20);
  }
}

TEST(RocksStore, AFullDiskFailsWritesUntilSpaceReturnsAndLosesNoIndex) {
  TempDir dir;
  Tmpfs tmpfs(dir, "32m");
  RIGWATCH_REQUIRE(tmpfs.mounted, "a tmpfs mount (needs root)");
  const std::string& mnt = tmpfs.path;
  FakeClock clock;
  StoreOptions o = TestOptions(mnt + "/db", &clock);  // no low-disk pause
  o.write_buffer_bytes = 1 << 20;
  std::string failed_target;
  {
    auto s = MustOpen(o);
    ASSERT_TRUE(s);
    s->Append("rig-1", At(0), MinerPoll(1, 1, 1, 1));
    ASSERT_TRUE(s->Flush().ok());
    const std::string ballast = mnt + "/ballast";
    testing::LogCapture log(dir.path());
    FillDisk(ballast);
    failed_target = AppendUntilAWriteFails(*s);
    ASSERT_NE(failed_target, "") << "the disk never filled";
    // Space returns. RocksDB recovers in the background (its no-space
    // recovery checks every few seconds) or on the store's Resume; until
    // then writes keep failing, and are counted.
    fs::remove(ballast);
    int64_t t = 10;
    const auto give_up =
        std::chrono::steady_clock::now() + std::chrono::seconds(60);
    uint64_t dropped = s->dropped_samples();
    while (std::chrono::steady_clock::now() < give_up) {
      dropped = s->dropped_samples();
      s->Append("probe", At(++t), MinerPoll(0, 0, 0, 0));
      if (s->Flush(std::chrono::seconds(5)).ok() &&
          s->dropped_samples() == dropped) {
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    ASSERT_EQ(s->dropped_samples(), dropped) << "writes never resumed";
    // The target whose registration failed is stored with its series.
    s->Append(failed_target, At(200), MinerPoll(7, 7, 7, 7));
    s->Append("rig-1", At(200), MinerPoll(2, 1, 1, 1));
    s->Append("rig-1", At(300), MinerPoll(3, 1, 1, 1));
    ASSERT_TRUE(s->Flush().ok());
    EXPECT_EQ(s->dropped_samples(), dropped);
    EXPECT_EQ(s->ReadRange(kHash, At(0), At(1000))->size(), 3u);
    // One line as writes start failing, with the cause; one as they
    // recover; nothing per failed round in between (the probes above ran
    // a round every 200 ms), and RocksDB's own repeats are left out.
    const auto failing = log.Grep("event=store_writes_failing");
    ASSERT_EQ(failing.size(), 1u);
    EXPECT_NE(failing[0].find("No space left on device"), std::string::npos)
        << failing[0];
    EXPECT_EQ(log.Grep("event=store_writes_recovered").size(), 1u);
    EXPECT_TRUE(log.Grep("event=store_write_failed").empty());
    EXPECT_TRUE(log.Grep("event=store_sync_failed").empty());
    const auto rocks = log.Grep("event=rocksdb");
    std::set<std::string> distinct;
    for (const std::string& l : rocks) {
      distinct.insert(l.substr(l.find("msg=")));
      EXPECT_EQ(l.find("msg=\"\""), std::string::npos) << l;
    }
    EXPECT_LE(rocks.size(), 8u) << rocks.size() << " RocksDB lines";
    std::printf("full disk: %zu log lines (%zu from RocksDB)\n",
                log.Lines().size(), rocks.size());
  }
  // Reopened: the index is whole and every stored point is readable.
  auto s = MustOpen(o);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->ReadRange(kHash, At(0), At(1000))->size(), 3u);
  auto pts = s->ReadRange(
      {failed_target, "miner_hashrate_hashes_per_second", {}}, At(0), At(1000));
  ASSERT_TRUE(pts.ok()) << pts.status().ToString();
  ASSERT_EQ(pts->size(), 1u);
  EXPECT_EQ((*pts)[0].value, 7);
}

TEST(RocksStore, ClosingOnAFullDiskKeepsWhatWasWritten) {
  TempDir dir;
  Tmpfs tmpfs(dir, "32m");
  RIGWATCH_REQUIRE(tmpfs.mounted, "a tmpfs mount (needs root)");
  const std::string& mnt = tmpfs.path;
  FakeClock clock;
  StoreOptions o = TestOptions(mnt + "/db", &clock);
  o.write_buffer_bytes = 1 << 20;
  const std::string ballast = mnt + "/ballast";
  {
    auto s = MustOpen(o);
    ASSERT_TRUE(s);
    s->Append("rig-1", At(0), MinerPoll(1, 1, 1, 1));
    ASSERT_TRUE(s->Flush().ok());
    FillDisk(ballast);
    ASSERT_NE(AppendUntilAWriteFails(*s), "") << "the disk never filled";
    // The agent stops (SIGTERM) while the disk is still full.
  }
  fs::remove(ballast);
  auto s = MustOpen(o);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->ReadRange(kHash, At(0), At(100))->size(), 1u);
}

}  // namespace
}  // namespace rigwatch::store
