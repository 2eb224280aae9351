// Bounded polling for tests: a condition or a deadline, never a fixed
// sleep.
#ifndef RIGWATCH_TESTS_SUPPORT_WAIT_H_
#define RIGWATCH_TESTS_SUPPORT_WAIT_H_

#include <chrono>
#include <functional>

namespace rigwatch::test_support {

// Polls `ready` every `interval` until it is true or `timeout` passes;
// returns its last answer (checked once more at the deadline).
bool WaitFor(const std::function<bool()>& ready,
             std::chrono::milliseconds timeout,
             std::chrono::milliseconds interval = std::chrono::milliseconds(5));

}  // namespace rigwatch::test_support

#endif  // RIGWATCH_TESTS_SUPPORT_WAIT_H_
