#include "agent/live_state/live_state.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <mutex>

namespace rigwatch {

void AppendPromValue(std::string* out, double value) {
  if (std::isnan(value)) {
    *out += "NaN";
    return;
  }
  if (std::isinf(value)) {
    *out += value > 0 ? "+Inf" : "-Inf";
    return;
  }
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, value);
  out->append(buf, r.ptr);
}

void AppendPromLabelValue(std::string* out, std::string_view v) {
  for (char c : v) {
    switch (c) {
      case '\\':
        *out += "\\\\";
        break;
      case '"':
        *out += "\\\"";
        break;
      case '\n':
        *out += "\\n";
        break;
      default:
        *out += c;
    }
  }
}

void AppendHelpType(std::string* out, const MetricDesc& desc) {
  *out += "# HELP ";
  *out += desc.name;
  *out += ' ';
  for (char c : desc.help) {
    if (c == '\\') {
      *out += "\\\\";
    } else if (c == '\n') {
      *out += "\\n";
    } else {
      *out += c;
    }
  }
  *out += "\n# TYPE ";
  *out += desc.name;
  *out += desc.type == MetricType::kCounter ? " counter\n" : " gauge\n";
}

LiveState::LiveState(std::vector<std::span<const MetricDesc>> tables)
    : tables_(std::move(tables)) {}

const MetricDesc* LiveState::FindDescLocked(std::string_view name) const {
  for (const auto& t : tables_) {
    if (const MetricDesc* d = FindDesc(t, name)) return d;
  }
  return nullptr;
}

uint32_t LiveState::FamilyIdLocked(std::string_view name) {
  auto it = family_by_name_.find(std::string(name));
  if (it != family_by_name_.end()) return it->second;
  uint32_t id = static_cast<uint32_t>(families_.size());
  Family f;
  f.name = std::string(name);
  f.desc = FindDescLocked(name);
  f.by_slot.resize(slots_.size());
  families_.push_back(std::move(f));
  family_by_name_.emplace(std::string(name), id);
  auto pos = std::lower_bound(
      family_order_.begin(), family_order_.end(), name,
      [&](uint32_t a, std::string_view n) { return families_[a].name < n; });
  family_order_.insert(pos, id);
  return id;
}

void LiveState::ClearSlotLocked(uint32_t slot, bool release) {
  Slot& s = slots_[slot];
  for (uint32_t fid : s.families) {
    Family& f = families_[fid];
    Region& r = f.by_slot[slot];
    text_bytes_ -= r.len;
    r.len = 0;
    --f.targets;
  }
  if (release) {
    for (Family& f : families_) {
      Region& r = f.by_slot[slot];
      f.dead += r.cap;
      r = Region{};
    }
  }
  s.families.clear();
  series_ -= s.series;
  s.series = 0;
  text_bytes_ -= s.name_bytes;
  s.name_bytes = 0;
}

void LiveState::CompactLocked(Family& f) {
  std::string arena;
  arena.reserve(f.arena.size() - f.dead);
  for (Region& r : f.by_slot) {
    if (r.cap == 0) continue;
    uint32_t off = static_cast<uint32_t>(arena.size());
    arena.append(f.arena.data() + r.off, r.cap);
    r.off = off;
  }
  f.arena = std::move(arena);
  f.dead = 0;
}

void LiveState::WriteRegionLocked(Family& f, uint32_t slot,
                                  std::string_view text) {
  Region& r = f.by_slot[slot];
  if (text.size() > r.cap) {
    // Move to the end with room to grow; the old place becomes dead space.
    f.dead += r.cap;
    r.cap = static_cast<uint32_t>(text.size() + text.size() / 8 + 8);
    r.off = static_cast<uint32_t>(f.arena.size());
    f.arena.resize(f.arena.size() + r.cap);
  }
  std::memcpy(f.arena.data() + r.off, text.data(), text.size());
  r.len = static_cast<uint32_t>(text.size());
  if (f.dead > 4096 && f.dead > f.arena.size() / 4) CompactLocked(f);
}

