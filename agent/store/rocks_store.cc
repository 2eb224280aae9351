// Opening, schema version and migration, ingest and DurableKv of RocksStore.
#include <rocksdb/cache.h>
#include <rocksdb/rate_limiter.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/backup_engine.h>
#include <rocksdb/write_buffer_manager.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>

#include "agent/common/log.h"
#include "agent/store/codec.h"
#include "agent/store/matcher.h"
#include "agent/store/rocks_rows.h"
#include "agent/store/rocks_store_impl.h"
#include "agent/store/rocks_wal.h"
#include "agent/store/time_windows.h"

namespace rigwatch::store {
namespace {

constexpr char kMetaCf[] = "meta";
constexpr char kKvCf[] = "kv";
constexpr char kVersionKey[] = "version";
// Samples of an hour already chunked are merged into its chunks up to this
// late (by the store's clock); older ones are dropped and counted as late.
constexpr int64_t kMaxLateMs = 24 * 3600 * 1000;

struct SharedResources {
  std::shared_ptr<rocksdb::Cache> cache;
  std::shared_ptr<rocksdb::WriteBufferManager> wbm;
  std::shared_ptr<rocksdb::RateLimiter> limiter;
};

rocksdb::ColumnFamilyOptions CfOptionsFor(const std::string& name,
                                          const StoreOptions& o,
                                          const SharedResources& r) {
  rocksdb::ColumnFamilyOptions cf;
  rocksdb::BlockBasedTableOptions t;
  t.block_cache = r.cache;
  t.cache_index_and_filter_blocks = true;
  bool closed = !name.empty() && (name[0] == 'c' || name[0] == 'r');
  // Larger blocks let ZSTD see a target's neighbouring chunks (they share
  // their timestamp columns).
  t.block_size = closed ? 64 * 1024 : 16 * 1024;
  cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
  // Chunks and rollups are written once by maintenance: spend CPU on ZSTD.
  // Hot rows take the ingest rate: LZ4.
  cf.compression = closed ? rocksdb::kZSTD : rocksdb::kLZ4Compression;
  cf.write_buffer_size =
      (name[0] == 'h') ? o.write_buffer_bytes
                       : std::min<uint64_t>(o.write_buffer_bytes, 4ull << 20);
  cf.max_write_buffer_number = 2;
  return cf;
}

// RocksDB's own log, as agent log lines (logfmt on stderr/journal), not as a
// LOG file in the data directory: on a full disk the LOG file's writer
// fails like any other, and Debian's librocksdb, built with assertions,
// aborts the process on the next line written to it.
// A message RocksDB repeats (every few seconds while it waits for disk
// space, say) is logged once per kRepeatWindow, with the count of the
// ones left out.
class RocksInfoLog final : public rocksdb::Logger {
 public:
  static constexpr auto kRepeatWindow = std::chrono::minutes(10);
  RocksInfoLog() : rocksdb::Logger(rocksdb::InfoLogLevel::WARN_LEVEL) {}
  using rocksdb::Logger::Logv;
  void Logv(const rocksdb::InfoLogLevel level, const char* format,
            va_list ap) override {
    if (level < GetInfoLogLevel()) return;
    char buf[1024];
    const int n = std::vsnprintf(buf, sizeof(buf), format, ap);
    if (n < 0) return;
    std::string_view text(
        buf, std::min<size_t>(static_cast<size_t>(n), sizeof(buf) - 1));
    while (!text.empty() && text.back() == '\n') text.remove_suffix(1);
    if (Expected(text)) {
      LogDebug("rocksdb").Kv("msg", text);
      return;
    }
    uint64_t left_out = 0;
    {
      const auto now = std::chrono::steady_clock::now();
      std::lock_guard<std::mutex> l(mu_);
      auto [it, added] = seen_.try_emplace(format, Seen{now, 0});
      if (!added) {
        if (now - it->second.logged < kRepeatWindow) {
          ++it->second.left_out;
          return;
        }
        left_out = it->second.left_out;
        it->second = Seen{now, 0};
      }
    }
    LogEvent e(level >= rocksdb::InfoLogLevel::ERROR_LEVEL ? LogLevel::kError
                                                           : LogLevel::kWarn,
               "rocksdb");
    e.Kv("msg", text);
    if (left_out > 0) e.Kv("repeats_left_out", left_out);
  }

