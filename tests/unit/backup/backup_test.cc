#include "agent/backup/backup.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <stop_token>
#include <thread>

#include "agent/store/memory_store.h"
#include "agent/store/rocks_store.h"
#include "tests/fakes/fake_clock.h"
#include "tests/unit/store/store_test_util.h"

namespace rigwatch::backup {
namespace {

using store::testing::At;
using store::testing::MinerPoll;
using store::testing::TempDir;
namespace fs = std::filesystem;

store::StoreOptions Opts(const std::string& path, Clock* clock) {
  store::StoreOptions o;
  o.path = path;
  o.clock = clock;
  o.maintenance_interval = std::chrono::seconds(0);
  o.min_free_bytes = 0;
  o.verify_on_open = false;
  return o;
}

std::unique_ptr<store::Store> Open(const store::StoreOptions& o,
                                   store::Snapshotter** snapshots = nullptr) {
  auto s = store::OpenRocksStore(o, snapshots);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? std::move(s).value() : nullptr;
}

size_t CountPoints(store::Store& s, const std::string& target) {
  auto p = s.ReadRange({target, "miner_hashrate_hashes_per_second", {}}, At(0),
                       At(1000000));
  EXPECT_TRUE(p.ok());
  return p.ok() ? p->size() : 0;
}

TEST(Backup, ConsistentWhileIngestingAndRestoresIntoANewDir) {
  TempDir dir;
  FakeClock clock;
  store::Snapshotter* snap = nullptr;
  auto st = Open(Opts(dir.Sub("db"), &clock), &snap);
  ASSERT_TRUE(st);
  for (int i = 0; i < 200; ++i)
    st->Append("rig-1", At(i), MinerPoll(i, 1, 2, 3));
  ASSERT_TRUE(st->Flush().ok());
  // Keep ingesting while the backup runs.
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int i = 200; i < 5000 && !stop; ++i) {
      st->Append("rig-1", At(i), MinerPoll(i, 1, 2, 3));
      if (i % 50 == 0) st->SyncRound();
    }
  });
  BackupOptions bo;
  bo.dir = dir.Sub("backups");
  bo.after_command = {"touch", dir.Sub("after-ran")};
  auto info = CreateBackup(*snap, bo);
  stop = true;
  writer.join();
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->id, 1u);
  EXPECT_EQ(info->verified, std::optional<bool>(true));
  EXPECT_GE(info->sample_count, 800u);
  EXPECT_GT(info->size_bytes, 0u);
  EXPECT_FALSE(info->after_command_error.has_value());
  EXPECT_TRUE(fs::exists(dir.Sub("after-ran")));

  auto list = ListBackups(bo.dir);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].sample_count, info->sample_count);
  EXPECT_EQ((*list)[0].verified, std::optional<bool>(true));
  EXPECT_TRUE(VerifyBackup(bo.dir, 1).ok());

  ASSERT_TRUE(RestoreBackup(bo.dir, 0, dir.Sub("restored")).ok());
  auto restored = Open(Opts(dir.Sub("restored"), &clock));
  ASSERT_TRUE(restored);
  // Everything flushed before the backup is there, as a gap-free prefix.
  auto pts = restored->ReadRange(
      {"rig-1", "miner_hashrate_hashes_per_second", {}}, At(0), At(1000000));
  ASSERT_TRUE(pts.ok());
  ASSERT_GE(pts->size(), 200u);
  for (size_t i = 0; i < pts->size(); ++i)
    EXPECT_EQ((*pts)[i].value, double(i));
  // Never over a live or non-empty directory.
  Status over = RestoreBackup(bo.dir, 1, dir.Sub("db"));
  EXPECT_EQ(over.code(), StatusCode::kFailedPrecondition) << over.ToString();
  EXPECT_EQ(CountPoints(*st, "rig-1") >= 200, true);
}

TEST(Backup, TruncatedFileFailsVerificationAndRestoreRefuses) {
  TempDir dir;
  FakeClock clock;
  store::Snapshotter* snap = nullptr;
  auto st = Open(Opts(dir.Sub("db"), &clock), &snap);
  ASSERT_TRUE(st);
  for (int i = 0; i < 500; ++i)
    st->Append("rig-1", At(i), MinerPoll(i, 1, 2, 3));
  ASSERT_TRUE(st->Flush().ok());
  BackupOptions bo;
  bo.dir = dir.Sub("backups");
  ASSERT_TRUE(CreateBackup(*snap, bo).ok());
  fs::path victim;
  uintmax_t size = 0;
  for (const auto& e : fs::recursive_directory_iterator(bo.dir)) {
    if (e.is_regular_file() && e.path().extension() == ".sst" &&
        e.file_size() > size) {
      size = e.file_size();
      victim = e.path();
    }
  }
  ASSERT_GT(size, 100u);
  fs::resize_file(victim, size / 2);
  Status v = VerifyBackup(bo.dir, 1);
  EXPECT_EQ(v.code(), StatusCode::kDataLoss) << v.ToString();
  Status r = RestoreBackup(bo.dir, 1, dir.Sub("restored"));
  EXPECT_EQ(r.code(), StatusCode::kDataLoss) << r.ToString();
  EXPECT_TRUE(!fs::exists(dir.Sub("restored")) ||
              fs::is_empty(dir.Sub("restored")));
}

