// The time-ordered scan of RocksStore (Store::Scan).
#include <deque>
#include <queue>
#include <set>

#include "agent/store/codec.h"
#include "agent/store/rocks_rows.h"
#include "agent/store/rocks_store_impl.h"
#include "agent/store/time_windows.h"

namespace rigwatch::store {

// The time-ordered scan. Works one hour window at a time; inside a window it
// merges one cursor per target (hot hour, a few rows buffered, re-seeking by
// key) or one streaming reader per series chunk (closed hour).
namespace {

class Source {
 public:
  virtual ~Source() = default;
  // The head: valid while Valid().
  virtual bool Valid() const = 0;
  virtual int64_t ts() const = 0;
  virtual uint32_t sid() const = 0;
  virtual double value() const = 0;
  virtual Status Advance() = 0;
};

class ChunkSource final : public Source {
 public:
  ChunkSource(uint32_t sid, std::string bytes)
      : sid_(sid), bytes_(std::move(bytes)) {}
  Status Init(int64_t from, int64_t to) {
    to_ = to;
    RW_RETURN_IF_ERROR(reader_.Init(bytes_));
    do {
      valid_ = reader_.Next(cur_);
    } while (valid_ && cur_.ts_ms < from);
    if (valid_ && cur_.ts_ms >= to_) valid_ = false;
    return reader_.status();
  }
  bool Valid() const override { return valid_; }
  int64_t ts() const override { return cur_.ts_ms; }
  uint32_t sid() const override { return sid_; }
  double value() const override { return cur_.value; }
  Status Advance() override {
    valid_ = reader_.Next(cur_) && cur_.ts_ms < to_;
    return reader_.status();
  }

 private:
  uint32_t sid_;
  std::string bytes_;
  ChunkReader reader_;
  ChunkPoint cur_{};
  bool valid_ = false;
  int64_t to_ = 0;
};

class HotSource final : public Source {
 public:
  HotSource(RocksStore* store, CfPtr cf, uint32_t tid, int64_t hour,
            int64_t from, int64_t to)
      : store_(store),
        cf_(std::move(cf)),
        tid_(tid),
        hour_(hour),
        to_(to),
        next_off_(std::max<int64_t>(0, from - hour)) {}
  Status Init() { return Refill(); }
  bool Valid() const override { return !rows_.empty(); }
  int64_t ts() const override { return rows_.front().ts_ms; }
  uint32_t sid() const override { return sids_[idx_]; }
  double value() const override { return DoubleAt(rows_.front().values, idx_); }
  Status Advance() override {
    if (++idx_ < sids_.size()) return Status::Ok();
    rows_.pop_front();
    idx_ = 0;
    if (rows_.empty()) RW_RETURN_IF_ERROR(Refill());
    return LoadSchema();
  }

 private:
  static constexpr int kPage = 16;
  Status Refill() {
    if (done_) return Status::Ok();
    std::string k;
    PutU32BE(k, tid_);
    PutU32BE(k, static_cast<uint32_t>(next_off_));
    std::unique_ptr<rocksdb::Iterator> it(
        store_->db()->NewIterator(rocksdb::ReadOptions(), cf_.get()));
    int n = 0;
    for (it->Seek(k); it->Valid() && n < kPage; it->Next(), ++n) {
      rocksdb::Slice key = it->key();
      if (key.size() != 8 || GetU32BE(key.data()) != tid_) break;
      int64_t off = GetU32BE(key.data() + 4);
      if (hour_ + off >= to_) break;
      HotRow r;
      r.ts_ms = hour_ + off;
      std::string_view d;
      if (!ParseHotValue(
              std::string_view(it->value().data(), it->value().size()),
              r.schema, d)) {
        return DataLossError("hot row: malformed");
      }
      r.values.assign(d);
      rows_.push_back(std::move(r));
      next_off_ = off + 1;
    }
    RW_RETURN_IF_ERROR(FromRocks(it->status(), "scan"));
    if (n < kPage) done_ = true;
    return LoadSchema();
  }
  Status LoadSchema() {
    while (!rows_.empty()) {
      if (!store_->SchemaSids(tid_, rows_.front().schema, sids_) ||
          sids_.size() * 8 != rows_.front().values.size()) {
        return DataLossError("hot row: unknown schema");
      }
      if (!sids_.empty()) return Status::Ok();
      rows_.pop_front();
      if (rows_.empty()) RW_RETURN_IF_ERROR(Refill());
    }
    return Status::Ok();
  }