 private:
  // Warnings RocksDB gives for what the store does on purpose: a backup
  // pauses file deletions twice over (the backup engine, then its
  // checkpoint), and RocksDB warns about the inner pause and its end.
  static bool Expected(std::string_view text) {
    return text.find("File Deletions Disabled, but already disabled") !=
               std::string_view::npos ||
           text.find("File Deletions Enable, but not really enabled") !=
               std::string_view::npos;
  }
  struct Seen {
    std::chrono::steady_clock::time_point logged;
    uint64_t left_out;
  };
  std::mutex mu_;
  std::map<std::string, Seen> seen_;  // by format: one entry per call site
};

rocksdb::DBOptions DbOptions(const StoreOptions& o, const SharedResources& r) {
  rocksdb::DBOptions d;
  d.create_if_missing = o.mode == OpenMode::kReadWrite;
  d.create_missing_column_families = o.mode == OpenMode::kReadWrite;
  d.write_buffer_manager = r.wbm;
  d.rate_limiter = r.limiter;
  d.max_background_jobs = 2;
  d.info_log = std::make_shared<RocksInfoLog>();
  // Many column families share one WAL; an idle one would pin old WAL files.
  d.max_total_wal_size = 64ull << 20;
  // track_and_verify_wals_in_manifest stays off (docs/architecture.md "Store").
  if (o.mode == OpenMode::kSecondary) d.max_open_files = -1;
  return d;
}

SharedResources MakeResources(const StoreOptions& o) {
  SharedResources r;
  r.cache = rocksdb::NewLRUCache(o.block_cache_bytes);
  // Memtables of all column families together: a quarter of the cache
  // (8 MB by default) still flushes hot rows of 10,000 miners only every
  // ~20 s.
  r.wbm = std::make_shared<rocksdb::WriteBufferManager>(o.block_cache_bytes / 4,
                                                        r.cache);
  if (o.maintenance_bytes_per_second > 0) {
    r.limiter.reset(
        rocksdb::NewGenericRateLimiter(o.maintenance_bytes_per_second));
  }
  return r;
}

// True when `dir` holds RocksDB tables or WAL files (whatever its manifest).
bool HasDatabaseFiles(const std::string& dir) {
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator(dir, ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    const std::string ext = it->path().extension().string();
    if (ext == ".sst" || ext == ".log") return true;
  }
  return false;
}

std::string WalAsideDir(const std::string& path) {
  return path + "/repair-wal";
}

// Moves the WAL files out of RocksDB's sight (into WalAsideDir, which an
// interrupted repair may have left with files of its own) and returns them
// all, oldest first.
Result<std::vector<std::string>> MoveWalAside(const std::string& path) {
  namespace fs = std::filesystem;
  const std::string aside = WalAsideDir(path);
  std::error_code ec;
  fs::create_directories(aside, ec);
  if (ec) return UnavailableError("mkdir " + aside + ": " + ec.message());
  for (auto it = fs::directory_iterator(path, ec);
       !ec && it != fs::directory_iterator(); it.increment(ec)) {
    if (it->path().extension() != ".log") continue;
    fs::rename(it->path(), aside + "/" + it->path().filename().string(), ec);
    if (ec)
      return UnavailableError("move " + it->path().string() + ": " +
                              ec.message());
  }
  std::vector<std::pair<uint64_t, std::string>> files;
  for (auto it = fs::directory_iterator(aside, ec);
       !ec && it != fs::directory_iterator(); it.increment(ec)) {
    if (it->path().extension() != ".log") continue;
    files.emplace_back(std::strtoull(it->path().stem().c_str(), nullptr, 10),
                       it->path().string());
  }
  if (ec) return UnavailableError("list " + aside + ": " + ec.message());
  std::sort(files.begin(), files.end());
  std::vector<std::string> out;
  for (auto& [n, f] : files) out.push_back(std::move(f));
  return out;
}

}  // namespace

Status FromRocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return Status::Ok();
  std::string m = std::string(what) + ": " + s.ToString();
  if (s.IsCorruption()) return DataLossError(m);
  if (s.IsNotFound()) return NotFoundError(m);
  if (s.IsIOError() && s.ToString().find("lock") != std::string::npos) {
    return FailedPreconditionError(m + " (is a running agent using it?)");
  }
  if (s.IsIOError() || s.IsBusy() || s.IsTryAgain()) {
    return UnavailableError(m);
  }
  if (s.IsNoSpace()) return ResourceExhaustedError(m);
  if (s.IsInvalidArgument()) return InvalidArgumentError(m);
  return InternalError(m);
}

