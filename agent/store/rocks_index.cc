// The meta family of RocksStore: schema version and migrations, loading
// the series index, and registering new targets, series and poll schemas.
#include <algorithm>
#include <cstring>
#include <set>

#include "agent/common/log.h"
#include "agent/store/codec.h"
#include "agent/store/matcher.h"
#include "agent/store/rocks_rows.h"
#include "agent/store/rocks_store_impl.h"
#include "agent/store/time_windows.h"

namespace rigwatch::store {
namespace {

constexpr char kVersionKey[] = "version";

}  // namespace

Result<uint32_t> RocksStore::ReadSchemaVersion() {
  std::string v;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), meta_, kVersionKey, &v);
  if (s.IsNotFound()) {
    std::unique_ptr<rocksdb::Iterator> it(
        db_->NewIterator(rocksdb::ReadOptions(), meta_));
    it->SeekToFirst();
    if (it->Valid()) {
      return DataLossError("meta has data but no schema version");
    }
    if (opts_.mode != OpenMode::kReadWrite) return kSchemaVersion;
    RW_RETURN_IF_ERROR(
        FromRocks(db_->Put(rocksdb::WriteOptions(), meta_, kVersionKey,
                           std::to_string(kSchemaVersion)),
                  "write schema version"));
    return kSchemaVersion;
  }
  RW_RETURN_IF_ERROR(FromRocks(s, "read schema version"));
  char* end = nullptr;
  unsigned long n = std::strtoul(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0') {
    return DataLossError("bad schema version \"" + v + "\"");
  }
  return static_cast<uint32_t>(n);
}

// Version 1 kept DurableKv entries in the meta family under "K" ns \0 key;
// version 2 gives them their own family so synced rule/outbox writes never
// share a memtable with the series index.
Status RocksStore::Migrate(uint32_t from) {
  if (from < 1) return DataLossError("unknown schema version 0");
  if (from == 1) {
    rocksdb::WriteBatch wb;
    std::unique_ptr<rocksdb::Iterator> it(
        db_->NewIterator(rocksdb::ReadOptions(), meta_));
    uint64_t moved = 0;
    for (it->Seek("K"); it->Valid() && it->key().starts_with("K"); it->Next()) {
      rocksdb::Slice k = it->key();
      k.remove_prefix(1);
      RW_RETURN_IF_ERROR(FromRocks(wb.Put(kv_, k, it->value()), "migrate"));
      RW_RETURN_IF_ERROR(FromRocks(wb.Delete(meta_, it->key()), "migrate"));
      ++moved;
    }
    RW_RETURN_IF_ERROR(FromRocks(it->status(), "migrate scan"));
    RW_RETURN_IF_ERROR(FromRocks(wb.Put(meta_, kVersionKey, "2"), "migrate"));
    rocksdb::WriteOptions wo;
    wo.sync = true;
    RW_RETURN_IF_ERROR(FromRocks(db_->Write(wo, &wb), "migrate 1->2"));
    LogInfo("store_migrated").Kv("from", 1).Kv("to", 2).Kv("kv_moved", moved);
  }
  return Status::Ok();
}

