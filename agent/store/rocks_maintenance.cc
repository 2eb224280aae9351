// Background maintenance of RocksStore: re-encoding closed hours into
// chunks with their rollups, retention and max_bytes by dropping whole
// column families, and one compaction of each closed day. Each pass is
// bounded: it chunks at most kMaxHoursPerPass hours, and RocksDB's rate
// limiter (maintenance_bytes_per_second) paces flush and compaction I/O.
#include <algorithm>
#include <cstring>

#include "agent/common/log.h"
#include "agent/store/codec.h"
#include "agent/store/rocks_rows.h"
#include "agent/store/rocks_store_impl.h"
#include "agent/store/time_windows.h"

namespace rigwatch::store {
namespace {

constexpr int kMaxHoursPerPass = 4;
constexpr size_t kBatchBytes = 4 << 20;

template <typename D>
int64_t Ms(D d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

}  // namespace

Duration RocksStore::MaintenanceTick() {
  Status s = RunMaintenance(clock_->Now());
  if (!s.ok()) LogError("store_maintenance_failed").Kv("err", s);
  return opts_.maintenance_interval;
}

// Reads every row of one hot hour, target by target (rows of a target are
// contiguous), and writes one chunk per series plus its rollup. Memory is
// bounded by one target's hour, batches by kBatchBytes.
Status RocksStore::ChunkHour(int64_t hour, const CfPtr& hot) {
  RW_ASSIGN_OR_RETURN(CfPtr chunks, PartitionFor(ChunkPartitionName(hour)));
  RW_ASSIGN_OR_RETURN(CfPtr rollups, PartitionFor(RollupPartitionName(hour)));
  rocksdb::WriteBatch wb;
  rocksdb::WriteOptions wo;
  wo.sync = true;
  std::unordered_map<uint32_t, std::vector<ChunkPoint>> per_series;
  std::string buf;
  auto flush_target = [&]() -> Status {
    for (auto& [sid, pts] : per_series) {
      if (pts.empty()) continue;
      // A poll repeated at the same ms replaced its row; points are unique
      // and already in time order (keys sort by offset).
      RW_RETURN_IF_ERROR(PutChunk(wb, chunks, rollups, hour, sid, pts, buf));
      pts.clear();
    }
    if (wb.GetDataSize() >= kBatchBytes) {
      RW_RETURN_IF_ERROR(FromRocks(db_->Write(wo, &wb), "write chunks"));
      wb.Clear();
    }
    return Status::Ok();
  };
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), hot.get()));
  uint32_t cur_tid = 0;
  bool have = false;
  std::vector<uint32_t> sids;
  uint32_t sids_schema = UINT32_MAX;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    rocksdb::Slice k = it->key();
    if (k.size() != 8) return DataLossError("hot key: bad size");
    uint32_t tid = GetU32BE(k.data());
    if (!have || tid != cur_tid) {
      if (have) RW_RETURN_IF_ERROR(flush_target());
      have = true;
      cur_tid = tid;
      sids_schema = UINT32_MAX;
    }
    std::string_view v(it->value().data(), it->value().size());
    uint64_t schema;
    if (!GetVarint(v, schema)) return DataLossError("hot row: malformed");
    if (schema != sids_schema) {
      if (!SchemaSids(tid, static_cast<uint32_t>(schema), sids)) {
        return DataLossError("hot row: unknown schema");
      }
      sids_schema = static_cast<uint32_t>(schema);
    }
    if (v.size() != sids.size() * 8) return DataLossError("hot row: size");
    int64_t ts = hour + GetU32BE(k.data() + 4);
    for (size_t i = 0; i < sids.size(); ++i) {
      double d;
      std::memcpy(&d, v.data() + 8 * i, 8);
      std::vector<ChunkPoint>& pts = per_series[sids[i]];
      // The same series twice in one poll: the later value wins.
      if (!pts.empty() && pts.back().ts_ms == ts) {
        pts.back().value = d;
      } else {
        pts.push_back({ts, d});
      }
    }
  }
  RW_RETURN_IF_ERROR(FromRocks(it->status(), "read hot hour"));
  if (have) RW_RETURN_IF_ERROR(flush_target());
  // The marker commits the hour; a crash before it re-chunks on the next
  // pass (same keys, same bytes).
  RW_RETURN_IF_ERROR(FromRocks(
      wb.Put(meta_, U32Key('C', static_cast<uint32_t>(hour / 1000)), ""),
      "batch"));
  RW_RETURN_IF_ERROR(FromRocks(db_->Write(wo, &wb), "write chunks"));
  return DropPartition(HotPartitionName(hour));
}

