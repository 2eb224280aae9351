// Backup of a store of a given size: seconds and MB/s.
//   backup_bench [--store_mb=64] [--fill_seconds=50]
//   (the 1 GB figure: --store_mb=1024 --fill_seconds=600)
#include <cstdio>

#include "agent/backup/backup.h"
#include "agent/store/rocks_store.h"
#include "bench/store/bench_util.h"

using namespace rigwatch;
using namespace rigwatch::bench;

int main(int argc, char** argv) {
  long store_mb = Flag(argc, argv, "store_mb", 64);
  long fill_seconds = Flag(argc, argv, "fill_seconds", 50);
  TempDir dir;
  store::StoreOptions o;
  o.path = dir.Sub("db");
  o.maintenance_interval = std::chrono::seconds(0);
  o.verify_on_open = false;
  o.min_free_bytes = 0;
  o.queue_capacity_samples = 2'000'000;
  store::Snapshotter* snapshots = nullptr;
  auto s = store::OpenRocksStore(o, &snapshots);
  if (!s.ok()) {
    std::fprintf(stderr, "%s\n", s.status().ToString().c_str());
    return 1;
  }
  // Noisy full-precision values: hot rows barely compress, so the store
  // grows to the requested size quickly.
  Rng rng(3);
  Samples poll;
  for (int i = 0; i < 25; ++i) poll.push_back({"m" + std::to_string(i), {}, 0});
  uint64_t target_bytes = static_cast<uint64_t>(store_mb) << 20;
  auto start = std::chrono::steady_clock::now();
  int64_t ts = 1767225600000;
  while ((*s)->Stats().size_bytes < target_bytes &&
         Seconds(start) < fill_seconds) {
    for (int t = 0; t < 2000; ++t) {
      for (Sample& x : poll) x.value = rng.Uniform() * 1000;
      (*s)->Append("rig-" + std::to_string(t), FromUnixMillis(ts), poll);
    }
    ts += 10000;
    (void)(*s)->Flush(std::chrono::milliseconds(60000));
  }
  uint64_t size = (*s)->Stats().size_bytes;
  backup::BackupOptions bo;
  bo.dir = dir.Sub("backups");
  start = std::chrono::steady_clock::now();
  auto info = backup::CreateBackup(*snapshots, bo);
  double secs = Seconds(start);
  if (!info.ok()) {
    std::fprintf(stderr, "%s\n", info.status().ToString().c_str());
    return 1;
  }
  double mb = static_cast<double>(info->size_bytes) / (1 << 20);
  std::printf("backup_store_size %.1f MB\n", size / 1048576.0);
  std::printf("backup_size %.1f MB\n", mb);
  std::printf("backup_create_and_verify_seconds %.2f s\n", secs);
  std::printf("backup_throughput %.1f MB/s\n", mb / secs);
  start = std::chrono::steady_clock::now();
  Status r = backup::RestoreBackup(bo.dir, info->id, dir.Sub("restored"));
  if (!r.ok()) std::fprintf(stderr, "%s\n", r.ToString().c_str());
  std::printf("backup_restore_seconds %.2f s\n", Seconds(start));
  return 0;
}