Status RocksStore::LoadIndex() {
  std::unique_lock<std::shared_mutex> l(idx_mu_);
  std::map<std::pair<uint32_t, uint32_t>, std::vector<uint32_t>> schemas;
  std::map<uint32_t, int64_t> retired;
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), meta_));
  const Status bad = DataLossError("meta: malformed entry");
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    std::string_view k(it->key().data(), it->key().size());
    std::string_view v(it->value().data(), it->value().size());
    switch (k[0]) {
      case 'C':
        if (k.size() != 5) return bad;
        closed_hours_.insert(int64_t{GetU32BE(k.data() + 1)} * 1000);
        break;
      case 'P':
        if (k.size() != 5 || v.size() != 8) return bad;
        std::memcpy(&hour_counts_[int64_t{GetU32BE(k.data() + 1)} * 1000],
                    v.data(), 8);
        break;
      case 'R':
        if (k.size() != 5) return bad;
        if (v.size() == 8) {
          int64_t at;
          std::memcpy(&at, v.data(), 8);
          retired[GetU32BE(k.data() + 1)] = at;
        }
        break;
      case 'Q': {
        if (k.size() != 9) return bad;
        std::vector<uint32_t> sids;
        uint64_t n, x;
        if (!GetVarint(v, n)) return bad;
        for (uint64_t i = 0; i < n; ++i) {
          if (!GetVarint(v, x)) return bad;
          sids.push_back(static_cast<uint32_t>(x));
        }
        schemas[{GetU32BE(k.data() + 1), GetU32BE(k.data() + 5)}] =
            std::move(sids);
        break;
      }
      case 'S': {
        if (k.size() != 5 || v.size() < 4) return bad;
        uint32_t sid = GetU32BE(k.data() + 1);
        std::string metric;
        Labels labels;
        RW_RETURN_IF_ERROR(DecodeSeriesName(v.substr(4), metric, labels));
        AddSeriesLocked(sid, GetU32BE(v.data()), metric, std::move(labels));
        break;
      }
      case 'T': {
        if (v.size() != 4) return bad;
        auto t = std::make_unique<TargetInfo>();
        t->tid = GetU32BE(v.data());
        t->name.assign(k.substr(1));
        if (targets_by_id_.size() <= t->tid) targets_by_id_.resize(t->tid + 1);
        targets_by_id_[t->tid] = t.get();
        targets_[t->name] = std::move(t);
        break;
      }
      default:
        break;  // "version" and keys of later versions' readers
    }
  }
  RW_RETURN_IF_ERROR(FromRocks(it->status(), "load meta"));
  uint64_t orphans = 0;
  for (uint32_t sid = 0; sid < series_.size(); ++sid) {
    const uint32_t tid = series_[sid].tid;
    if (tid == kNoTarget) continue;  // a gap in the ids
    if (tid >= targets_by_id_.size() || !targets_by_id_[tid]) {
      // Left by a batch that failed before this version re-sent index
      // entries: no row can be read through it, so it is dropped.
      series_[sid].tid = kNoTarget;
      ++orphans;
      continue;
    }
    if (auto r = retired.find(sid); r != retired.end()) {
      series_[sid].retired = true;
      targets_by_id_[tid]->retired[sid] = r->second;
    } else {
      targets_by_id_[tid]->sids.push_back(sid);
    }
  }
  if (orphans > 0) LogWarn("store_orphan_series_dropped").Kv("series", orphans);
  for (auto& [key, sids] : schemas) {
    if (key.first >= targets_by_id_.size() || !targets_by_id_[key.first]) {
      return DataLossError("meta: schema of unknown target");
    }
    TargetInfo* t = targets_by_id_[key.first];
    if (t->schemas.size() <= key.second) t->schemas.resize(key.second + 1);
    for (uint32_t sid : sids) {
      if (sid >= series_.size() || series_[sid].tid != key.first) {
        return DataLossError("meta: unknown series");
      }
    }
    t->schemas[key.second].sids = std::move(sids);
  }
  return Status::Ok();
}

void RocksStore::LoadLastTimestamps() {
  std::map<std::string, CfPtr> parts = Partitions();
  std::unique_lock<std::shared_mutex> l(idx_mu_);
  int looked = 0;
  for (auto p = parts.rbegin(); p != parts.rend() && looked < 2; ++p) {
    if (p->first[0] != 'h') continue;
    ++looked;
    int64_t hour = ParseWindowName(std::string_view(p->first).substr(1));
    if (hour < 0) continue;
    std::unique_ptr<rocksdb::Iterator> it(
        db_->NewIterator(rocksdb::ReadOptions(), p->second.get()));
    for (TargetInfo* t : targets_by_id_) {
      if (!t || t->last_ts_ms != 0) continue;
      std::string k;
      PutU32BE(k, t->tid);
      PutU32BE(k, 0xFFFFFFFFu);
      it->SeekForPrev(k);
      if (it->Valid() && it->key().size() == 8 &&
          GetU32BE(it->key().data()) == t->tid) {
        t->last_ts_ms = hour + GetU32BE(it->key().data() + 4);
      }
    }
  }
}

Result<RocksStore::TargetInfo*> RocksStore::RegisterTarget(
    const std::string& name, rocksdb::WriteBatch& meta) {
  std::unique_lock<std::shared_mutex> l(idx_mu_);
  auto t = std::make_unique<TargetInfo>();
  t->tid = static_cast<uint32_t>(targets_by_id_.size());
  t->name = name;
  std::string v;
  PutU32BE(v, t->tid);
  RW_RETURN_IF_ERROR(PutMeta(meta, "T" + name, std::move(v)));
  TargetInfo* raw = t.get();
  targets_by_id_.push_back(raw);
  targets_[name] = std::move(t);
  return raw;
}