Status RocksStore::PutChunk(rocksdb::WriteBatch& wb, const CfPtr& chunks,
                            const CfPtr& rollups, int64_t hour, uint32_t sid,
                            const std::vector<ChunkPoint>& pts,
                            std::string& buf) {
  buf.clear();
  EncodeChunk(pts, buf);
  RW_RETURN_IF_ERROR(
      FromRocks(wb.Put(chunks.get(), ChunkKey(hour, sid), buf), "batch"));
  double r[3] = {pts[0].value, pts[0].value, 0};
  for (const ChunkPoint& p : pts) {
    r[0] = std::min(r[0], p.value);
    r[1] = std::max(r[1], p.value);
    r[2] += p.value;
  }
  uint64_t count = pts.size();
  std::string rv(32, '\0');
  std::memcpy(rv.data(), r, 24);
  std::memcpy(rv.data() + 24, &count, 8);
  std::string rk;
  PutU32BE(rk, sid);
  PutU32BE(rk, static_cast<uint32_t>(hour / 1000));
  return FromRocks(wb.Put(rollups.get(), rk, rv), "batch");
}

// Late points replace a stored point at the same ms (the last write wins,
// as for a repeated poll in a hot hour) and are otherwise added in time
// order; the hour's chunk and rollup are rewritten whole.
Status RocksStore::MergeLate(LatePoints& late, rocksdb::WriteBatch& wb,
                             std::map<int64_t, uint64_t>& per_hour) {
  std::string v, buf;
  std::vector<ChunkPoint> merged, stored;
  for (auto& [hour, by_sid] : late) {
    CfPtr chunks = ExistingPartition(ChunkPartitionName(hour));
    if (!chunks) continue;  // the caller checked; dropped since
    RW_ASSIGN_OR_RETURN(CfPtr rollups, PartitionFor(RollupPartitionName(hour)));
    for (auto& [sid, pts] : by_sid) {
      stored.clear();
      rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), chunks.get(),
                                   ChunkKey(hour, sid), &v);
      if (s.ok()) {
        RW_RETURN_IF_ERROR(DecodeChunk(v, stored).WithContext("merge late"));
      } else if (!s.IsNotFound()) {
        return FromRocks(s, "read chunk");
      }
      // Arrival order decides among equal timestamps: the later one wins.
      std::stable_sort(pts.begin(), pts.end(),
                       [](const ChunkPoint& a, const ChunkPoint& b) {
                         return a.ts_ms < b.ts_ms;
                       });
      merged.clear();
      size_t i = 0, j = 0;
      while (i < stored.size() || j < pts.size()) {
        if (j == pts.size() ||
            (i < stored.size() && stored[i].ts_ms < pts[j].ts_ms)) {
          merged.push_back(stored[i++]);
          continue;
        }
        if (i < stored.size() && stored[i].ts_ms == pts[j].ts_ms) ++i;
        if (!merged.empty() && merged.back().ts_ms == pts[j].ts_ms) {
          merged.back() = pts[j++];
        } else {
          merged.push_back(pts[j++]);
        }
      }
      per_hour[hour] += merged.size() - stored.size();
      RW_RETURN_IF_ERROR(PutChunk(wb, chunks, rollups, hour, sid, merged, buf));
    }
  }
  return Status::Ok();
}

