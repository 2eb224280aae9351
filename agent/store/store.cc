#include "agent/store/store.h"

#include <algorithm>

namespace rigwatch::store {

Samples Store::SelfMetrics() const {
  StoreStats s = Stats();
  auto d = [](uint64_t v) { return static_cast<double>(v); };
  Samples out = {
      {"rigwatch_store_size_bytes", {}, d(s.size_bytes)},
      {"rigwatch_store_samples_written_total", {}, d(s.samples_written)},
      {"rigwatch_store_dropped_samples_total", {}, d(s.dropped_samples)},
      {"rigwatch_store_late_samples_total", {}, d(s.late_samples)},
      {"rigwatch_store_writes_paused", {}, s.writes_paused ? 1.0 : 0.0},
      {"rigwatch_store_write_pauses_total", {}, d(s.pauses)},
      {"rigwatch_store_partitions", {}, d(s.partitions)},
      {"rigwatch_store_series", {}, d(s.series)},
      {"rigwatch_store_last_maintenance_duration_seconds",
       {},
       s.last_maintenance_seconds},
  };
  if (s.free_known) {
    out.push_back({"rigwatch_store_free_bytes", {}, d(s.free_bytes)});
    out.push_back({"rigwatch_store_min_free_bytes", {}, d(s.min_free_bytes)});
  }
  return out;
}

Result<std::vector<SeriesPoints>> Store::Select(const Selector& sel,
                                                WallTime from, WallTime to) {
  RW_ASSIGN_OR_RETURN(std::vector<SeriesKey> keys, MatchSeries(sel));
  std::vector<SeriesPoints> out;
  out.reserve(keys.size());
  for (SeriesKey& k : keys) {
    RW_ASSIGN_OR_RETURN(std::vector<Point> pts, ReadRange(k, from, to));
    out.push_back({std::move(k), std::move(pts)});
  }
  return out;
}

Result<std::optional<double>> Store::Aggregate(const SeriesKey& key,
                                               WallTime from, WallTime to,
                                               Aggregation agg) {
  RW_ASSIGN_OR_RETURN(std::vector<Point> pts, ReadRange(key, from, to));
  return AggregatePoints(pts, agg);
}

std::optional<double> AggregatePoints(const std::vector<Point>& points,
                                      Aggregation agg) {
  if (points.empty()) return std::nullopt;
  switch (agg) {
    case Aggregation::kAvg: {
      double sum = 0;
      for (const Point& p : points) sum += p.value;
      return sum / static_cast<double>(points.size());
    }
    case Aggregation::kMin: {
      double m = points[0].value;
      for (const Point& p : points) m = std::min(m, p.value);
      return m;
    }
    case Aggregation::kMax: {
      double m = points[0].value;
      for (const Point& p : points) m = std::max(m, p.value);
      return m;
    }
    case Aggregation::kLast:
      return points.back().value;
    case Aggregation::kRate:
    case Aggregation::kIncrease: {
      if (points.size() < 2) return std::nullopt;
      double inc = 0;
      for (size_t i = 1; i < points.size(); ++i) {
        double d = points[i].value - points[i - 1].value;
        inc += d >= 0 ? d : points[i].value;  // a drop is a counter reset
      }
      if (agg == Aggregation::kIncrease) return inc;
      double secs =
          std::chrono::duration<double>(points.back().ts - points.front().ts)
              .count();
      if (secs <= 0) return std::nullopt;
      return inc / secs;
    }
  }
  return std::nullopt;
}

Result<Aggregation> ParseAggregation(std::string_view s) {
  if (s == "avg") return Aggregation::kAvg;
  if (s == "min") return Aggregation::kMin;
  if (s == "max") return Aggregation::kMax;
  if (s == "last") return Aggregation::kLast;
  if (s == "rate") return Aggregation::kRate;
  if (s == "increase") return Aggregation::kIncrease;
  return InvalidArgumentError("unknown aggregation \"" + std::string(s) +
                              "\" (want avg, min, max, last, rate, increase)");
}

}  // namespace rigwatch::store
