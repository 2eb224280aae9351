// The one adapter from yaml-cpp's positions to the agent's error locations:
// yaml-cpp marks are 0-based and -1 when unknown; messages are 1-based like
// every editor ("rules.yaml:5:5: ..."). Header-only, for the components
// that parse YAML (config, miner files, rules); they link yaml-cpp.
#ifndef RIGWATCH_AGENT_COMMON_YAML_MARK_H_
#define RIGWATCH_AGENT_COMMON_YAML_MARK_H_

#include <yaml-cpp/yaml.h>

#include <string>
#include <string_view>

namespace rigwatch {

// 1-based; an unknown position is 1:1 (the file's start).
struct YamlPosition {
  int line = 1;
  int column = 1;
};

inline YamlPosition PositionOf(const YAML::Mark& m) {
  YamlPosition p;
  if (!m.is_null() && m.line >= 0) p.line = m.line + 1;
  if (!m.is_null() && m.column >= 0) p.column = m.column + 1;
  return p;
}

inline YamlPosition PositionOf(const YAML::Node& n) {
  return PositionOf(n.Mark());
}

// "FILE:LINE:COL" (no trailing separator).
inline std::string FormatPosition(std::string_view file, const YAML::Mark& m) {
  const YamlPosition p = PositionOf(m);
  return std::string(file) + ":" + std::to_string(p.line) + ":" +
         std::to_string(p.column);
}

}  // namespace rigwatch

#endif  // RIGWATCH_AGENT_COMMON_YAML_MARK_H_
