#include "agent/rules/template.h"

#include <cctype>

#include "agent/common/units.h"

namespace rigwatch::rules {
namespace {

constexpr std::string_view kPlaceholders[] = {"rule", "miner", "level", "value",
                                              "threshold"};

std::string_view Trim(std::string_view key) {
  while (!key.empty() && key.front() == ' ') key.remove_prefix(1);
  while (!key.empty() && key.back() == ' ') key.remove_suffix(1);
  return key;
}

bool ValidLabelName(std::string_view s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  for (char c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  }
  return true;
}

}  // namespace

std::vector<ExprError> CheckDescription(std::string_view text) {
  std::vector<ExprError> out;
  size_t i = 0;
  while ((i = text.find("{{", i)) != std::string_view::npos) {
    size_t close = text.find("}}", i + 2);
    if (close == std::string_view::npos) {
      out.push_back({i, "unterminated placeholder \"{{\""});
      break;
    }
    std::string_view key = Trim(text.substr(i + 2, close - i - 2));
    bool ok = key.starts_with("label.") && ValidLabelName(key.substr(6));
    for (std::string_view p : kPlaceholders) ok = ok || key == p;
    if (!ok) {
      out.push_back({i, "unknown placeholder \"{{" + std::string(key) +
                            "}}\"; known: {{rule}}, {{miner}}, {{level}}, "
                            "{{value}}, {{threshold}}, {{label.NAME}}"});
    }
    i = close + 2;
  }
  return out;
}

std::string RenderDescription(const Rule& rule, std::string_view miner,
                              Level level, std::optional<double> value,
                              std::string_view threshold,
                              const Labels& labels) {
  const std::string& t = rule.description;
  std::string out;
  size_t i = 0;
  while (i < t.size()) {
    size_t open = t.find("{{", i);
    if (open == std::string::npos) break;
    size_t close = t.find("}}", open + 2);
    if (close == std::string::npos) break;
    out.append(t, i, open - i);
    std::string_view key(t.data() + open + 2, close - open - 2);
    while (!key.empty() && key.front() == ' ') key.remove_prefix(1);
    while (!key.empty() && key.back() == ' ') key.remove_suffix(1);
    if (key == "rule") {
      out += rule.name;
    } else if (key == "miner") {
      out += miner;
    } else if (key == "level") {
      out += LevelName(level);
    } else if (key == "value") {
      if (value) {
        const Level side =
            level == Level::kYellow ? Level::kYellow : Level::kRed;
        const std::optional<Condition>& c =
            side == Level::kRed && rule.red ? rule.red : rule.yellow;
        out += FormatMetricValue(*value, ValueMetric(rule, c ? &*c : nullptr));
      } else {
        out += "none";
      }
    } else if (key == "threshold") {
      out += threshold;
    } else if (key.starts_with("label.")) {
      key.remove_prefix(6);
      for (const Label& l : labels) {
        if (l.name == key) out += l.value;
      }
    }
    i = close + 2;
  }
  out.append(t, i, std::string::npos);
  return out;
}

}  // namespace rigwatch::rules
