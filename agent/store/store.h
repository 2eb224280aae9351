// The time-series store: what the agent saw, kept for queries, rules, export
// and backups. One interface, two implementations: RocksStore (rocks_store.h,
// production) and MemoryStore (memory_store.h, unit tests of other parts);
// tests/unit/store/store_contract_test.cc runs one suite against both.
//
// Ingest: Append() hands a poll's worth of samples of one target to a bounded
// queue drained by the store's own writer thread; it never blocks and never
// fails. A full queue (or a paused store, see writes_paused()) drops the whole
// poll and counts its samples in dropped_samples(). Timestamps keep
// millisecond precision; a second poll of the same target with the same
// millisecond replaces the first.
//
// Series identity: (target, metric name, labels sorted by name). Samples carry
// no target label; queries and export present the target as `miner`.
//
// Thread safety: every method may be called from any thread concurrently.
#ifndef RIGWATCH_AGENT_STORE_STORE_H_
#define RIGWATCH_AGENT_STORE_STORE_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/common/clock.h"
#include "agent/common/kv.h"
#include "agent/common/status.h"
#include "exporters/sample.h"

namespace rigwatch::store {

// storage.sync in the config: kRound = one WAL sync per poll round
// (SyncRound), kAlways = every write batch is synced before the next.
enum class SyncMode { kRound, kAlways };

// How a RocksStore opens its directory. kReadOnly and kSecondary serve
// `rigwatch export` while the agent runs (kSecondary follows the primary;
// partitions created after open are not seen). Both refuse writes.
enum class OpenMode { kReadWrite, kReadOnly, kSecondary };

struct StoreOptions {
  std::string path;  // database directory
  OpenMode mode = OpenMode::kReadWrite;
  std::string secondary_path;                     // kSecondary: its own dir
  std::chrono::hours retention{24 * 30};          // raw samples
  std::chrono::hours rollup_retention{24 * 365};  // hourly rollups
  std::optional<uint64_t> max_bytes;              // drop oldest data above
  uint64_t min_free_bytes = 100ull << 20;         // pause writes below
  SyncMode sync = SyncMode::kRound;
  size_t queue_capacity_samples = 500'000;   // bound of the ingest queue
  uint64_t block_cache_bytes = 32ull << 20;  // memtables charged to it
  uint64_t write_buffer_bytes = 8ull << 20;  // per column family
  // A closed hour is re-encoded into chunks this long after it ends; a
  // sample for an hour that was already re-encoded is dropped (counted).
  std::chrono::seconds chunk_delay{600};
  // How often the background thread runs maintenance (0 = never; tests call
  // RunMaintenance themselves) and the I/O rate it may use.
  std::chrono::seconds maintenance_interval{60};
  uint64_t maintenance_bytes_per_second = 32ull << 20;
  // How often the writer re-checks free disk space.
  std::chrono::milliseconds disk_check_interval{1000};
  // Reads every block of every file on open; a corrupt file fails the open
  // (DataLoss) unless `repair` is set, which runs RocksDB's RepairDB first
  // (salvages what it can; data in corrupt blocks is lost).
  bool verify_on_open = true;
  bool repair = false;
  Clock* clock = nullptr;  // for maintenance and staleness; null = system
};

struct Point {
  WallTime ts;
  double value = 0;
  friend bool operator==(const Point&, const Point&) = default;
};

struct SeriesKey {
  std::string target;  // the `miner` dimension ("host" for the host)
  std::string metric;
  Labels labels;  // sorted by name
  friend bool operator==(const SeriesKey&, const SeriesKey&) = default;
};

struct SeriesPoints {
  SeriesKey key;
  std::vector<Point> points;  // time order
};

struct Rollup {
  WallTime hour;  // start of the hour
  double min = 0, max = 0, sum = 0;
  uint64_t count = 0;
  friend bool operator==(const Rollup&, const Rollup&) = default;
};

enum class Aggregation { kAvg, kMin, kMax, kLast, kRate, kIncrease };

struct LabelMatcher {
  enum class Op { kEq, kNe, kRegex, kNotRegex };
  std::string name;  // "miner" matches the target
  Op op = Op::kEq;
  std::string value;  // regexes are fully anchored (ECMAScript syntax)
};

struct Selector {
  std::string metric;  // exact metric name; empty = any
  std::vector<LabelMatcher> matchers;
  std::optional<std::string> target;  // shorthand for miner="target"
};

// One exported sample, as produced by a RowIterator.
struct Row {
  WallTime ts;
  std::string target;
  std::string metric;
  Labels labels;
  double value = 0;
};

// Streams rows in time order (ties in unspecified but stable order). Holds a
// bounded amount of data (at most one hour window's encoded chunks plus a
// few rows per target), never a whole day. Not thread-safe; keep the Store
// alive while it is used.
class RowIterator {
 public:
  virtual ~RowIterator() = default;
  // Ok(true) with `row` filled, Ok(false) at the end, or an error.
  virtual Result<bool> Next(Row& row) = 0;
};

struct CheckReport {
  uint32_t schema_version = 0;
  bool checksums_ok = true;
  uint64_t free_bytes = 0;
  bool low_disk = false;
  std::vector<std::string> stale_targets;
  std::vector<std::string> problems;  // human-readable, empty when healthy
  bool ok() const { return problems.empty(); }
};

struct StoreStats {
  uint64_t samples_written = 0;  // samples that reached the database
  uint64_t dropped_samples = 0;  // queue full, paused, late or read-only
  uint64_t late_samples = 0;     // subset of dropped: hour already chunked
  bool writes_paused = false;
  uint64_t pauses = 0;  // times writes paused for low disk
  uint64_t size_bytes = 0;
  uint64_t partitions = 0;
  uint64_t series = 0;
  double last_maintenance_seconds = 0;
  // Free bytes on the store's filesystem (0 and unknown when it cannot be
  // read, or the store has no disk) and the floor below which writes pause.
  bool free_known = false;
  uint64_t free_bytes = 0;
  uint64_t min_free_bytes = 0;
};

class Store : public DurableKv {
 public:
  ~Store() override = default;

