#include "agent/live_state/live_state.h"

#include <algorithm>
#include <charconv>
#include <cmath>
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

void LiveState::Update(std::string_view target, std::string_view target_label,
                       const Samples& samples) {
  // Format outside the lock: the expensive part of an update.
  std::vector<std::pair<std::string_view, Line>> lines;
  lines.reserve(samples.size());
  for (const Sample& s : samples) {
    Line l;
    l.prefix.reserve(s.name.size() + 48);
    l.prefix += s.name;
    bool any = !target_label.empty() || !s.labels.empty();
    if (any) {
      l.prefix += '{';
      bool first = true;
      if (!target_label.empty()) {
        l.prefix += target_label;
        l.prefix += "=\"";
        AppendPromLabelValue(&l.prefix, target);
        l.prefix += '"';
        first = false;
      }
      for (const Label& lab : s.labels) {
        if (!first) l.prefix += ',';
        first = false;
        l.prefix += lab.name;
        l.prefix += "=\"";
        AppendPromLabelValue(&l.prefix, lab.value);
        l.prefix += '"';
      }
      l.prefix += '}';
    }
    l.prefix += ' ';
    l.value = s.value;
    lines.emplace_back(s.name, std::move(l));
  }
  // Group by family, keeping the exporter's order inside a family.
  std::stable_sort(
      lines.begin(), lines.end(),
      [](const auto& a, const auto& b) { return a.first < b.first; });

  std::unique_lock<std::shared_mutex> lock(mu_);
  auto [tit, inserted] = targets_.try_emplace(std::string(target));
  Target& t = tit->second;
  // Drop this target from families it had before.
  for (const std::string& fname : t.families) {
    auto fit = families_.find(fname);
    if (fit == families_.end()) continue;
    auto bt = fit->second.by_target.find(target);
    if (bt != fit->second.by_target.end()) {
      series_ -= bt->second.size();
      fit->second.by_target.erase(bt);
    }
    if (fit->second.by_target.empty()) families_.erase(fit);
  }
  t.families.clear();
  for (size_t i = 0; i < lines.size();) {
    std::string_view fname = lines[i].first;
    auto fit = families_.find(fname);
    if (fit == families_.end()) {
      fit = families_.emplace(std::string(fname), Family{}).first;
      fit->second.desc = FindDescLocked(fname);
    }
    std::vector<Line>& dst = fit->second.by_target[std::string(target)];
    for (; i < lines.size() && lines[i].first == fname; ++i) {
      dst.push_back(std::move(lines[i].second));
      ++series_;
    }
    t.families.emplace_back(fname);
  }
}

void LiveState::Remove(std::string_view target) {
  std::unique_lock<std::shared_mutex> lock(mu_);
  auto tit = targets_.find(target);
  if (tit == targets_.end()) return;
  for (const std::string& fname : tit->second.families) {
    auto fit = families_.find(fname);
    if (fit == families_.end()) continue;
    auto bt = fit->second.by_target.find(target);
    if (bt != fit->second.by_target.end()) {
      series_ -= bt->second.size();
      fit->second.by_target.erase(bt);
    }
    if (fit->second.by_target.empty()) families_.erase(fit);
  }
  targets_.erase(tit);
}

void LiveState::Render(std::string* out) const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  out->reserve(out->size() + series_ * 64 + families_.size() * 128);
  for (const auto& [name, fam] : families_) {
    if (fam.desc != nullptr) {
      AppendHelpType(out, *fam.desc);
    } else {
      MetricDesc d{name, MetricType::kGauge, "Undocumented series.", ""};
      AppendHelpType(out, d);
    }
    for (const auto& [target, lines] : fam.by_target) {
      for (const Line& l : lines) {
        *out += l.prefix;
        AppendPromValue(out, l.value);
        *out += '\n';
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
  return targets_.size();
}

}  // namespace rigwatch
