#include "agent/store/memory_store.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <set>
#include <tuple>

#include "agent/store/matcher.h"
#include "agent/store/queued_store.h"
#include "agent/store/time_windows.h"

namespace rigwatch::store {
namespace {

using Key = std::tuple<std::string, std::string,
                       std::vector<std::pair<std::string, std::string>>>;

Key MakeKey(const SeriesKey& k) {
  std::vector<std::pair<std::string, std::string>> l;
  for (const Label& x : k.labels) l.emplace_back(x.name, x.value);
  return {k.target, k.metric, std::move(l)};
}

class VectorIterator final : public RowIterator {
 public:
  explicit VectorIterator(std::vector<Row> rows) : rows_(std::move(rows)) {}
  Result<bool> Next(Row& row) override {
    if (i_ >= rows_.size()) return false;
    row = rows_[i_++];
    return true;
  }

 private:
  std::vector<Row> rows_;
  size_t i_ = 0;
};

class MemoryStore final : public QueuedStore {
 public:
  explicit MemoryStore(const StoreOptions& o)
      : QueuedStore(o.queue_capacity_samples, o.disk_check_interval),
        opts_(o),
        clock_(o.clock ? o.clock : SystemClock::Default()) {
    StartWriter();
  }
  ~MemoryStore() override { Close().IgnoreError("destructor"); }

  Status Close() override {
    StopWriter();
    return Status::Ok();
  }

  // DurableKv
  Status Put(std::string_view ns, std::string_view key,
             std::string_view value) override {
    return kv_.Put(ns, key, value);
  }
  Status Delete(std::string_view ns, std::string_view key) override {
    return kv_.Delete(ns, key);
  }
  Result<std::optional<std::string>> Get(std::string_view ns,
                                         std::string_view key) override {
    return kv_.Get(ns, key);
  }
  Result<std::vector<std::pair<std::string, std::string>>> List(
      std::string_view ns) override {
    return kv_.List(ns);
  }

  StoreStats Stats() const override {
    std::lock_guard<std::mutex> l(mu_);
    StoreStats s;
    s.samples_written = written();
    s.dropped_samples = dropped_samples();
    s.late_samples = late();
    s.writes_paused = writes_paused();
    s.pauses = pauses();
    s.series = series_.size();
    std::set<int64_t> days;
    for (const auto& [k, sd] : series_) {
      for (const auto& [ts, v] : sd.points) days.insert(DayStart(ts));
    }
    s.partitions = days.size();
    s.last_maintenance_seconds = last_maintenance_;
    return s;
  }

  Result<std::vector<Point>> ReadRange(const SeriesKey& key, WallTime from,
                                       WallTime to) override {
    std::lock_guard<std::mutex> l(mu_);
    std::vector<Point> out;
    auto it = series_.find(MakeKey(Canon(key)));
    if (it == series_.end()) return out;
    auto& pts = it->second.points;
    for (auto p = pts.lower_bound(ToUnixMillis(from));
         p != pts.end() && p->first < ToUnixMillis(to); ++p) {
      out.push_back({FromUnixMillis(p->first), p->second});
    }
    return out;
  }

  Result<std::optional<Point>> Latest(const SeriesKey& key) override {
    std::lock_guard<std::mutex> l(mu_);
    auto it = series_.find(MakeKey(Canon(key)));
    if (it == series_.end() || it->second.points.empty()) {
      return std::optional<Point>();
    }
    auto last = std::prev(it->second.points.end());
    return std::optional<Point>(
        Point{FromUnixMillis(last->first), last->second});
  }

  Result<std::vector<SeriesKey>> MatchSeries(const Selector& sel) override {
    RW_ASSIGN_OR_RETURN(CompiledSelector cs, CompileSelector(sel));
    std::lock_guard<std::mutex> l(mu_);
    std::vector<SeriesKey> out;
    for (const auto& [k, sd] : series_) {
      if (Matches(cs, sd.key)) out.push_back(sd.key);
    }
    return out;  // std::map order = (target, metric, labels)
  }

  Result<std::vector<Rollup>> ReadRollups(const SeriesKey& key, WallTime from,
                                          WallTime to) override {
    std::lock_guard<std::mutex> l(mu_);
    std::vector<Rollup> out;
    auto it = series_.find(MakeKey(Canon(key)));
    if (it == series_.end()) return out;
    for (auto r = it->second.rollups.lower_bound(ToUnixMillis(from));
         r != it->second.rollups.end() && r->first < ToUnixMillis(to); ++r) {
      out.push_back(r->second);
    }
    return out;
  }

  Result<std::unique_ptr<RowIterator>> Scan(WallTime from,
                                            WallTime to) override {
    std::vector<Row> rows;
    {
      std::lock_guard<std::mutex> l(mu_);
      for (const auto& [k, sd] : series_) {
        for (auto p = sd.points.lower_bound(ToUnixMillis(from));
             p != sd.points.end() && p->first < ToUnixMillis(to); ++p) {
          rows.push_back({FromUnixMillis(p->first), sd.key.target,
                          sd.key.metric, sd.key.labels, p->second});
        }
      }
    }
    std::stable_sort(rows.begin(), rows.end(),
                     [](const Row& a, const Row& b) { return a.ts < b.ts; });
    return std::unique_ptr<RowIterator>(new VectorIterator(std::move(rows)));
  }