Status RocksStore::PutMeta(rocksdb::WriteBatch& wb, std::string key,
                           std::string value) {
  RW_RETURN_IF_ERROR(FromRocks(wb.Put(meta_, key, value), "batch"));
  unpersisted_meta_.emplace_back(std::move(key), std::move(value));
  return Status::Ok();
}

uint32_t RocksStore::InternMetric(std::string_view metric) {
  auto [it, added] = metric_ids_.try_emplace(
      std::string(metric), static_cast<uint32_t>(metric_names_.size()));
  if (added) metric_names_.emplace_back(metric);
  return it->second;
}

uint32_t RocksStore::InternLabels(Labels sorted) {
  auto [it, added] = label_set_ids_.try_emplace(
      EncodeSeriesName("", sorted), static_cast<uint32_t>(label_sets_.size()));
  if (added) label_sets_.push_back(std::move(sorted));
  return it->second;
}

void RocksStore::AddSeriesLocked(uint32_t sid, uint32_t tid,
                                 std::string_view metric, Labels sorted) {
  if (series_.size() <= sid) {
    series_.resize(sid + 1, SeriesRec{kNoTarget, 0, 0});
  }
  series_[sid] = {tid, InternMetric(metric), InternLabels(std::move(sorted))};
}

std::optional<uint32_t> RocksStore::FindSidLocked(const TargetInfo& t,
                                                  std::string_view metric,
                                                  const Labels& sorted,
                                                  bool retired) const {
  auto m = metric_ids_.find(std::string(metric));
  if (m == metric_ids_.end()) return std::nullopt;
  auto l = label_set_ids_.find(EncodeSeriesName("", sorted));
  if (l == label_set_ids_.end()) return std::nullopt;
  auto same = [&](uint32_t sid) {
    return series_[sid].metric == m->second && series_[sid].labels == l->second;
  };
  for (uint32_t sid : t.sids) {
    if (same(sid)) return sid;
  }
  if (retired) {
    for (const auto& [sid, at] : t.retired) {
      if (same(sid)) return sid;
    }
  }
  return std::nullopt;
}

namespace {
bool IsInfoMetric(std::string_view name) {
  return name.size() > 5 && name.substr(name.size() - 5) == "_info";
}
}  // namespace

Status RocksStore::ReplaceInfoSeries(TargetInfo& t,
                                     const std::vector<uint32_t>& sids,
                                     rocksdb::WriteBatch& meta) {
  std::set<uint32_t> info_metrics;
  for (uint32_t sid : sids) {
    if (IsInfoMetric(metric_names_[series_[sid].metric])) {
      info_metrics.insert(series_[sid].metric);
    }
  }
  if (info_metrics.empty()) return Status::Ok();
  const int64_t now = ToUnixMillis(clock_->Now());
  std::vector<uint32_t> keep;
  for (uint32_t sid : t.sids) {
    if (!info_metrics.count(series_[sid].metric) ||
        std::find(sids.begin(), sids.end(), sid) != sids.end()) {
      keep.push_back(sid);
      continue;
    }
    series_[sid].retired = true;
    t.retired[sid] = now;
    RW_RETURN_IF_ERROR(PutMeta(meta, U32Key('R', sid), U64Value(now)));
  }
  t.sids = std::move(keep);
  return Status::Ok();
}

Status RocksStore::ForgetRetiredSeries(int64_t now_ms) {
  const int64_t keep_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(opts_.retention)
          .count();
  std::lock_guard<std::mutex> wl(write_mu_);  // the writer reads schemas
  if (!unpersisted_meta_.empty()) return Status::Ok();  // next pass
  std::unique_lock<std::shared_mutex> l(idx_mu_);
  rocksdb::WriteBatch wb;
  uint64_t forgotten = 0;
  for (TargetInfo* t : targets_by_id_) {
    if (!t) continue;
    for (auto it = t->retired.begin(); it != t->retired.end();) {
      const uint32_t sid = it->first;
      if (it->second + keep_ms > now_ms) {
        ++it;
        continue;
      }
      auto holds = [&](size_t i) {
        const std::vector<uint32_t>& ss = t->schemas[i].sids;
        return std::find(ss.begin(), ss.end(), sid) != ss.end();
      };
      if ((t->last_schema < t->schemas.size() && holds(t->last_schema)) ||
          (t->last_values_schema < t->schemas.size() &&
           holds(t->last_values_schema))) {
        ++it;  // still in use (cannot be, once replaced): keep it
        continue;
      }
      for (size_t i = 0; i < t->schemas.size(); ++i) {
        if (!holds(i)) continue;
        t->schemas[i].sids.clear();  // its rows are past retention too
        std::string k = U32Key('Q', t->tid);
        PutU32BE(k, static_cast<uint32_t>(i));
        RW_RETURN_IF_ERROR(FromRocks(wb.Delete(meta_, k), "batch"));
      }
      RW_RETURN_IF_ERROR(FromRocks(wb.Delete(meta_, U32Key('S', sid)), "b"));
      RW_RETURN_IF_ERROR(FromRocks(wb.Delete(meta_, U32Key('R', sid)), "b"));
      series_[sid] = SeriesRec{kNoTarget, 0, 0};
      it = t->retired.erase(it);
      ++forgotten;
    }
  }
  if (forgotten == 0) return Status::Ok();
  RW_RETURN_IF_ERROR(
      FromRocks(db_->Write(rocksdb::WriteOptions(), &wb), "forget series"));
  LogInfo("store_replaced_series_forgotten").Kv("series", forgotten);
  return Status::Ok();
}