Result<std::unique_ptr<Store>> OpenRocksStore(const StoreOptions& options,
                                              Snapshotter** snapshots) {
  RW_ASSIGN_OR_RETURN(std::unique_ptr<RocksStore> s, RocksStore::Open(options));
  if (snapshots != nullptr) *snapshots = s.get();
  return std::unique_ptr<Store>(std::move(s));
}

Status RocksStore::FlushAcknowledged() {
  return Flush(std::chrono::milliseconds(30000));
}

Status RocksStore::AddBackup(rocksdb::BackupEngine& engine,
                             const rocksdb::CreateBackupOptions& options,
                             const std::string& metadata, uint32_t* id) {
  if (db_ == nullptr) return FailedPreconditionError("the store is closed");
  rocksdb::BackupID bid = 0;
  RW_RETURN_IF_ERROR(FromRocks(
      engine.CreateNewBackupWithMetadata(options, db_, metadata, &bid),
      "create backup"));
  *id = bid;
  return Status::Ok();
}

RocksStore::RocksStore(const StoreOptions& o)
    : QueuedStore(o.queue_capacity_samples, o.disk_check_interval),
      opts_(o),
      clock_(o.clock ? o.clock : SystemClock::Default()) {}

RocksStore::~RocksStore() { Close().IgnoreError("destructor"); }

Result<std::unique_ptr<RocksStore>> RocksStore::Open(const StoreOptions& o) {
  if (o.path.empty()) return InvalidArgumentError("store: empty path");
  std::unique_ptr<RocksStore> s(new RocksStore(o));
  Status st = s->OpenDb();
  if (!st.ok()) {
    s->Close().IgnoreError("open failed; the open error is what matters");
    return st.WithContext("store " + o.path);
  }
  return s;
}

CfPtr RocksStore::Wrap(rocksdb::ColumnFamilyHandle* h) {
  rocksdb::DB* db = db_;
  return CfPtr(h, [db](rocksdb::ColumnFamilyHandle* p) {
    db->DestroyColumnFamilyHandle(p).PermitUncheckedError();
  });
}