  // --- ingest (never blocks) ---
  virtual void Append(std::string_view target, WallTime ts,
                      const Samples& samples) = 0;
  // Ends a poll round: everything appended before is synced to the WAL once
  // the writer reaches this point (asynchronous; SyncMode::kRound).
  virtual void SyncRound() = 0;
  // Blocks until everything appended before the call is written and synced,
  // or `timeout` passes (DeadlineExceeded, e.g. while writes are paused).
  virtual Status Flush(
      std::chrono::milliseconds timeout = std::chrono::milliseconds(30000)) = 0;
  // Drains the queue, stops background threads and closes. Idempotent;
  // the destructor calls it.
  virtual Status Close() = 0;

  virtual uint64_t dropped_samples() const = 0;
  virtual bool writes_paused() const = 0;
  virtual StoreStats Stats() const = 0;

  // --- queries (see the free functions below for aggregates) ---
  // Points of one series with from <= ts < to, in time order; empty if the
  // series is unknown.
  virtual Result<std::vector<Point>> ReadRange(const SeriesKey& key,
                                               WallTime from, WallTime to) = 0;
  // The newest point of a series, nullopt if none is stored.
  virtual Result<std::optional<Point>> Latest(const SeriesKey& key) = 0;
  // Keys of all series matching `sel`, sorted by (target, metric, labels).
  virtual Result<std::vector<SeriesKey>> MatchSeries(const Selector& sel) = 0;
  // Hourly rollups of hours that maintenance has closed, from <= hour < to.
  virtual Result<std::vector<Rollup>> ReadRollups(const SeriesKey& key,
                                                  WallTime from,
                                                  WallTime to) = 0;
  // All samples with from <= ts < to, in time order.
  virtual Result<std::unique_ptr<RowIterator>> Scan(WallTime from,
                                                    WallTime to) = 0;
  // Targets whose newest sample is older than now - intervals * interval.
  virtual std::vector<std::string> StaleTargets(Duration interval,
                                                int intervals) = 0;

  // --- health and housekeeping ---
  // Checksums of every file, schema version, free disk, stale targets
  // (given the poll interval and how many missed intervals make stale).
  virtual Result<CheckReport> Check(Duration poll_interval,
                                    int stale_intervals) = 0;
  // One bounded maintenance pass at `now`: retention, max_bytes, chunking of
  // closed hours with their rollups, compaction of closed days.
  virtual Status RunMaintenance(WallTime now) = 0;

  // rigwatch_store_* gauges and counters (no miner label), for /metrics.
  Samples SelfMetrics() const;

  // Select = MatchSeries + ReadRange for each match.
  Result<std::vector<SeriesPoints>> Select(const Selector& sel, WallTime from,
                                           WallTime to);
  // Aggregate of one series over [from, to); nullopt when no points (or
  // fewer than two for rate/increase).
  Result<std::optional<double>> Aggregate(const SeriesKey& key, WallTime from,
                                          WallTime to, Aggregation agg);
};

// Aggregates points in time order. Rate/increase treat the series as a
// counter: a decrease is a reset (the new value counts from zero); no
// extrapolation to the window edges. Rate is per second over the span
// between the first and last point.
std::optional<double> AggregatePoints(const std::vector<Point>& points,
                                      Aggregation agg);

// Parses "avg", "min", "max", "last", "rate", "increase".
Result<Aggregation> ParseAggregation(std::string_view s);

}  // namespace rigwatch::store

#endif  // RIGWATCH_AGENT_STORE_STORE_H_
