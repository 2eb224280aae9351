#include "agent/common/clock.h"

namespace rigwatch {

SystemClock* SystemClock::Default() {
  static SystemClock clock;
  return &clock;
}

}  // namespace rigwatch