  RocksStore* store_;
  CfPtr cf_;
  uint32_t tid_;
  int64_t hour_, to_, next_off_;
  bool done_ = false;
  std::deque<HotRow> rows_;
  std::vector<uint32_t> sids_;
  size_t idx_ = 0;
};

class RocksRowIterator final : public RowIterator {
 public:
  RocksRowIterator(RocksStore* store, int64_t from, int64_t to)
      : store_(store), from_(from), to_(to), parts_(store->Partitions()) {
    for (const auto& [name, cf] : parts_) {
      int64_t start = ParseWindowName(std::string_view(name).substr(1));
      if (start < 0) continue;
      if (name[0] == 'h') {
        if (start + kHourMs > from && start < to) hours_.insert(start);
      } else if (name[0] == 'c') {
        for (int64_t h = start; h < start + kDayMs; h += kHourMs) {
          if (h + kHourMs > from && h < to) hours_.insert(h);
        }
      }
    }
  }

  Result<bool> Next(Row& row) override {
    while (heap_.empty()) {
      if (hours_.empty()) return false;
      int64_t h = *hours_.begin();
      hours_.erase(hours_.begin());
      RW_RETURN_IF_ERROR(LoadWindow(h));
    }
    size_t i = heap_.top().second;
    heap_.pop();
    Source& s = *sources_[i];
    row.ts = FromUnixMillis(s.ts());
    RocksStore::SeriesInfo si;
    if (!store_->SeriesOf(s.sid(), si)) {
      return DataLossError("scan: unknown series id");
    }
    row.target = store_->TargetName(si.tid);
    row.metric = std::move(si.metric);
    row.labels = std::move(si.labels);
    row.value = s.value();
    RW_RETURN_IF_ERROR(s.Advance());
    if (s.Valid()) heap_.push({s.ts(), i});
    return true;
  }

 private:
  Status LoadWindow(int64_t hour) {
    sources_.clear();
    auto hot = parts_.find(HotPartitionName(hour));
    if (hot != parts_.end()) {
      // Find the targets present: one seek per target.
      std::unique_ptr<rocksdb::Iterator> it(
          store_->db()->NewIterator(rocksdb::ReadOptions(), hot->second.get()));
      for (it->SeekToFirst(); it->Valid();) {
        if (it->key().size() != 8) return DataLossError("hot key: bad size");
        uint32_t tid = GetU32BE(it->key().data());
        auto src = std::make_unique<HotSource>(store_, hot->second, tid, hour,
                                               from_, to_);
        RW_RETURN_IF_ERROR(src->Init());
        if (src->Valid()) Add(std::move(src));
        if (tid == 0xFFFFFFFFu) break;
        std::string next;
        PutU32BE(next, tid + 1);
        it->Seek(next);
      }
      return FromRocks(it->status(), "scan");
    }
    auto chunks = parts_.find(ChunkPartitionName(hour));
    if (chunks == parts_.end()) return Status::Ok();
    std::string prefix;
    PutU32BE(prefix, static_cast<uint32_t>(hour / 1000));
    std::unique_ptr<rocksdb::Iterator> it(store_->db()->NewIterator(
        rocksdb::ReadOptions(), chunks->second.get()));
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix);
         it->Next()) {
      auto src = std::make_unique<ChunkSource>(GetU32BE(it->key().data() + 4),
                                               it->value().ToString());
      RW_RETURN_IF_ERROR(src->Init(from_, to_));
      if (src->Valid()) Add(std::move(src));
    }
    return FromRocks(it->status(), "scan");
  }
  void Add(std::unique_ptr<Source> s) {
    heap_.push({s->ts(), sources_.size()});
    sources_.push_back(std::move(s));
  }

  RocksStore* store_;
  int64_t from_, to_;
  std::map<std::string, CfPtr> parts_;
  std::set<int64_t> hours_;
  std::vector<std::unique_ptr<Source>> sources_;
  using Entry = std::pair<int64_t, size_t>;  // ts, source; ties by source
  std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> heap_;
};

}  // namespace

Result<std::unique_ptr<RowIterator>> RocksStore::Scan(WallTime from,
                                                      WallTime to) {
  return std::unique_ptr<RowIterator>(
      new RocksRowIterator(this, ToUnixMillis(from), ToUnixMillis(to)));
}

}  // namespace rigwatch::store