std::optional<std::pair<uint32_t, uint32_t>> RocksStore::FindSeries(
    const SeriesKey& key) const {
  std::shared_lock<std::shared_mutex> l(idx_mu_);
  auto t = targets_.find(key.target);
  if (t == targets_.end()) return std::nullopt;
  auto sid = FindSidLocked(*t->second, key.metric, SortedLabels(key.labels));
  if (!sid) return std::nullopt;
  return std::make_pair(t->second->tid, *sid);
}

namespace {
// The exporter's labels (any order, unique names) against a sorted set.
bool SameLabelSet(const Labels& any_order, const Labels& sorted) {
  if (any_order.size() != sorted.size()) return false;
  for (const Label& l : any_order) {
    if (std::find(sorted.begin(), sorted.end(), l) == sorted.end()) {
      return false;
    }
  }
  return true;
}
}  // namespace

bool RocksStore::SchemaMatches(const Schema& schema,
                               const Samples& samples) const {
  if (schema.sids.size() != samples.size()) return false;
  for (size_t i = 0; i < samples.size(); ++i) {
    const SeriesRec& r = series_[schema.sids[i]];
    if (r.retired ||  // back to a replaced identity: RegisterSchema revives
        metric_names_[r.metric] != samples[i].name ||
        !SameLabelSet(samples[i].labels, label_sets_[r.labels])) {
      return false;
    }
  }
  return true;
}

Result<size_t> RocksStore::RegisterSchema(TargetInfo& t, const Samples& samples,
                                          rocksdb::WriteBatch& meta) {
  std::unique_lock<std::shared_mutex> l(idx_mu_);
  std::vector<uint32_t> sids;
  sids.reserve(samples.size());
  std::string key;
  for (const Sample& s : samples) {
    Labels sorted = SortedLabels(s.labels);
    if (auto sid = FindSidLocked(t, s.name, sorted)) {
      if (series_[*sid].retired) {  // an identity that came back
        series_[*sid].retired = false;
        t.retired.erase(*sid);
        t.sids.push_back(*sid);
        RW_RETURN_IF_ERROR(PutMeta(meta, U32Key('R', *sid), ""));
      }
      sids.push_back(*sid);
      continue;
    }
    key.clear();
    PutU32BE(key, t.tid);
    key += EncodeSeriesName(s.name, sorted);
    auto sid = static_cast<uint32_t>(series_.size());
    AddSeriesLocked(sid, t.tid, s.name, std::move(sorted));
    t.sids.push_back(sid);
    RW_RETURN_IF_ERROR(PutMeta(meta, U32Key('S', sid), key));
    sids.push_back(sid);
  }
  RW_RETURN_IF_ERROR(ReplaceInfoSeries(t, sids, meta));
  for (size_t i = 0; i < t.schemas.size(); ++i) {
    if (t.schemas[i].sids == sids) return i;
  }
  std::string k = U32Key('Q', t.tid);
  PutU32BE(k, static_cast<uint32_t>(t.schemas.size()));
  std::string v;
  PutVarint(v, sids.size());
  for (uint32_t sid : sids) PutVarint(v, sid);
  RW_RETURN_IF_ERROR(PutMeta(meta, std::move(k), std::move(v)));
  t.schemas.push_back({std::move(sids)});
  return t.schemas.size() - 1;
}

}  // namespace rigwatch::store
