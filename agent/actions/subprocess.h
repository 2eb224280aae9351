// Runs a configured command (argv, no shell) with a timeout and bounded
// output capture. Used for host service checks and restarts.
#ifndef RIGWATCH_AGENT_ACTIONS_SUBPROCESS_H_
#define RIGWATCH_AGENT_ACTIONS_SUBPROCESS_H_

#include <cstddef>
#include <stop_token>
#include <string>
#include <vector>

#include "agent/common/clock.h"
#include "agent/common/status.h"

namespace rigwatch::actions {

struct CommandResult {
  int exit_code = -1;      // when the process exited normally
  int term_signal = 0;     // when it was killed by a signal (0 otherwise)
  bool timed_out = false;  // we killed it at the deadline
  // We killed it because `stop` was requested (the agent is stopping).
  bool interrupted = false;
  std::string output;  // stdout and stderr interleaved, at most max_output
  bool output_truncated = false;
  bool success() const {
    return !timed_out && !interrupted && term_signal == 0 && exit_code == 0;
  }
};

// Runs argv[0] (looked up in PATH) with argv, without a shell, in its own
// process group, stdin from /dev/null. At `timeout` the whole group gets
// SIGTERM, then SIGKILL one second later; the same happens at once when
// `stop` is requested (`interrupted`), so a stopping agent waits at most
// about a second for a command; with `stop` already requested nothing is
// started (`interrupted`). Output beyond `max_output` bytes is
// read and discarded. Returns the outcome of a process that ran (whatever its
// exit code); fails with InvalidArgument on an empty argv and with the errno
// text when the process could not be started. Thread-safe; blocks until the
// child is reaped. Uses the real monotonic clock (a child runs in real time).
Result<CommandResult> RunCommand(const std::vector<std::string>& argv,
                                 Duration timeout,
                                 std::size_t max_output = 4096,
                                 std::stop_token stop = {});

}  // namespace rigwatch::actions

#endif  // RIGWATCH_AGENT_ACTIONS_SUBPROCESS_H_