  std::vector<std::string> StaleTargets(Duration interval,
                                        int intervals) override {
    int64_t cutoff = ToUnixMillis(clock_->Now()) -
                     std::chrono::duration_cast<std::chrono::milliseconds>(
                         interval * intervals)
                         .count();
    std::lock_guard<std::mutex> l(mu_);
    std::vector<std::string> out;
    for (const auto& [t, ts] : last_ts_) {
      if (ts < cutoff) out.push_back(t);
    }
    return out;
  }

  Result<CheckReport> Check(Duration poll_interval,
                            int stale_intervals) override {
    CheckReport r;
    r.schema_version = 0;  // no on-disk schema
    r.stale_targets = StaleTargets(poll_interval, stale_intervals);
    return r;
  }

  Status RunMaintenance(WallTime now_t) override {
    auto start = std::chrono::steady_clock::now();
    int64_t now = ToUnixMillis(now_t);
    int64_t raw_cut = now - MsOf(opts_.retention);
    int64_t roll_cut = now - MsOf(opts_.rollup_retention);
    int64_t close_before = now - MsOf(opts_.chunk_delay);
    std::lock_guard<std::mutex> l(mu_);
    for (auto& [k, sd] : series_) {
      // Close hours: compute rollups, as RocksStore does when it chunks.
      for (auto& [ts, v] : sd.points) {
        int64_t h = HourStart(ts);
        if (h + kHourMs > close_before) break;
        closed_.insert(h);
      }
      for (auto& [ts, v] : sd.points) {
        int64_t h = HourStart(ts);
        if (!closed_.count(h) || sd.rolled.count(h)) continue;
        Rollup& r = sd.rollups[h];
        if (r.count == 0) {
          r.hour = FromUnixMillis(h);
          r.min = r.max = v;
        }
        r.min = std::min(r.min, v);
        r.max = std::max(r.max, v);
        r.sum += v;
        ++r.count;
      }
      for (auto& [h, r] : sd.rollups) sd.rolled.insert(h);
      // Retention by whole days (RocksStore drops day partitions).
      for (auto p = sd.points.begin(); p != sd.points.end();) {
        if (DayStart(p->first) + kDayMs <= raw_cut) {
          p = sd.points.erase(p);
        } else {
          break;
        }
      }
      for (auto r = sd.rollups.begin(); r != sd.rollups.end();) {
        if (MonthEnd(r->first) <= roll_cut) {
          r = sd.rollups.erase(r);
        } else {
          break;
        }
      }
    }
    last_maintenance_ =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    return Status::Ok();
  }

 protected:
  Result<uint64_t> WriteRecords(std::span<PollRecord> records) override {
    std::lock_guard<std::mutex> l(mu_);
    uint64_t n = 0;
    // As RocksStore: a closed hour takes samples up to 24 h late.
    const int64_t oldest_late = ToUnixMillis(clock_->Now()) - kHourMs * 24;
    for (PollRecord& rec : records) {
      const int64_t hour = HourStart(rec.ts_ms);
      const bool closed = closed_.count(hour) > 0;
      if (closed && rec.ts_ms < oldest_late) {
        CountLate(rec.samples.size());
        continue;
      }
      last_ts_[rec.target] = std::max(last_ts_[rec.target], rec.ts_ms);
      for (Sample& s : rec.samples) {
        SeriesKey k{rec.target, s.name, SortedLabels(s.labels)};
        Key mk = MakeKey(k);
        auto [it, inserted] = series_.try_emplace(std::move(mk));
        if (inserted) it->second.key = std::move(k);
        it->second.points[rec.ts_ms] = s.value;
        if (closed) Reroll(it->second, hour);
        ++n;
      }
    }
    return n;
  }
  Status SyncWrites() override { return Status::Ok(); }
  bool SpaceAvailable() override { return true; }

 private:
  struct SeriesData {
    SeriesKey key;
    std::map<int64_t, double> points;
    std::map<int64_t, Rollup> rollups;
    std::set<int64_t> rolled;
  };
  // The rollup of a closed hour, from its points again.
  static void Reroll(SeriesData& sd, int64_t hour) {
    Rollup r;
    r.hour = FromUnixMillis(hour);
    for (auto p = sd.points.lower_bound(hour);
         p != sd.points.end() && p->first < hour + kHourMs; ++p) {
      if (r.count == 0) r.min = r.max = p->second;
      r.min = std::min(r.min, p->second);
      r.max = std::max(r.max, p->second);
      r.sum += p->second;
      ++r.count;
    }
    sd.rollups[hour] = r;
    sd.rolled.insert(hour);
  }
  static SeriesKey Canon(const SeriesKey& k) {
    return {k.target, k.metric, SortedLabels(k.labels)};
  }
  template <typename D>
  static int64_t MsOf(D d) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  }

  const StoreOptions opts_;
  Clock* clock_;
  MemoryKv kv_;
  mutable std::mutex mu_;
  std::map<Key, SeriesData> series_;
  std::map<std::string, int64_t> last_ts_;
  std::set<int64_t> closed_;
  double last_maintenance_ = 0;
};

}  // namespace

Result<std::unique_ptr<Store>> OpenMemoryStore(const StoreOptions& options) {
  return std::unique_ptr<Store>(new MemoryStore(options));
}

}  // namespace rigwatch::store
