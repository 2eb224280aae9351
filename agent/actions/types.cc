#include "agent/actions/types.h"

#include <algorithm>

namespace rigwatch::actions {

std::string_view LevelName(Level level) {
  switch (level) {
    case Level::kGreen:
      return "green";
    case Level::kYellow:
      return "yellow";
    case Level::kRed:
      return "red";
    case Level::kUnknown:
      return "unknown";
  }
  return "unknown";
}

bool Transition::Wants(std::string_view action) const {
  return std::find(actions.begin(), actions.end(), action) != actions.end();
}

}  // namespace rigwatch::actions