Status RocksStore::RunMaintenance(WallTime now_t) {
  if (opts_.mode != OpenMode::kReadWrite) {
    return FailedPreconditionError("maintenance on a read-only store");
  }
  std::lock_guard<std::mutex> ml(maint_mu_);
  auto start = std::chrono::steady_clock::now();
  int64_t now = ToUnixMillis(now_t);
  int64_t raw_cut = now - Ms(opts_.retention);
  int64_t roll_cut = now - Ms(opts_.rollup_retention);

  // 1. Retention: whole families, oldest first.
  std::vector<int64_t> dropped_hours;
  for (const auto& [name, cf] : Partitions()) {
    int64_t start_ms = ParseWindowName(std::string_view(name).substr(1));
    if (start_ms < 0) continue;
    bool drop = false;
    if (name[0] == 'h') drop = start_ms + kHourMs <= raw_cut;
    if (name[0] == 'c') drop = start_ms + kDayMs <= raw_cut;
    if (name[0] == 'r') drop = MonthEnd(start_ms) <= roll_cut;
    if (!drop) continue;
    RW_RETURN_IF_ERROR(DropPartition(name));
    if (name[0] == 'h') dropped_hours.push_back(start_ms);
    if (name[0] == 'c') {
      for (int64_t h = start_ms; h < start_ms + kDayMs; h += kHourMs) {
        dropped_hours.push_back(h);
      }
      // Its compaction marker goes with it. (Appended: GCC 12 at -O3 warns
      // falsely (-Wrestrict) on "D" + name.substr(1).)
      std::string marker = "D";
      marker.append(name, 1);
      RW_RETURN_IF_ERROR(
          FromRocks(db_->Delete(rocksdb::WriteOptions(), meta_, marker),
                    "retention meta"));
    }
    LogInfo("store_partition_dropped")
        .Kv("partition", name)
        .Kv("reason", "retention");
  }
  // 2. max_bytes: drop the oldest raw data (never the current hour).
  if (opts_.max_bytes) {
    // Sizes of the live files per family; the directory total also counts
    // WAL and manifest. Dropped files leave the disk once RocksDB purges
    // them, so subtract what each drop frees instead of re-measuring.
    uint64_t total = DiskBytes();
    std::map<std::string, CfPtr> parts = Partitions();
    while (total > *opts_.max_bytes) {
      std::string victim;
      int64_t victim_start = INT64_MAX;
      for (const auto& [name, cf] : parts) {
        if (name[0] != 'h' && name[0] != 'c') continue;
        int64_t s = ParseWindowName(std::string_view(name).substr(1));
        if (s < 0 || s >= HourStart(now)) continue;
        if (s < victim_start) {
          victim_start = s;
          victim = name;
        }
      }
      if (victim.empty()) break;
      rocksdb::ColumnFamilyMetaData md;
      db_->GetColumnFamilyMetaData(parts[victim].get(), &md);
      parts.erase(victim);
      RW_RETURN_IF_ERROR(DropPartition(victim));
      total -= std::min<uint64_t>(total, md.size);
      int64_t len = victim[0] == 'h' ? kHourMs : kDayMs;
      for (int64_t h = victim_start; h < victim_start + len; h += kHourMs) {
        dropped_hours.push_back(h);
      }
      LogWarn("store_partition_dropped")
          .Kv("partition", victim)
          .Kv("reason", "max_bytes");
    }
  }
  if (!dropped_hours.empty()) {
    rocksdb::WriteBatch wb;
    std::lock_guard<std::mutex> wl(write_mu_);
    for (int64_t h : dropped_hours) {
      auto sec = static_cast<uint32_t>(h / 1000);
      RW_RETURN_IF_ERROR(FromRocks(wb.Delete(meta_, U32Key('P', sec)), "b"));
      RW_RETURN_IF_ERROR(FromRocks(wb.Delete(meta_, U32Key('C', sec)), "b"));
      hour_counts_.erase(h);
    }
    RW_RETURN_IF_ERROR(
        FromRocks(db_->Write(rocksdb::WriteOptions(), &wb), "retention meta"));
  }
  RW_RETURN_IF_ERROR(ForgetRetiredSeries(now));
  // 3. Chunk closed hours, oldest first.
  int chunked = 0;
  for (const auto& [name, cf] : Partitions()) {
    if (name[0] != 'h' || chunked >= kMaxHoursPerPass) continue;
    int64_t hour = ParseWindowName(std::string_view(name).substr(1));
    if (hour < 0 || hour + kHourMs + Ms(opts_.chunk_delay) > now) continue;
    {
      // From here on rows of this hour wait until its chunks are written,
      // then merge into them.
      std::lock_guard<std::mutex> wl(write_mu_);
      chunking_hour_ = hour;
    }
    Status st = ChunkHour(hour, cf);
    {
      std::lock_guard<std::mutex> wl(write_mu_);
      if (st.ok()) closed_hours_.insert(hour);
      chunking_hour_.reset();
    }
    chunked_cv_.notify_all();
    RW_RETURN_IF_ERROR(st.WithContext("chunk " + name));
    ++chunked;
  }
  // 4. Compact each closed day once, when no hot hour of it remains.
  std::map<std::string, CfPtr> parts = Partitions();
  for (const auto& [name, cf] : parts) {
    if (name[0] != 'c') continue;
    int64_t day = ParseWindowName(std::string_view(name).substr(1));
    if (day < 0 || day + kDayMs + Ms(opts_.chunk_delay) > now) continue;
    bool hot_left = false;
    for (const auto& [n2, cf2] : parts) {
      if (n2[0] == 'h' && n2.compare(1, 8, name, 1, 8) == 0) hot_left = true;
    }
    std::string marker = "D" + name.substr(1);
    std::string v;
    if (hot_left || db_->Get(rocksdb::ReadOptions(), meta_, marker, &v).ok()) {
      continue;
    }
    rocksdb::CompactRangeOptions co;
    co.bottommost_level_compaction =
        rocksdb::BottommostLevelCompaction::kForceOptimized;
    RW_RETURN_IF_ERROR(FromRocks(
        db_->CompactRange(co, cf.get(), nullptr, nullptr), "compact " + name));
    RW_RETURN_IF_ERROR(FromRocks(
        db_->Put(rocksdb::WriteOptions(), meta_, marker, ""), "mark"));
  }
  last_maintenance_ =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  return Status::Ok();
}

}  // namespace rigwatch::store
