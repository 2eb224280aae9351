#include "agent/common/alert.h"

#include <algorithm>

namespace rigwatch {

std::string_view LevelName(Level level) {
  switch (level) {
    case Level::kUnknown:
      return "unknown";
    case Level::kGreen:
      return "green";
    case Level::kYellow:
      return "yellow";
    case Level::kRed:
      return "red";
  }
  return "unknown";
}

bool Transition::Wants(std::string_view action) const {
  return std::find(actions.begin(), actions.end(), action) != actions.end();
}

}  // namespace rigwatch
