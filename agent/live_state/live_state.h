// LiveState: the latest value of every series, by target, rendered as the
// Prometheus text exposition format 0.0.4.
//
// Each target's samples are stored pre-formatted ("name{labels} ") grouped
// by metric family, so rendering is a walk over memory plus one number
// format per series — no per-series objects (prometheus-cpp's Gauge costs
// ~465 bytes and µs per series at fleet scale; see docs/architecture.md
// "HTTP server").
//
// Thread-safety: all methods may be called concurrently. Update/Remove take
// an exclusive lock for the time of the replace; Render a shared lock.
#ifndef RIGWATCH_AGENT_LIVE_STATE_LIVE_STATE_H_
#define RIGWATCH_AGENT_LIVE_STATE_LIVE_STATE_H_

#include <cstddef>
#include <memory>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "exporters/sample.h"

namespace rigwatch {

class LiveState {
 public:
  // `tables` give HELP and TYPE for each family; they must outlive this.
  explicit LiveState(std::vector<std::span<const MetricDesc>> tables);

  // Replaces every series of `target` by `samples`. When `target_label` is
  // non-empty, each series gets {target_label="target"} as its first label
  // (miners: "miner"); the host and the agent itself pass "".
  void Update(std::string_view target, std::string_view target_label,
              const Samples& samples);

  // Drops every series of `target` (a miner removed from the config).
  void Remove(std::string_view target);

  // Appends the exposition text of every series to *out, one HELP and TYPE
  // per family, families in name order, targets in the order they were
  // first seen.
  void Render(std::string* out) const;

  size_t SeriesCount() const;
  size_t TargetCount() const;

 private:
  // Lines are formatted once per Update, values included, without the
  // family name (Render writes it before each line: ~30 bytes a series
  // less to hold). Each family keeps its lines in one arena with a region
  // per target, overwritten in place when the new text fits, so Render reads
  // memory almost sequentially: no per-series objects, no number formatting
  // on the scrape path.
  struct Region {
    uint32_t off = 0;
    uint32_t len = 0;
    uint32_t cap = 0;
  };
  struct Family {
    std::string name;
    const MetricDesc* desc = nullptr;
    std::string arena;
    std::vector<Region> by_slot;  // indexed by target slot
    size_t targets = 0;           // slots with len > 0
    size_t dead = 0;              // arena bytes no region uses
  };
  struct Slot {
    std::vector<uint32_t> families;  // ids with len > 0
    size_t series = 0;
    size_t name_bytes = 0;  // family names Render adds to its lines
  };

  const MetricDesc* FindDescLocked(std::string_view name) const;
  uint32_t FamilyIdLocked(std::string_view name);
  void ClearSlotLocked(uint32_t slot, bool release);
  void WriteRegionLocked(Family& f, uint32_t slot, std::string_view text);
  static void CompactLocked(Family& f);

  std::vector<std::span<const MetricDesc>> tables_;
  mutable std::shared_mutex mu_;
  std::vector<Slot> slots_;
  std::vector<uint32_t> free_slots_;
  std::unordered_map<std::string, uint32_t> slot_by_name_;
  std::vector<Family> families_;
  std::unordered_map<std::string, uint32_t> family_by_name_;
  std::vector<uint32_t> family_order_;  // ids sorted by name
  size_t series_ = 0;
  size_t text_bytes_ = 0;
};

// Appends `value` in exposition format: shortest round-trip decimal, NaN,
// +Inf, -Inf.
void AppendPromValue(std::string* out, double value);
// Appends a label value with \\, \" and \n escaped.
void AppendPromLabelValue(std::string* out, std::string_view value);
// Appends "# HELP name help\n# TYPE name type\n" (help escaped).
void AppendHelpType(std::string* out, const MetricDesc& desc);

}  // namespace rigwatch

#endif  // RIGWATCH_AGENT_LIVE_STATE_LIVE_STATE_H_