Status RocksStore::OpenDb() {
  SharedResources res = MakeResources(opts_);
  cache_ = res.cache;
  rocksdb::DBOptions dbo = DbOptions(opts_, res);
  std::vector<std::string> names;
  rocksdb::Status ls = rocksdb::DB::ListColumnFamilies(dbo, opts_.path, &names);
  if (!ls.ok()) {
    // No readable CURRENT/MANIFEST. Over tables or a WAL that would make a
    // new, empty database (and lose them): only a repair may go on.
    if (HasDatabaseFiles(opts_.path) && !opts_.repair) {
      return DataLossError(
          "the store's manifest is unreadable (" + ls.ToString() +
          ") but its data files are there: damaged, run rigwatch run "
          "--repair");
    }
    if (opts_.mode != OpenMode::kReadWrite) {
      return FailedPreconditionError(
          "no database files: not a rigwatch store (" + ls.ToString() + ")");
    }
    std::error_code ec;
    std::filesystem::create_directories(opts_.path, ec);
    if (ec) return UnavailableError("mkdir: " + ec.message());
    names = {rocksdb::kDefaultColumnFamilyName};
  }
  for (const char* n : {kMetaCf, kKvCf}) {
    if (std::find(names.begin(), names.end(), n) == names.end()) {
      if (opts_.mode != OpenMode::kReadWrite) {
        if (names.size() > 1) {
          // Other families of ours, but not this one.
          return DataLossError(std::string("no ") + n +
                               " column family: damaged, run rigwatch run "
                               "--repair");
        }
        return FailedPreconditionError(std::string("no ") + n +
                                       " column family: not a rigwatch store");
      }
      names.push_back(n);
    }
  }
  auto descriptors = [&] {
    std::vector<rocksdb::ColumnFamilyDescriptor> d;
    for (const std::string& n : names) {
      d.emplace_back(n, CfOptionsFor(n, opts_, res));
    }
    return d;
  };
  std::vector<rocksdb::ColumnFamilyDescriptor> descs = descriptors();
  std::vector<std::string> wal_files;  // replayed by us after the repair
  std::vector<std::string> repaired;   // families the repair found
  if (opts_.repair) {
    LogWarn("store_repair").Kv("path", opts_.path);
    // RocksDB's repairer rebuilds the manifest from the tables; the WAL is
    // replayed after it, by rocks_wal.cc (which says why).
    RW_ASSIGN_OR_RETURN(wal_files, MoveWalAside(opts_.path));
    // Families the manifest no longer names (it may be lost) are found in
    // the tables' properties and recreated with the unknown-family options;
    // the repaired manifest then lists them, so they are opened as well.
    RW_RETURN_IF_ERROR(
        FromRocks(rocksdb::RepairDB(opts_.path, dbo, descs,
                                    CfOptionsFor("h", opts_, res)),
                  "repair"));
    std::vector<std::string> found;
    RW_RETURN_IF_ERROR(
        FromRocks(rocksdb::DB::ListColumnFamilies(dbo, opts_.path, &found),
                  "list column families after repair"));
    for (const std::string& n : found) {
      if (std::find(names.begin(), names.end(), n) == names.end()) {
        names.push_back(n);
      }
    }
    repaired = std::move(found);
    descs = descriptors();
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::Options single(dbo, rocksdb::ColumnFamilyOptions());
  rocksdb::Status os;
  switch (opts_.mode) {
    case OpenMode::kReadWrite:
      os = rocksdb::DB::Open(dbo, opts_.path, descs, &handles, &db_);
      break;
    case OpenMode::kReadOnly:
      os = rocksdb::DB::OpenForReadOnly(dbo, opts_.path, descs, &handles, &db_);
      break;
    case OpenMode::kSecondary:
      if (opts_.secondary_path.empty()) {
        return InvalidArgumentError("secondary open needs secondary_path");
      }
      os = rocksdb::DB::OpenAsSecondary(dbo, opts_.path, opts_.secondary_path,
                                        descs, &handles, &db_);
      if (os.ok()) os = db_->TryCatchUpWithPrimary();
      break;
  }
  if (!os.ok()) {
    Status st = FromRocks(os, "open");
    if (st.code() == StatusCode::kDataLoss) {
      return DataLossError(st.message() +
                           " (open with the repair option to salvage)");
    }
    return st;
  }
  for (size_t i = 0; i < handles.size(); ++i) {
    const std::string& n = names[i];
    if (n == kMetaCf) {
      meta_ = handles[i];
    } else if (n == kKvCf) {
      kv_ = handles[i];
    } else if (n == rocksdb::kDefaultColumnFamilyName) {
      default_ = handles[i];
    } else {
      parts_[n] = Wrap(handles[i]);
    }
  }
  if (opts_.repair) {
    // Only families the repair found keep their ids; one created by this
    // open (an unseeded meta, say) may have taken a dropped family's id.
    std::map<uint32_t, rocksdb::ColumnFamilyHandle*> by_id;
    for (size_t i = 0; i < handles.size(); ++i) {
      if (std::find(repaired.begin(), repaired.end(), names[i]) !=
          repaired.end()) {
        by_id[handles[i]->GetID()] = handles[i];
      }
    }
    WalReplayStats stats;
    for (const std::string& f : wal_files) {
      RW_RETURN_IF_ERROR(ReplayWalFile(db_, by_id, f, stats));
    }
    // Durable before the old files go.
    RW_RETURN_IF_ERROR(FromRocks(db_->FlushWAL(/*sync=*/true), "sync WAL"));
    std::error_code ec;
    std::filesystem::remove_all(WalAsideDir(opts_.path), ec);
    LogWarn("store_repair_wal_replayed")
        .Kv("files", static_cast<uint64_t>(wal_files.size()))
        .Kv("batches", stats.batches)
        .Kv("writes", stats.writes)
        .Kv("writes_of_dropped_families", stats.skipped_writes)
        .Kv("damaged_records", stats.bad_records)
        .Kv("first_damage", stats.first_damage);
  }
  if (opts_.mode == OpenMode::kReadWrite) {
    for (rocksdb::ColumnFamilyHandle* h : handles) {
      RW_RETURN_IF_ERROR(SeedFamily(h));
    }
  }
  if (opts_.verify_on_open) {
    rocksdb::Status v = db_->VerifyChecksum();
    if (!v.ok()) {
      return DataLossError("checksum verification failed: " + v.ToString() +
                           " (open with the repair option to salvage)");
    }
  }
  RW_ASSIGN_OR_RETURN(uint32_t version, ReadSchemaVersion());
  if (version > kSchemaVersion) {
    return FailedPreconditionError(
        "schema version " + std::to_string(version) +
        " is newer than this rigwatch understands (" +
        std::to_string(kSchemaVersion) +
        "); run a newer rigwatch or restore an older backup");
  }
  if (version < kSchemaVersion) {
    if (opts_.mode != OpenMode::kReadWrite) {
      return FailedPreconditionError(
          "schema version " + std::to_string(version) +
          " needs migration; open it read-write once (rigwatch run)");
    }
    RW_RETURN_IF_ERROR(Migrate(version));
  }
  RW_RETURN_IF_ERROR(LoadIndex());
  if (opts_.mode == OpenMode::kReadWrite) {
    // An hour whose chunks were committed but whose hot family survived a
    // crash: the chunks are complete, drop the leftover.
    for (int64_t h : closed_hours_) {
      std::string n = HotPartitionName(h);
      if (parts_.count(n)) RW_RETURN_IF_ERROR(DropPartition(n));
    }
    LoadLastTimestamps();
    StartWriter();
    if (opts_.maintenance_interval.count() > 0) {
      // A pass (retention, chunking, rollups, compaction of a large store)
      // may legitimately take minutes; only a wedged one is stuck.
      maintenance_.SetStallBound(std::chrono::minutes(30));
      maintenance_.Start(opts_.maintenance_interval);  // first pass: later
    }
  } else {
    LoadLastTimestamps();
  }
  return Status::Ok();
}

std::map<std::string, CfPtr> RocksStore::Partitions() const {
  std::lock_guard<std::mutex> l(part_mu_);
  return parts_;
}

Result<CfPtr> RocksStore::PartitionFor(const std::string& name) {
  CfPtr p;
  {
    std::lock_guard<std::mutex> l(part_mu_);
    auto it = parts_.find(name);
    if (it != parts_.end()) return it->second;
    rocksdb::ColumnFamilyOptions cfo =
        CfOptionsFor(name, opts_, SharedResources{cache_, nullptr, nullptr});
    rocksdb::ColumnFamilyHandle* h = nullptr;
    RW_RETURN_IF_ERROR(
        FromRocks(db_->CreateColumnFamily(cfo, name, &h), "create " + name));
    p = Wrap(h);
    parts_[name] = p;
  }
  RW_RETURN_IF_ERROR(SeedFamily(p.get()));
  return p;
}

// Once the manifest is gone, a repair learns a family's name and id only
// from its tables, and the WAL names families by id alone: the writes of
// a family without a table would be lost. So every family gets a table as
// soon as it exists: one tombstone of the empty key, which no reader sees.
Status RocksStore::SeedFamily(rocksdb::ColumnFamilyHandle* h) {
  rocksdb::ColumnFamilyMetaData md;
  db_->GetColumnFamilyMetaData(h, &md);
  if (md.file_count > 0) return Status::Ok();
  RW_RETURN_IF_ERROR(FromRocks(db_->Delete(rocksdb::WriteOptions(), h, ""),
                               "seed " + md.name));
  // Waited for (a flush still queued at close would be abandoned), but
  // not behind a write stall: the writer may be the caller.
  rocksdb::FlushOptions fo;
  fo.allow_write_stall = true;
  return FromRocks(db_->Flush(fo, h), "seed " + md.name);
}

Status RocksStore::DropPartition(const std::string& name) {
  CfPtr p;
  {
    std::lock_guard<std::mutex> l(part_mu_);
    auto it = parts_.find(name);
    if (it == parts_.end()) return Status::Ok();
    p = it->second;
    parts_.erase(it);
  }
  return FromRocks(db_->DropColumnFamily(p.get()), "drop " + name);
}

CfPtr RocksStore::ExistingPartition(const std::string& name) const {
  std::lock_guard<std::mutex> l(part_mu_);
  auto it = parts_.find(name);
  return it == parts_.end() ? nullptr : it->second;
}

Result<uint64_t> RocksStore::WriteRecords(std::span<PollRecord> records) {
  std::unique_lock<std::mutex> wl(write_mu_);
  // Rows of the hour maintenance is chunking wait for its chunks (seconds
  // at most), then merge into them.
  chunked_cv_.wait(wl, [&] {
    return !chunking_hour_ ||
           std::none_of(records.begin(), records.end(),
                        [&](const PollRecord& r) {
                          return HourStart(r.ts_ms) == *chunking_hour_;
                        });
  });
  const int64_t oldest_late = ToUnixMillis(clock_->Now()) - kMaxLateMs;
  LatePoints late;
  if (write_failed_) {
    // After a failed write RocksDB refuses every write until resumed (or
    // until its own no-space recovery has run). While the disk is still
    // full this fails too, and the batch is dropped and counted.
    RW_RETURN_IF_ERROR(FromRocks(db_->Resume(), "resume after a failed write"));
  }
  write_failed_ = true;  // until this batch is written
  rocksdb::WriteBatch wb;
  // Index entries of earlier batches that were never written.
  for (const auto& [k, v] : unpersisted_meta_) {
    RW_RETURN_IF_ERROR(FromRocks(wb.Put(meta_, k, v), "batch"));
  }
  uint64_t stored = 0;
  std::map<int64_t, uint64_t> per_hour;
  struct Done {
    TargetInfo* t;
    size_t schema;
    PollRecord* rec;
  };
  std::vector<Done> done;
  done.reserve(records.size());
  std::string key, value;
  CfPtr cf;
  int64_t cf_hour = -1;
  for (PollRecord& rec : records) {
    int64_t hour = HourStart(rec.ts_ms);
    if (rec.ts_ms < 0 || rec.ts_ms / 1000 >= int64_t{0xFFFFFFFF}) {
      CountLate(rec.samples.size());
      continue;
    }
    const bool chunked = closed_hours_.count(hour) > 0;
    if (chunked && (rec.ts_ms < oldest_late ||
                    !ExistingPartition(ChunkPartitionName(hour)))) {
      CountLate(rec.samples.size());  // too late, or its day is gone
      continue;
    }
    if (!chunked && hour != cf_hour) {
      RW_ASSIGN_OR_RETURN(cf, PartitionFor(HotPartitionName(hour)));
      cf_hour = hour;
    }
    TargetInfo* t;
    auto it = targets_.find(rec.target);
    if (it != targets_.end()) {
      t = it->second.get();
    } else {
      RW_ASSIGN_OR_RETURN(t, RegisterTarget(rec.target, wb));
    }
    size_t schema;
    if (!t->schemas.empty() &&
        SchemaMatches(t->schemas[t->last_schema], rec.samples)) {
      schema = t->last_schema;  // the common case: no lookups at all
    } else {
      RW_ASSIGN_OR_RETURN(schema, RegisterSchema(*t, rec.samples, wb));
      t->last_schema = schema;
    }
    if (chunked) {
      std::map<uint32_t, std::vector<ChunkPoint>>& by_sid = late[hour];
      const std::vector<uint32_t>& sids = t->schemas[schema].sids;
      for (size_t i = 0; i < sids.size(); ++i) {
        by_sid[sids[i]].push_back({rec.ts_ms, rec.samples[i].value});
      }
      stored += rec.samples.size();
      done.push_back({t, schema, &rec});
      continue;
    }
    key.clear();
    PutU32BE(key, t->tid);
    PutU32BE(key, static_cast<uint32_t>(rec.ts_ms - hour));
    value.clear();
    PutVarint(value, schema);
    size_t off = value.size();
    value.resize(off + 8 * rec.samples.size());
    for (const Sample& s : rec.samples) {
      std::memcpy(value.data() + off, &s.value, 8);
      off += 8;
    }
    RW_RETURN_IF_ERROR(FromRocks(wb.Put(cf.get(), key, value), "batch"));
    per_hour[hour] += rec.samples.size();
    stored += rec.samples.size();
    done.push_back({t, schema, &rec});
  }
  RW_RETURN_IF_ERROR(MergeLate(late, wb, per_hour));
  for (auto& [hour, n] : per_hour) {
    uint64_t total = hour_counts_[hour] + n;
    RW_RETURN_IF_ERROR(
        FromRocks(wb.Put(meta_, U32Key('P', static_cast<uint32_t>(hour / 1000)),
                         U64Value(total)),
                  "batch"));
  }
  rocksdb::WriteOptions wo;
  wo.sync = opts_.sync == SyncMode::kAlways;
  RW_RETURN_IF_ERROR(FromRocks(db_->Write(wo, &wb), "write"));
  write_failed_ = false;
  unpersisted_meta_.clear();
  for (auto& [hour, n] : per_hour) hour_counts_[hour] += n;
  std::unique_lock<std::shared_mutex> l(idx_mu_);
  for (const Done& d : done) {
    if (d.rec->ts_ms < d.t->last_ts_ms) continue;
    d.t->last_ts_ms = d.rec->ts_ms;
    d.t->last_values.resize(d.rec->samples.size());
    for (size_t i = 0; i < d.rec->samples.size(); ++i) {
      d.t->last_values[i] = d.rec->samples[i].value;
    }
    d.t->last_values_schema = d.schema;
  }
  return stored;
}

Status RocksStore::SyncWrites() {
  // After a failed append the WAL's writer must not be touched again
  // (Debian's librocksdb asserts); the next write resumes the database
  // with a fresh WAL, and that one is synced.
  if (write_failed_) {
    return UnavailableError("WAL not synced: the last write failed");
  }
  return FromRocks(db_->SyncWAL(), "sync WAL");
}

Result<uint64_t> RocksStore::FreeBytes() const {
  struct statvfs sv;
  if (statvfs(opts_.path.c_str(), &sv) != 0) {
    return ErrnoToStatus(errno, "statvfs " + opts_.path);
  }
  return uint64_t{sv.f_bavail} * sv.f_frsize;
}

bool RocksStore::SpaceAvailable() {
  auto now = std::chrono::steady_clock::now();
  if (space_ok_ && now < next_space_check_) return true;
  next_space_check_ = now + opts_.disk_check_interval;
  Result<uint64_t> free = FreeBytes();
  // Cannot tell: keep writing; RocksDB reports real ENOSPC itself.
  space_ok_ = !free.ok() || *free >= opts_.min_free_bytes;
  return space_ok_;
}

Status RocksStore::Close() {
  std::lock_guard<std::mutex> cl(close_mu_);
  if (closed_) return Status::Ok();
  closed_ = true;
  maintenance_.Stop();
  StopWriter();
  if (!db_) return Status::Ok();
  Status st;
  if (opts_.mode == OpenMode::kReadWrite) st = SyncWrites();
  {
    std::lock_guard<std::mutex> l(part_mu_);
    parts_.clear();
  }
  for (auto* h : {meta_, kv_, default_}) {
    if (h) db_->DestroyColumnFamilyHandle(h).PermitUncheckedError();
  }
  rocksdb::Status cs = db_->Close();
  if (st.ok()) st = FromRocks(cs, "close");
  delete db_;
  db_ = nullptr;
  return st;
}

}  // namespace rigwatch::store