TEST(Backup, PruneKeepsTheNewestAndAfterCommandFailureIsReported) {
  TempDir dir;
  FakeClock clock;
  store::Snapshotter* snap = nullptr;
  auto st = Open(Opts(dir.Sub("db"), &clock), &snap);
  ASSERT_TRUE(st);
  BackupOptions bo;
  bo.dir = dir.Sub("backups");
  bo.after_command = {"false"};
  for (int b = 0; b < 4; ++b) {
    st->Append("rig-1", At(b), MinerPoll(b, 1, 2, 3));
    auto info = CreateBackup(*snap, bo);
    ASSERT_TRUE(info.ok()) << info.status().ToString();
    ASSERT_TRUE(info->after_command_error.has_value());
    EXPECT_NE(info->after_command_error->find("exit status 1"),
              std::string::npos);
  }
  auto pruned = PruneBackups(bo.dir, 2);
  ASSERT_TRUE(pruned.ok());
  EXPECT_EQ(*pruned, 2);
  auto list = ListBackups(bo.dir);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].id, 3u);
  EXPECT_EQ((*list)[1].id, 4u);
  EXPECT_EQ(PruneBackups(bo.dir, 0).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ListBackups(dir.Sub("nothing")).status().code(),
            StatusCode::kNotFound);
}

TEST(Backup, AStopKillsAfterCommandAndLeavesNoBackupListed) {
  TempDir dir;
  FakeClock clock;
  store::Snapshotter* snap = nullptr;
  auto st = Open(Opts(dir.Sub("db"), &clock), &snap);
  ASSERT_TRUE(st);
  st->Append("rig-1", At(0), MinerPoll(0, 1, 2, 3));
  BackupOptions bo;
  bo.dir = dir.Sub("backups");
  ASSERT_TRUE(CreateBackup(*snap, bo).ok());  // one good backup stays
  // A shell whose child outlives it unless the whole group is killed.
  const std::string marker = dir.Sub("child-survived");
  bo.after_command = {"sh", "-c", "(sleep 1; touch " + marker + ") & sleep 60"};
  std::stop_source stop;
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    stop.request_stop();
  });
  const auto t0 = std::chrono::steady_clock::now();
  auto r = CreateBackup(*snap, bo, stop.get_token());
  const auto took = std::chrono::steady_clock::now() - t0;
  stopper.join();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("after_command"), std::string::npos)
      << r.status().ToString();
  EXPECT_LT(took, std::chrono::seconds(5)) << "not the 60 s command";
  auto list = ListBackups(bo.dir);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u) << "the interrupted backup is not listed";
  EXPECT_EQ((*list)[0].id, 1u);
  EXPECT_FALSE(fs::exists(bo.dir + "/rigwatch/2.verify"));
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_FALSE(fs::exists(marker)) << "the command's child was killed too";
}

TEST(Backup, AStopBeforeTheCopyKeepsNothing) {
  TempDir dir;
  FakeClock clock;
  store::Snapshotter* snap = nullptr;
  auto st = Open(Opts(dir.Sub("db"), &clock), &snap);
  ASSERT_TRUE(st);
  st->Append("rig-1", At(0), MinerPoll(0, 1, 2, 3));
  ASSERT_TRUE(st->Flush().ok());
  BackupOptions bo;
  bo.dir = dir.Sub("backups");
  std::stop_source stop;
  stop.request_stop();
  auto r = CreateBackup(*snap, bo, stop.get_token());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("interrupted during the copy"),
            std::string::npos)
      << r.status().ToString();
  auto list = ListBackups(bo.dir);
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE(list->empty());
  // The set is usable afterwards: the next run backs up.
  ASSERT_TRUE(CreateBackup(*snap, bo).ok());
  EXPECT_EQ(ListBackups(bo.dir)->size(), 1u);
}

TEST(Backup, OfflineBackupRefusesAStoreInUseAndRejectsMemoryStore) {
  TempDir dir;
  FakeClock clock;
  store::StoreOptions so = Opts(dir.Sub("db"), &clock);
  BackupOptions bo;
  bo.dir = dir.Sub("backups");
  {
    auto st = Open(so);
    ASSERT_TRUE(st);
    auto busy = CreateBackup(so, bo);
    EXPECT_EQ(busy.status().code(), StatusCode::kFailedPrecondition)
        << busy.status().ToString();
  }
  auto offline = CreateBackup(so, bo);
  EXPECT_TRUE(offline.ok()) << offline.status().ToString();
  // A closed store is refused, not dereferenced.
  store::Snapshotter* snap = nullptr;
  auto st = Open(so, &snap);
  ASSERT_TRUE(st);
  ASSERT_TRUE(st->Close().ok());
  EXPECT_EQ(CreateBackup(*snap, bo).status().code(),
            StatusCode::kFailedPrecondition);
}

TEST(BackupScheduler, BacksUpWhenDueAndKeepsN) {
  TempDir dir;
  FakeClock clock;
  store::Snapshotter* snap = nullptr;
  auto st = Open(Opts(dir.Sub("db"), &clock), &snap);
  ASSERT_TRUE(st);
  BackupOptions bo;
  bo.dir = dir.Sub("backups");
  BackupScheduler sched(snap, bo, std::chrono::hours(24), 2, &clock);
  int made = 0;
  for (int hour = 0; hour < 24 * 3 + 1; ++hour) {
    if (hour % 24 == 0)
      st->Append("rig-1", At(hour * 3600), MinerPoll(hour, 1, 2, 3));
    auto r = sched.Tick();
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    made += r->has_value();
    clock.Advance(std::chrono::hours(1));
  }
  EXPECT_EQ(made, 4);  // hours 0, 24, 48, 72
  auto list = ListBackups(bo.dir);
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->size(), 2u);
  EXPECT_EQ(sched.failures(), 0u);
}

}  // namespace
}  // namespace rigwatch::backup
