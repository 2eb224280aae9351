// Store figures: ingest rate through the public API, bytes per sample after
// chunking realistic miner streams, and 24 h range queries.
//   store_bench [--targets=10000] [--rounds=10] [--bps_targets=100]
//               [--hours=24] [--queries=200]
#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "agent/store/rocks_store_impl.h"
#include "bench/store/bench_util.h"

using namespace rigwatch;
using namespace rigwatch::bench;
using store::SeriesKey;
using store::StoreOptions;
using Clk = std::chrono::steady_clock;

namespace {

constexpr int64_t kStart = 1767225600000;  // 2026-01-01T00:00:00Z

// CPU seconds of the whole process (all threads): a figure that does not
// depend on how busy the shared machine is.
double CpuSeconds() {
  rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
         (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

StoreOptions Options(const std::string& path) {
  StoreOptions o;
  o.path = path;
  o.maintenance_interval = std::chrono::seconds(0);
  o.verify_on_open = false;
  o.min_free_bytes = 0;
  o.block_cache_bytes = 64ull << 20;
  o.write_buffer_bytes = 16ull << 20;
  return o;
}

std::unique_ptr<store::RocksStore> Open(const StoreOptions& o) {
  auto s = store::RocksStore::Open(o);
  if (!s.ok()) {
    std::fprintf(stderr, "open: %s\n", s.status().ToString().c_str());
    std::exit(1);
  }
  return std::move(s).value();
}

void Ingest(int argc, char** argv) {
  long targets = Flag(argc, argv, "targets", 10000);
  long rounds = Flag(argc, argv, "rounds", 10);
  TempDir dir;
  StoreOptions o = Options(dir.Sub("db"));
  o.queue_capacity_samples = static_cast<size_t>(targets * 25 * rounds);
  auto s = Open(o);
  std::vector<std::string> names;
  std::vector<Samples> polls;
  for (long t = 0; t < targets; ++t) {
    names.push_back("rig-" + std::to_string(t));
    MinerStream m(t);
    polls.push_back(m.Next());
  }
  // First round registers every target and series (the slow path, timed
  // separately); the figure is the steady state of repeated polls.
  auto reg = Clk::now();
  for (long t = 0; t < targets; ++t) {
    s->Append(names[t], FromUnixMillis(kStart - 10000), polls[t]);
  }
  (void)s->Flush(std::chrono::milliseconds(60000));
  std::printf("store_ingest_first_round_registration %.3f s\n", Seconds(reg));
  auto start = Clk::now();
  double cpu0 = CpuSeconds();
  double append_s = 0;
  for (long r = 0; r < rounds; ++r) {
    WallTime ts = FromUnixMillis(kStart + r * 10000);
    for (long t = 0; t < targets; ++t) s->Append(names[t], ts, polls[t]);
    s->SyncRound();
    if (Seconds(start) > 40) {
      rounds = r + 1;
      break;
    }
  }
  append_s = Seconds(start);
  Status f = s->Flush(std::chrono::milliseconds(60000));
  double total_s = Seconds(start);
  double cpu_s = CpuSeconds() - cpu0;
  double n = static_cast<double>(targets * 25 * rounds);
  std::printf("store_ingest_series_sets %ld count\n", targets);
  std::printf("store_ingest_samples %.0f samples\n", n);
  std::printf("store_ingest_append_samples_per_second %.0f samples/s\n",
              n / append_s);
  std::printf("store_ingest_samples_per_second %.0f samples/s\n", n / total_s);
  std::printf("store_ingest_samples_per_cpu_second %.0f samples/s\n",
              n / cpu_s);
  std::printf("store_ingest_dropped_samples %llu samples\n",
              static_cast<unsigned long long>(s->dropped_samples()));
  if (!f.ok())
    std::printf("store_ingest_flush_error 1 %s\n", f.ToString().c_str());
}

uint64_t FamilyBytes(store::RocksStore& s, char kind) {
  uint64_t total = 0;
  for (const auto& [name, cf] : s.Partitions()) {
    if (name[0] != kind) continue;
    rocksdb::ColumnFamilyMetaData md;
    s.db()->GetColumnFamilyMetaData(cf.get(), &md);
    total += md.size;
  }
  return total;
}

struct QueryTimes {
  double median_ms, max_ms;
};

QueryTimes TimeQueries(store::Store& s, long targets, int hours, int queries) {
  Rng rng(99);
  std::vector<double> ms;
  size_t points = 0;
  for (int q = 0; q < queries; ++q) {
    SeriesKey k{"rig-" + std::to_string(rng.Next() % targets),
                "miner_metric_" + std::to_string(rng.Next() % 25),
                {}};
    if (k.metric == "miner_metric_5") k.labels = {{"sensor", "asic"}};
    auto t0 = Clk::now();
    auto r = s.ReadRange(k, FromUnixMillis(kStart),
                         FromUnixMillis(kStart + hours * 3600000ll));
    ms.push_back(Seconds(t0) * 1000);
    if (r.ok()) points += r->size();
  }
  std::sort(ms.begin(), ms.end());
  if (points == 0) std::fprintf(stderr, "range queries returned nothing\n");
  return {ms[ms.size() / 2], ms.back()};
}

void BytesPerSampleAndQueries(int argc, char** argv) {
  long targets = Flag(argc, argv, "bps_targets", 100);
  int hours = static_cast<int>(Flag(argc, argv, "hours", 24));
  int queries = static_cast<int>(Flag(argc, argv, "queries", 200));
  TempDir dir;
  StoreOptions o = Options(dir.Sub("db"));
  o.queue_capacity_samples = 4'000'000;
  auto s = Open(o);
  std::vector<MinerStream> streams;
  std::vector<std::string> names;
  for (long t = 0; t < targets; ++t) {
    streams.emplace_back(t + 1);
    names.push_back("rig-" + std::to_string(t));
  }
  Rng jitter(5);
  long polls = hours * 360;
  auto start = Clk::now();
  for (long p = 0; p < polls; ++p) {
    for (long t = 0; t < targets; ++t) {
      // Polls land on the 10 s grid with tens of ms of scheduling jitter.
      int64_t ts =
          kStart + p * 10000 + static_cast<int64_t>(jitter.Uniform() * 40);
      s->Append(names[t], FromUnixMillis(ts), streams[t].Next());
    }
    if (p % 360 == 0) (void)s->Flush(std::chrono::milliseconds(60000));
  }
  (void)s->Flush(std::chrono::milliseconds(60000));
  double ingest_s = Seconds(start);
  double samples = static_cast<double>(s->Stats().samples_written);
  QueryTimes hot = TimeQueries(*s, targets, hours, queries);
  start = Clk::now();
  WallTime after = FromUnixMillis(kStart + (hours + 1) * 3600000ll);
  for (int pass = 0; pass < hours / 4 + 3; ++pass) {
    Status m = s->RunMaintenance(after);
    if (!m.ok())
      std::fprintf(stderr, "maintenance: %s\n", m.ToString().c_str());
  }
  double chunk_s = Seconds(start);
  QueryTimes chunked = TimeQueries(*s, targets, hours, queries);
  uint64_t c = FamilyBytes(*s, 'c'), r = FamilyBytes(*s, 'r'),
           h = FamilyBytes(*s, 'h');
  std::printf("store_bps_samples %.0f samples\n", samples);
  std::printf("store_bps_ingest_samples_per_second %.0f samples/s\n",
              samples / ingest_s);
  std::printf("store_chunking_samples_per_second %.0f samples/s\n",
              samples / chunk_s);
  std::printf("store_bytes_per_sample_chunks %.3f bytes\n", c / samples);
  std::printf("store_bytes_per_sample_chunks_and_rollups %.3f bytes\n",
              (c + r) / samples);
  std::printf("store_hot_bytes_left %llu bytes\n",
              static_cast<unsigned long long>(h));
  std::printf("store_range_query_24h_hot_median %.3f ms\n", hot.median_ms);
  std::printf("store_range_query_24h_hot_max %.3f ms\n", hot.max_ms);
  std::printf("store_range_query_24h_chunked_median %.3f ms\n",
              chunked.median_ms);
  std::printf("store_range_query_24h_chunked_max %.3f ms\n", chunked.max_ms);
}

// Durable state writes (rule states, outbox): N synced Puts one by one
// against the same N writes as one synced batch, in the same run. This is
// what a fleet-wide event (every miner's state changing in one round) costs
// the rule thread.
void KvWrites(int argc, char** argv) {
  const long n = Flag(argc, argv, "kv-writes", 2000);
  TempDir dir;
  auto s = Open(Options(dir.Sub("db")));
  std::vector<KvWrite> writes;
  for (long i = 0; i < n; ++i) {
    writes.push_back(KvWrite{"bench", "state-" + std::to_string(i),
                             std::string("2 1767225600000 0 - -")});
  }
  auto t0 = std::chrono::steady_clock::now();
  for (const KvWrite& w : writes) {
    Status st = s->Put(w.ns, w.key, *w.value);
    if (!st.ok()) std::fprintf(stderr, "put: %s\n", st.ToString().c_str());
  }
  const double each = Seconds(t0);
  for (KvWrite& w : writes) w.key += "-b";
  t0 = std::chrono::steady_clock::now();
  Status st = s->Write(writes);
  if (!st.ok()) std::fprintf(stderr, "write: %s\n", st.ToString().c_str());
  const double batch = Seconds(t0);
  std::printf("store_kv_writes %ld count\n", n);
  std::printf("store_kv_synced_one_by_one %.1f ms\n", each * 1000);
  std::printf("store_kv_synced_one_batch %.1f ms\n", batch * 1000);
  std::printf("store_kv_batch_speedup %.0f x\n", batch > 0 ? each / batch : 0);
}

}  // namespace

int main(int argc, char** argv) {
  KvWrites(argc, argv);
  Ingest(argc, argv);
  BytesPerSampleAndQueries(argc, argv);
  return 0;
}