void LiveState::Update(std::string_view target, std::string_view target_label,
                       const Samples& samples) {
  // Group by family, keeping the exporter's order inside a family, and format
  // every line (value included) outside the lock.
  std::vector<const Sample*> order;
  order.reserve(samples.size());
  for (const Sample& s : samples) order.push_back(&s);
  std::stable_sort(
      order.begin(), order.end(),
      [](const Sample* a, const Sample* b) { return a->name < b->name; });
  std::string text;
  text.reserve(samples.size() * 64);
  size_t named_bytes = 0;
  struct Run {
    std::string_view family;
    size_t begin, end;
  };
  std::vector<Run> runs;
  for (size_t i = 0; i < order.size();) {
    const std::string& fname = order[i]->name;
    size_t begin = text.size();
    for (; i < order.size() && order[i]->name == fname; ++i) {
      const Sample& s = *order[i];
      // The family name is not stored: Render writes it before each line.
      named_bytes += s.name.size();
      if (!target_label.empty() || !s.labels.empty()) {
        text += '{';
        bool first = true;
        if (!target_label.empty()) {
          text += target_label;
          text += "=\"";
          AppendPromLabelValue(&text, target);
          text += '"';
          first = false;
        }
        for (const Label& lab : s.labels) {
          if (!first) text += ',';
          first = false;
          text += lab.name;
          text += "=\"";
          AppendPromLabelValue(&text, lab.value);
          text += '"';
        }
        text += '}';
      }
      text += ' ';
      AppendPromValue(&text, s.value);
      text += '\n';
    }
    runs.push_back({fname, begin, text.size()});
  }

  std::unique_lock<std::shared_mutex> lock(mu_);
  uint32_t slot;
  auto it = slot_by_name_.find(std::string(target));
  if (it != slot_by_name_.end()) {
    slot = it->second;
    ClearSlotLocked(slot, /*release=*/false);
  } else {
    if (!free_slots_.empty()) {
      slot = free_slots_.back();
      free_slots_.pop_back();
    } else {
      slot = static_cast<uint32_t>(slots_.size());
      slots_.emplace_back();
      for (Family& f : families_) f.by_slot.emplace_back();
    }
    slot_by_name_.emplace(std::string(target), slot);
  }
  Slot& s = slots_[slot];
  for (const Run& run : runs) {
    uint32_t fid = FamilyIdLocked(run.family);
    Family& f = families_[fid];
    WriteRegionLocked(
        f, slot, std::string_view(text).substr(run.begin, run.end - run.begin));
    ++f.targets;
    s.families.push_back(fid);
  }
  s.series = samples.size();
  s.name_bytes = named_bytes;
  series_ += s.series;
  text_bytes_ += text.size() + named_bytes;
}

void LiveState::Remove(std::string_view target) {
  std::unique_lock<std::shared_mutex> lock(mu_);
  auto it = slot_by_name_.find(std::string(target));
  if (it == slot_by_name_.end()) return;
  uint32_t slot = it->second;
  ClearSlotLocked(slot, /*release=*/true);
  free_slots_.push_back(slot);
  slot_by_name_.erase(it);
}

void LiveState::Render(std::string* out) const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  out->reserve(out->size() + text_bytes_ + families_.size() * 160);
  for (uint32_t fid : family_order_) {
    const Family& fam = families_[fid];
    if (fam.targets == 0) continue;
    if (fam.desc != nullptr) {
      AppendHelpType(out, *fam.desc);
    } else {
      MetricDesc d{fam.name, MetricType::kGauge, "Undocumented series.", ""};
      AppendHelpType(out, d);
    }
    const char* base = fam.arena.data();
    for (const Region& r : fam.by_slot) {
      const char* p = base + r.off;
      const char* const end = p + r.len;
      while (p < end) {
        // Label values are escaped, so '\n' only ends a line.
        const char* nl =
            static_cast<const char*>(std::memchr(p, '\n', end - p));
        out->append(fam.name);
        out->append(p, nl + 1 - p);
        p = nl + 1;
      }
    }
  }
}

size_t LiveState::SeriesCount() const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  return series_;
}

size_t LiveState::TargetCount() const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  return slot_by_name_.size();
}

}  // namespace rigwatch
