// RocksStore internals, shared by rocks_store.cc (open, ingest, kv, checks),
// rocks_query.cc (reads, scan) and rocks_maintenance.cc (chunking,
// rollups, retention), and by agent/backup (which needs the rocksdb::DB).
// Not for other components: they use store.h.
#ifndef RIGWATCH_AGENT_STORE_ROCKS_STORE_IMPL_H_
#define RIGWATCH_AGENT_STORE_ROCKS_STORE_IMPL_H_

#include <rocksdb/cache.h>
#include <rocksdb/db.h>

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "agent/common/periodic_worker.h"
#include "agent/store/codec.h"
#include "agent/store/queued_store.h"
#include "agent/store/rocks_store.h"

namespace rigwatch::store {

// rocksdb::Status -> Status, with context. The one conversion point.
Status FromRocks(const rocksdb::Status& s, std::string_view what);

using CfPtr = std::shared_ptr<rocksdb::ColumnFamilyHandle>;

class RocksStore final : public QueuedStore, public Snapshotter {
 public:
  static Result<std::unique_ptr<RocksStore>> Open(const StoreOptions& o);
  ~RocksStore() override;

  Status Close() override;
  Status Put(std::string_view ns, std::string_view key,
             std::string_view value) override;
  Status Delete(std::string_view ns, std::string_view key) override;
  Status Write(std::span<const KvWrite> writes) override;  // one synced batch
  Result<std::optional<std::string>> Get(std::string_view ns,
                                         std::string_view key) override;
  Result<std::vector<std::pair<std::string, std::string>>> List(
      std::string_view ns) override;

  StoreStats Stats() const override;
  Result<std::vector<Point>> ReadRange(const SeriesKey& key, WallTime from,
                                       WallTime to) override;
  Result<std::optional<Point>> Latest(const SeriesKey& key) override;
  Result<std::vector<SeriesKey>> MatchSeries(const Selector& sel) override;
  Result<std::vector<Rollup>> ReadRollups(const SeriesKey& key, WallTime from,
                                          WallTime to) override;
  Result<std::unique_ptr<RowIterator>> Scan(WallTime from,
                                            WallTime to) override;
  std::vector<std::string> StaleTargets(Duration interval,
                                        int intervals) override;
  Result<CheckReport> Check(Duration poll_interval,
                            int stale_intervals) override;
  Status RunMaintenance(WallTime now) override;

  // Snapshotter (agent/backup). StoredSamples sums the per-hour counts in
  // meta.
  Status FlushAcknowledged() override;
  // The database, valid until Close (rocks_scan.cc).
  rocksdb::DB* db() { return db_; }
  uint64_t StoredSamples() const override;
  Status AddBackup(rocksdb::BackupEngine& engine,
                   const rocksdb::CreateBackupOptions& options,
                   const std::string& metadata, uint32_t* id) override;
  uint64_t DiskBytes() const;

  // Used by the RowIterator in rocks_query.cc.
  struct SeriesInfo {
    uint32_t tid;
    std::string metric;
    Labels labels;  // sorted
  };
  struct Schema {
    std::vector<uint32_t> sids;  // in the exporter's sample order
  };
  struct TargetInfo {
    uint32_t tid = 0;
    std::string name;
    std::vector<uint32_t> sids;  // the target's live series
    // Replaced *_info series (ReplaceInfoSeries): out of the live index,
    // still readable by key until retention passes `at_ms`.
    std::map<uint32_t, int64_t> retired;  // sid -> retired at (ms)
    std::vector<Schema> schemas;          // index = schema id
    size_t last_schema = 0;
    int64_t last_ts_ms = 0;  // 0 = none seen
    std::vector<double> last_values;
    size_t last_values_schema = 0;
  };
  bool SeriesOf(uint32_t sid, SeriesInfo& out) const;
  const std::string& TargetName(uint32_t tid) const;
  // Copies the sids of a schema; false if unknown.
  bool SchemaSids(uint32_t tid, uint32_t schema_id,
                  std::vector<uint32_t>& out) const;
  // Partitions by name ("h..", "c..", "r.."), snapshot.
  std::map<std::string, CfPtr> Partitions() const;

 protected:
  Result<uint64_t> WriteRecords(std::span<PollRecord> records) override;
  Status SyncWrites() override;
  bool SpaceAvailable() override;

 private:
  explicit RocksStore(const StoreOptions& o);
  Status OpenDb();
  Status Migrate(uint32_t from);
  Status LoadIndex();
  void LoadLastTimestamps();
  Result<CfPtr> PartitionFor(const std::string& name);
  CfPtr Wrap(rocksdb::ColumnFamilyHandle* h);
  Status DropPartition(const std::string& name);
  Status SeedFamily(rocksdb::ColumnFamilyHandle* h);
  Result<uint32_t> ReadSchemaVersion();
  Result<TargetInfo*> RegisterTarget(const std::string& name,
                                     rocksdb::WriteBatch& meta);
  Result<size_t> RegisterSchema(TargetInfo& t, const Samples& samples,
                                rocksdb::WriteBatch& meta);
  Status ChunkHour(int64_t hour_ms, const CfPtr& hot);
  Result<std::vector<Point>> ReadRangeSid(uint32_t sid, uint32_t tid,
                                          int64_t from, int64_t to);
  // One pass of the maintenance thread; returns the wait to the next.
  Duration MaintenanceTick();
  Result<uint64_t> FreeBytes() const;

