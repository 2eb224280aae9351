// Reads of RocksStore: ranges, latest, matchers, rollups, the time-ordered
// scan, stats and checks.
#include <sys/statvfs.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <filesystem>
#include <queue>
#include <set>

#include "agent/store/codec.h"
#include "agent/store/matcher.h"
#include "agent/store/rocks_rows.h"
#include "agent/store/rocks_store_impl.h"
#include "agent/store/time_windows.h"

namespace rigwatch::store {

bool RocksStore::SeriesOf(uint32_t sid, SeriesInfo& out) const {
  std::shared_lock<std::shared_mutex> l(idx_mu_);
  if (sid >= series_.size() || series_[sid].tid == kNoTarget) return false;
  const SeriesRec& r = series_[sid];
  out.tid = r.tid;
  out.metric = metric_names_[r.metric];
  out.labels = label_sets_[r.labels];
  return true;
}

const std::string& RocksStore::TargetName(uint32_t tid) const {
  static const std::string kUnknown = "?";
  std::shared_lock<std::shared_mutex> l(idx_mu_);
  if (tid >= targets_by_id_.size() || !targets_by_id_[tid]) return kUnknown;
  return targets_by_id_[tid]->name;  // TargetInfo objects are never freed
}

bool RocksStore::SchemaSids(uint32_t tid, uint32_t schema_id,
                            std::vector<uint32_t>& out) const {
  std::shared_lock<std::shared_mutex> l(idx_mu_);
  if (tid >= targets_by_id_.size() || !targets_by_id_[tid]) return false;
  const TargetInfo* t = targets_by_id_[tid];
  if (schema_id >= t->schemas.size()) return false;
  out = t->schemas[schema_id].sids;
  return true;
}

Result<std::vector<Point>> RocksStore::ReadRangeSid(uint32_t sid, uint32_t tid,
                                                    int64_t from, int64_t to) {
  std::vector<ChunkPoint> pts;
  std::set<int64_t> hot_hours;
  std::map<std::string, CfPtr> parts = Partitions();
  std::map<uint32_t, int> pos_cache;  // schema id -> index of sid, -1 absent
  std::vector<uint32_t> sids;
  for (const auto& [name, cf] : parts) {
    if (name[0] != 'h') continue;
    int64_t hour = ParseWindowName(std::string_view(name).substr(1));
    if (hour < 0 || hour + kHourMs <= from || hour >= to) continue;
    hot_hours.insert(hour);
    std::string k;
    PutU32BE(k, tid);
    PutU32BE(k, static_cast<uint32_t>(std::max<int64_t>(0, from - hour)));
    std::unique_ptr<rocksdb::Iterator> it(
        db_->NewIterator(rocksdb::ReadOptions(), cf.get()));
    for (it->Seek(k); it->Valid(); it->Next()) {
      rocksdb::Slice key = it->key();
      if (key.size() != 8 || GetU32BE(key.data()) != tid) break;
      int64_t ts = hour + GetU32BE(key.data() + 4);
      if (ts >= to) break;
      uint32_t schema;
      std::string_view doubles;
      if (!ParseHotValue(
              std::string_view(it->value().data(), it->value().size()), schema,
              doubles)) {
        return DataLossError("hot row of " + name + ": malformed");
      }
      auto pc = pos_cache.find(schema);
      if (pc == pos_cache.end()) {
        int pos = -1;
        if (SchemaSids(tid, schema, sids)) {
          auto f = std::find(sids.begin(), sids.end(), sid);
          if (f != sids.end()) pos = static_cast<int>(f - sids.begin());
          if (sids.size() * 8 != doubles.size()) {
            return DataLossError("hot row of " + name + ": schema mismatch");
          }
        }
        pc = pos_cache.emplace(schema, pos).first;
      }
      if (pc->second >= 0) pts.push_back({ts, DoubleAt(doubles, pc->second)});
    }
    RW_RETURN_IF_ERROR(FromRocks(it->status(), "read " + name));
  }
  std::string v;
  for (const auto& [name, cf] : parts) {
    if (name[0] != 'c') continue;
    int64_t day = ParseWindowName(std::string_view(name).substr(1));
    if (day < 0 || day + kDayMs <= from || day >= to) continue;
    for (int64_t h = std::max(day, HourStart(from));
         h < std::min(day + kDayMs, to); h += kHourMs) {
      if (hot_hours.count(h)) continue;
      rocksdb::Status s =
          db_->Get(rocksdb::ReadOptions(), cf.get(), ChunkKey(h, sid), &v);
      if (s.IsNotFound()) continue;
      RW_RETURN_IF_ERROR(FromRocks(s, "read " + name));
      size_t before = pts.size();
      RW_RETURN_IF_ERROR(DecodeChunk(v, pts).WithContext(name));
      // Trim to the range (only the edge hours have points outside).
      pts.erase(std::remove_if(pts.begin() + before, pts.end(),
                               [&](const ChunkPoint& p) {
                                 return p.ts_ms < from || p.ts_ms >= to;
                               }),
                pts.end());
    }
  }
  std::sort(pts.begin(), pts.end(),
            [](const ChunkPoint& a, const ChunkPoint& b) {
              return a.ts_ms < b.ts_ms;
            });
  std::vector<Point> out;
  out.reserve(pts.size());
  for (const ChunkPoint& p : pts)
    out.push_back({FromUnixMillis(p.ts_ms), p.value});
  return out;
}

Result<std::vector<Point>> RocksStore::ReadRange(const SeriesKey& key,
                                                 WallTime from, WallTime to) {
  auto found = FindSeries(key);
  if (!found) return std::vector<Point>();
  const auto [tid, sid] = *found;
  return ReadRangeSid(sid, tid, ToUnixMillis(from), ToUnixMillis(to));
}

Result<std::optional<Point>> RocksStore::Latest(const SeriesKey& key) {
  {
    std::shared_lock<std::shared_mutex> l(idx_mu_);
    auto t = targets_.find(key.target);
    if (t == targets_.end()) return std::optional<Point>();
    const TargetInfo& ti = *t->second;
    auto sid = FindSidLocked(ti, key.metric, SortedLabels(key.labels));
    if (!sid) return std::optional<Point>();
    if (!ti.last_values.empty()) {
      const std::vector<uint32_t>& sids =
          ti.schemas[ti.last_values_schema].sids;
      for (size_t i = sids.size(); i-- > 0;) {
        if (sids[i] == *sid) {
          return std::optional<Point>(
              Point{FromUnixMillis(ti.last_ts_ms), ti.last_values[i]});
        }
      }
    }
  }
  // Not in the target's newest poll (or not since open): search backwards,
  // widening the window, up to the whole retention.
  int64_t end = ToUnixMillis(clock_->Now()) + kDayMs;
  for (int64_t span :
       {2 * kHourMs, 2 * kDayMs,
        int64_t{std::chrono::duration_cast<std::chrono::milliseconds>(
                    opts_.retention)
                    .count()} +
            2 * kDayMs}) {
    RW_ASSIGN_OR_RETURN(
        std::vector<Point> pts,
        ReadRange(key, FromUnixMillis(end - span), FromUnixMillis(end)));
    if (!pts.empty()) return std::optional<Point>(pts.back());
  }
  return std::optional<Point>();
}

Result<std::vector<SeriesKey>> RocksStore::MatchSeries(const Selector& sel) {
  RW_ASSIGN_OR_RETURN(CompiledSelector cs, CompileSelector(sel));
  std::vector<SeriesKey> out;
  {
    std::shared_lock<std::shared_mutex> l(idx_mu_);
    SeriesKey k;
    for (const SeriesRec& r : series_) {
      if (r.tid == kNoTarget || r.retired) continue;  // the live index
      const std::string& metric = metric_names_[r.metric];
      if (!sel.metric.empty() && metric != sel.metric) continue;
      k.target = targets_by_id_[r.tid]->name;
      k.metric = metric;
      k.labels = label_sets_[r.labels];
      if (Matches(cs, k)) out.push_back(k);
    }
  }
  std::sort(out.begin(), out.end(), [](const SeriesKey& a, const SeriesKey& b) {
    if (a.target != b.target) return a.target < b.target;
    if (a.metric != b.metric) return a.metric < b.metric;
    return EncodeSeriesName("", a.labels) < EncodeSeriesName("", b.labels);
  });
  return out;
}

Result<std::vector<Rollup>> RocksStore::ReadRollups(const SeriesKey& key,
                                                    WallTime from_t,
                                                    WallTime to_t) {
  std::vector<Rollup> out;
  auto found = FindSeries(key);
  if (!found) return out;
  const uint32_t sid = found->second;
  int64_t from = ToUnixMillis(from_t), to = ToUnixMillis(to_t);
  for (const auto& [name, cf] : Partitions()) {
    if (name[0] != 'r') continue;
    int64_t month = ParseWindowName(std::string_view(name).substr(1));
    if (month < 0 || MonthEnd(month) <= from || month >= to) continue;
    std::string k;
    PutU32BE(k, sid);
    PutU32BE(k, static_cast<uint32_t>(std::max(from, month) / 1000));
    std::unique_ptr<rocksdb::Iterator> it(
        db_->NewIterator(rocksdb::ReadOptions(), cf.get()));
    for (it->Seek(k); it->Valid(); it->Next()) {
      rocksdb::Slice kk = it->key();
      if (kk.size() != 8 || GetU32BE(kk.data()) != sid) break;
      int64_t hour = int64_t{GetU32BE(kk.data() + 4)} * 1000;
      if (hour >= to) break;
      if (it->value().size() != 32) return DataLossError("rollup: bad size");
      Rollup r;
      r.hour = FromUnixMillis(hour);
      std::memcpy(&r.min, it->value().data(), 8);
      std::memcpy(&r.max, it->value().data() + 8, 8);
      std::memcpy(&r.sum, it->value().data() + 16, 8);
      std::memcpy(&r.count, it->value().data() + 24, 8);
      out.push_back(r);
    }
    RW_RETURN_IF_ERROR(FromRocks(it->status(), "read " + name));
  }
  return out;
}

std::vector<std::string> RocksStore::StaleTargets(Duration interval,
                                                  int intervals) {
  int64_t cutoff = ToUnixMillis(clock_->Now()) -
                   std::chrono::duration_cast<std::chrono::milliseconds>(
                       interval * intervals)
                       .count();
  std::vector<std::string> out;
  std::shared_lock<std::shared_mutex> l(idx_mu_);
  for (const TargetInfo* t : targets_by_id_) {
    if (t && t->last_ts_ms < cutoff) out.push_back(t->name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

uint64_t RocksStore::StoredSamples() const {
  std::lock_guard<std::mutex> l(write_mu_);
  uint64_t n = 0;
  for (const auto& [h, c] : hour_counts_) n += c;
  return n;
}

uint64_t RocksStore::DiskBytes() const {
  uint64_t total = 0;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator(opts_.path, ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    std::error_code fe;
    if (it->is_regular_file(fe)) total += it->file_size(fe);
  }
  return total;
}

StoreStats RocksStore::Stats() const {
  StoreStats s;
  s.samples_written = written();
  s.dropped_samples = dropped_samples();
  s.late_samples = late();
  s.writes_paused = writes_paused();
  s.pauses = pauses();
  s.size_bytes = DiskBytes();
  s.partitions = Partitions().size();
  {
    std::shared_lock<std::shared_mutex> l(idx_mu_);
    for (const SeriesRec& r : series_) {
      if (r.tid != kNoTarget && !r.retired) ++s.series;
    }
  }
  s.last_maintenance_seconds = last_maintenance_.load();
  if (Result<uint64_t> free = FreeBytes(); free.ok()) {
    s.free_known = true;
    s.free_bytes = *free;
  }
  s.min_free_bytes = opts_.min_free_bytes;
  return s;
}

Result<CheckReport> RocksStore::Check(Duration poll_interval,
                                      int stale_intervals) {
  CheckReport r;
  rocksdb::Status v = db_->VerifyChecksum();
  if (!v.ok()) {
    r.checksums_ok = false;
    r.problems.push_back("checksum verification failed: " + v.ToString());
  }
  std::string ver;
  rocksdb::Status gs = db_->Get(rocksdb::ReadOptions(), meta_, "version", &ver);
  if (gs.ok()) {
    r.schema_version =
        static_cast<uint32_t>(std::strtoul(ver.c_str(), nullptr, 10));
    if (r.schema_version != kSchemaVersion) {
      r.problems.push_back("schema version " + ver + ", expected " +
                           std::to_string(kSchemaVersion));
    }
  } else {
    r.problems.push_back("schema version unreadable: " + gs.ToString());
  }
  Result<uint64_t> free = FreeBytes();
  if (free.ok()) {
    r.free_bytes = *free;
    r.low_disk = *free < opts_.min_free_bytes;
    if (r.low_disk) {
      r.problems.push_back("free disk " + std::to_string(*free) +
                           " bytes is below min_free_bytes " +
                           std::to_string(opts_.min_free_bytes) +
                           "; writes are paused");
    }
  } else {
    r.problems.push_back(free.status().message());
  }
  r.stale_targets = StaleTargets(poll_interval, stale_intervals);
  for (const std::string& t : r.stale_targets) {
    r.problems.push_back("target " + t + ": no sample for " +
                         std::to_string(stale_intervals) + " intervals");
  }
  return r;
}

}  // namespace rigwatch::store
