#include "agent/actions/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>

extern char** environ;

namespace rigwatch::actions {
namespace {

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() { Reset(); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  void Reset() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

// Reaps pid if it has exited; never blocks.
bool TryReap(pid_t pid, int* status) {
  pid_t r;
  do {
    r = waitpid(pid, status, WNOHANG);
  } while (r < 0 && errno == EINTR);
  return r == pid;
}

}  // namespace

Result<CommandResult> RunCommand(const std::vector<std::string>& argv,
                                 Duration timeout, std::size_t max_output,
                                 std::stop_token stop) {
  if (argv.empty() || argv[0].empty()) {
    return InvalidArgumentError("empty command");
  }
  if (stop.stop_requested()) {
    // Never started: a command begun only to be killed is worse.
    CommandResult never;
    never.interrupted = true;
    return never;
  }
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) != 0) return ErrnoToStatus(errno, "pipe");
  Fd read_end(pipefd[0]);
  Fd write_end(pipefd[1]);

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, write_end.get(), 1);
  posix_spawn_file_actions_adddup2(&fa, write_end.get(), 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // Own process group, so a timeout kills the command and its children.
  posix_spawnattr_setpgroup(&attr, 0);
  sigset_t no_signals;
  sigemptyset(&no_signals);
  posix_spawnattr_setsigmask(&attr, &no_signals);
  sigset_t default_signals;
  sigemptyset(&default_signals);
  sigaddset(&default_signals, SIGPIPE);
  sigaddset(&default_signals, SIGTERM);
  sigaddset(&default_signals, SIGINT);
  posix_spawnattr_setsigdefault(&attr, &default_signals);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP |
                                      POSIX_SPAWN_SETSIGMASK |
                                      POSIX_SPAWN_SETSIGDEF);

  std::vector<char*> cargv;
  cargv.reserve(argv.size() + 1);
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);

  pid_t pid = -1;
  int rc = posix_spawnp(&pid, cargv[0], &fa, &attr, cargv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  write_end.Reset();
  if (rc != 0) return ErrnoToStatus(rc, "spawn " + argv[0]);

  CommandResult result;
  fcntl(read_end.get(), F_SETFL, fcntl(read_end.get(), F_GETFL) | O_NONBLOCK);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto kill_deadline = deadline;
  bool eof = false;
  bool term_sent = false;
  bool kill_sent = false;
  int status = 0;
  bool reaped = false;
  char buf[4096];
  auto drain = [&] {
    while (!eof) {
      ssize_t n = read(read_end.get(), buf, sizeof buf);
      if (n > 0) {
        std::size_t have = std::min(max_output, result.output.size());
        std::size_t take =
            std::min(max_output - have, static_cast<std::size_t>(n));
        result.output.append(buf, take);
        if (take < static_cast<std::size_t>(n)) result.output_truncated = true;
      } else if (n == 0) {
        eof = true;
      } else if (errno != EINTR) {
        // EAGAIN: nothing more for now. Anything else: treat as closed.
        if (errno != EAGAIN) eof = true;
        return;
      }
    }
  };
  while (!reaped) {
    auto now = std::chrono::steady_clock::now();
    const bool stopping = stop.stop_requested();
    if (!term_sent && (now >= deadline || stopping)) {
      kill(-pid, SIGTERM);
      term_sent = true;
      (stopping ? result.interrupted : result.timed_out) = true;
      kill_deadline = now + std::chrono::seconds(1);
    } else if (term_sent && !kill_sent && now >= kill_deadline) {
      kill(-pid, SIGKILL);
      kill_sent = true;
    }
    // Short poll slices: the child may exit while a grandchild keeps the pipe
    // open, so reaping is checked between reads.
    pollfd p{read_end.get(), POLLIN, 0};
    int pr = eof ? 0 : poll(&p, 1, 20);
    if (eof) usleep(5000);
    if (pr > 0) drain();
    reaped = TryReap(pid, &status);
    if (reaped) drain();
  }
  // Children of the command that outlived it (and hold no pipe) are killed too
  // on timeout or stop; a normal exit leaves daemonized children alone.
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) result.term_signal = WTERMSIG(status);
  return result;
}

}  // namespace rigwatch::actions