  const StoreOptions opts_;
  Clock* clock_;
  std::shared_ptr<rocksdb::Cache> cache_;  // shared by every family
  rocksdb::DB* db_ = nullptr;
  rocksdb::ColumnFamilyHandle* meta_ = nullptr;
  rocksdb::ColumnFamilyHandle* kv_ = nullptr;
  rocksdb::ColumnFamilyHandle* default_ = nullptr;
  bool closed_ = false;
  std::mutex close_mu_;

  mutable std::mutex part_mu_;
  std::map<std::string, CfPtr> parts_;

  // Held by the writer for each batch and by maintenance as it starts and
  // ends chunking an hour: no row lands in the hot family of an hour being
  // chunked (the writer waits for chunked_cv_ instead), and rows of an
  // hour already chunked are merged into its chunks (MergeLate).
  mutable std::mutex write_mu_;
  std::condition_variable chunked_cv_;
  std::optional<int64_t> chunking_hour_;     // being chunked now
  std::set<int64_t> closed_hours_;           // hour starts (ms), chunked
  std::map<int64_t, uint64_t> hour_counts_;  // samples per hour window
  // Late points of chunked hours, by hour and series, in arrival order.
  using LatePoints =
      std::map<int64_t, std::map<uint32_t, std::vector<ChunkPoint>>>;
  // Merges them into their hours' chunks and rollups (in `wb`); adds the
  // points that are new (not replacing one at the same ms) to `per_hour`.
  Status MergeLate(LatePoints& late, rocksdb::WriteBatch& wb,
                   std::map<int64_t, uint64_t>& per_hour);
  // Writes a closed hour's chunk of `pts` (unique, in time order) and its
  // rollup.
  Status PutChunk(rocksdb::WriteBatch& wb, const CfPtr& chunks,
                  const CfPtr& rollups, int64_t hour, uint32_t sid,
                  const std::vector<ChunkPoint>& pts, std::string& buf);
  // The family if it exists (never creates one).
  CfPtr ExistingPartition(const std::string& name) const;

  // The series index. Mutated only by the writer thread (under unique
  // lock); read by queries under shared lock.
  mutable std::shared_mutex idx_mu_;
  std::unordered_map<std::string, std::unique_ptr<TargetInfo>> targets_;
  std::vector<TargetInfo*> targets_by_id_;
  // A series is (target, metric, label set); metric names and label sets
  // are interned, stored once for the whole fleet (a 10,000-miner fleet has
  // ~250,000 series but a few dozen names and label sets). Lookups by name
  // go through the target's own short list of series.
  static constexpr uint32_t kNoTarget = 0xFFFFFFFFu;  // an unused sid
  struct SeriesRec {
    uint32_t tid;
    uint32_t metric;       // index into metric_names_
    uint32_t labels;       // index into label_sets_
    bool retired = false;  // in its target's `retired`, not `sids`
  };
  std::vector<SeriesRec> series_;  // index = sid
  std::vector<std::string> metric_names_;
  std::unordered_map<std::string, uint32_t> metric_ids_;
  std::vector<Labels> label_sets_;                           // sorted
  std::unordered_map<std::string, uint32_t> label_set_ids_;  // encoded
  // Callers hold idx_mu_ (unique for Intern/AddSeries), or are the writer.
  uint32_t InternMetric(std::string_view metric);
  uint32_t InternLabels(Labels sorted);
  void AddSeriesLocked(uint32_t sid, uint32_t tid, std::string_view metric,
                       Labels sorted);
  // A live series of `t`, or (with `retired`) also a replaced one.
  std::optional<uint32_t> FindSidLocked(const TargetInfo& t,
                                        std::string_view metric,
                                        const Labels& sorted,
                                        bool retired = true) const;
  // When a poll brings an *_info metric with label values the target's
  // live series of it lack, those series leave the live index (retired in
  // meta, 'R' sid -> ms); a retired one that comes back is live again.
  Status ReplaceInfoSeries(TargetInfo& t, const std::vector<uint32_t>& sids,
                           rocksdb::WriteBatch& meta);
  // Forgets series retired longer ago than the raw retention (their
  // samples are gone), with the poll schemas that held them.
  Status ForgetRetiredSeries(int64_t now_ms);
  // The target's series of `key`, under a shared lock taken here.
  std::optional<std::pair<uint32_t, uint32_t>> FindSeries(
      const SeriesKey& key) const;  // {tid, sid}
  // True when `samples` has exactly the schema's series, in its order.
  bool SchemaMatches(const Schema& schema, const Samples& samples) const;

  // Index entries (targets, series, schemas) registered in memory whose
  // batch has not been written yet or failed: every batch carries them
  // again until one is written, so no stored row or schema ever refers to
  // an id the meta family lacks. Writer thread only.
  std::vector<std::pair<std::string, std::string>> unpersisted_meta_;
  // The last batch failed: RocksDB accepts no write after a failed one
  // (a full disk, say) until it is resumed. Writer thread only.
  bool write_failed_ = false;
  Status PutMeta(rocksdb::WriteBatch& wb, std::string key, std::string value);

  std::chrono::steady_clock::time_point next_space_check_{};
  bool space_ok_ = true;

  std::mutex maint_mu_;  // one maintenance pass at a time
  std::atomic<double> last_maintenance_{0};
  // Last: stopped and joined before the state above goes away.
  PeriodicWorker maintenance_{"store-maintenance", [this](std::stop_token) {
                                return MaintenanceTick();
                              }};
};

}  // namespace rigwatch::store

#endif  // RIGWATCH_AGENT_STORE_ROCKS_STORE_IMPL_H_
