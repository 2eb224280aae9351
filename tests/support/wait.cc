#include "tests/support/wait.h"

#include <thread>

namespace rigwatch::test_support {

bool WaitFor(const std::function<bool()>& ready,
             std::chrono::milliseconds timeout,
             std::chrono::milliseconds interval) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (ready()) return true;
    std::this_thread::sleep_for(interval);
  }
  return ready();
}

}  // namespace rigwatch::test_support
