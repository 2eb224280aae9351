// Fake miners on 127.0.0.1 for transport tests and the poller benchmark:
// one listening socket per miner, all served by one epoll loop. Each miner
// speaks minimal HTTP/1.1 or the CGMiner framing (read one request, reply
// body + NUL, close), or misbehaves (black hole, close at once, reset).
// Header-only test support; loopback only.
#ifndef RIGWATCH_TESTS_UNIT_POLLER_FAKE_FLEET_H_
#define RIGWATCH_TESTS_UNIT_POLLER_FAKE_FLEET_H_

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace rigwatch::testing {

class FakeFleet {
 public:
  enum class Mode {
    kHttp,               // reply `body` with `http_status`
    kCgminer,            // reply `body` + '\0', then close
    kBlackHole,          // accept, read, never answer
    kCloseAtOnce,        // accept and close with 0 bytes
    kResetAfterRequest,  // read the request, then close with RST
  };
  struct Spec {
    Mode mode = Mode::kHttp;
    std::string body = "uptime=1 shares=1";
    int http_status = 200;
    bool keep_alive = true;  // HTTP: keep the connection after a reply
    std::string headers;     // HTTP: extra header lines, each ending CRLF
  };

  // Opens one listener per spec on 127.0.0.1 (ephemeral ports). Returns
  // null if a socket call fails (e.g. out of descriptors).
  static std::unique_ptr<FakeFleet> Create(std::vector<Spec> specs) {
    std::unique_ptr<FakeFleet> f(new FakeFleet);
    f->epfd_ = epoll_create1(EPOLL_CLOEXEC);
    f->stopfd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (f->epfd_ < 0 || f->stopfd_ < 0) return nullptr;
    f->Watch(f->stopfd_, EPOLLIN, kStop);
    for (size_t i = 0; i < specs.size(); ++i) {
      int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (fd < 0) return nullptr;
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      socklen_t len = sizeof(a);
      if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 ||
          listen(fd, 512) != 0 ||
          getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
        close(fd);
        return nullptr;
      }
      f->miners_.push_back(Miner{specs[i], fd, ntohs(a.sin_port)});
      f->Watch(fd, EPOLLIN, kListenBase + i);
    }
    return f;
  }

  ~FakeFleet() {
    Stop();
    for (auto& [fd, c] : conns_) close(fd);
    for (Miner& m : miners_) close(m.listen_fd);
    if (stopfd_ >= 0) close(stopfd_);
    if (epfd_ >= 0) close(epfd_);
  }

  // Serves on a thread of its own until Stop() or destruction.
  void StartThread() {
    thread_ = std::thread([this] { Serve(); });
  }
  void Stop() {
    const uint64_t one = 1;
    if (stopfd_ >= 0) [[maybe_unused]]
      auto n = write(stopfd_, &one, 8);
    if (thread_.joinable()) thread_.join();
  }

  // Serves on the calling thread until Stop() is called from elsewhere.
  void Serve() {
    epoll_event evs[256];
    for (;;) {
      const int n = epoll_wait(epfd_, evs, 256, 1000);
      for (int i = 0; i < n; ++i) {
        const uint64_t tag = evs[i].data.u64;
        if (tag == kStop) return;
        if (tag >= kListenBase && tag < kConnBase) {
          Accept(tag - kListenBase);
        } else {
          OnConn(static_cast<int>(tag - kConnBase), evs[i].events);
        }
      }
    }
  }

  size_t size() const { return miners_.size(); }
  uint16_t port(size_t i) const { return miners_[i].port; }
  // Raw requests miner i received, in order. Thread-safe.
  std::vector<std::string> requests(size_t i) const {
    std::lock_guard<std::mutex> l(mu_);
    return miners_[i].requests;
  }
  int connections(size_t i) const { return miners_[i].accepted.load(); }

 private:
  static constexpr uint64_t kStop = 1;
  static constexpr uint64_t kListenBase = 1ULL << 32;
  static constexpr uint64_t kConnBase = 1ULL << 48;

  struct Miner {
    Spec spec;
    int listen_fd;
    uint16_t port;
    std::vector<std::string> requests;
    std::atomic<int> accepted{0};
    Miner(Spec s, int fd, uint16_t p)
        : spec(std::move(s)), listen_fd(fd), port(p) {}
    Miner(Miner&& o) noexcept
        : spec(std::move(o.spec)),
          listen_fd(o.listen_fd),
          port(o.port),
          requests(std::move(o.requests)),
          accepted(o.accepted.load()) {}
  };
  struct Conn {
    size_t miner;
    std::string in;
    std::string out;
    size_t sent = 0;
    bool close_after = false;
  };

  FakeFleet() = default;

  void Watch(int fd, uint32_t ev, uint64_t tag) {
    epoll_event e{};
    e.events = ev;
    e.data.u64 = tag;
    epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &e);
  }

  void Accept(size_t mi) {
    for (;;) {
      int fd = accept4(miners_[mi].listen_fd, nullptr, nullptr,
                       SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;
      miners_[mi].accepted++;
      if (miners_[mi].spec.mode == Mode::kCloseAtOnce) {
        close(fd);
        continue;
      }
      conns_[fd] = Conn{mi, {}, {}, 0, false};
      Watch(fd, EPOLLIN, kConnBase + static_cast<uint64_t>(fd));
    }
  }

  void Drop(int fd, bool reset) {
    if (reset) {
      linger lg{1, 0};
      setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    }
    epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr);
    close(fd);
    conns_.erase(fd);
  }

  void OnConn(int fd, uint32_t events) {
    auto it = conns_.find(fd);
    if (it == conns_.end()) return;
    Conn& c = it->second;
    Miner& m = miners_[c.miner];
    if (events & EPOLLIN) {
      char buf[8192];
      for (;;) {
        ssize_t n = recv(fd, buf, sizeof(buf), 0);
        if (n > 0) {
          c.in.append(buf, static_cast<size_t>(n));
          continue;
        }
        if (n == 0) {
          Drop(fd, false);
          return;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        Drop(fd, false);
        return;
      }
      if (c.out.empty()) TryAnswer(fd, c, m);
      if (conns_.find(fd) == conns_.end()) return;
    }
    Flush(fd);
  }

  void TryAnswer(int fd, Conn& c, Miner& m) {
    std::string request;
    if (m.spec.mode == Mode::kCgminer || m.spec.mode == Mode::kBlackHole ||
        m.spec.mode == Mode::kResetAfterRequest) {
      if (m.spec.mode != Mode::kCgminer) {
        // For HTTP-shaped black holes, wait for the whole head.
        const size_t end = c.in.find("\r\n\r\n");
        if (c.in.find("HTTP/1.1") != std::string::npos &&
            end == std::string::npos) {
          return;
        }
      }
      if (c.in.empty()) return;
      request = std::move(c.in);
      c.in.clear();
    } else {
      const size_t end = c.in.find("\r\n\r\n");
      if (end == std::string::npos) return;
      size_t body_len = 0;
      const char* cl = strcasestr(c.in.c_str(), "content-length:");
      if (cl != nullptr && cl < c.in.c_str() + end) {
        body_len = std::strtoul(cl + 15, nullptr, 10);
      }
      if (c.in.size() < end + 4 + body_len) return;
      request = c.in.substr(0, end + 4 + body_len);
      c.in.erase(0, end + 4 + body_len);
    }
    {
      std::lock_guard<std::mutex> l(mu_);
      m.requests.push_back(request);
    }
    switch (m.spec.mode) {
      case Mode::kBlackHole:
        return;
      case Mode::kResetAfterRequest:
        Drop(fd, true);
        return;
      case Mode::kCgminer:
        c.out = m.spec.body + std::string(1, '\0');
        c.close_after = true;
        return;
      default: {
        const bool keep = m.spec.keep_alive;
        c.out = "HTTP/1.1 " + std::to_string(m.spec.http_status) +
                " X\r\nContent-Type: application/json\r\nContent-Length: " +
                std::to_string(m.spec.body.size()) +
                "\r\nConnection: " + (keep ? "keep-alive" : "close") + "\r\n" +
                m.spec.headers + "\r\n" + m.spec.body;
        c.close_after = !keep;
        return;
      }
    }
  }

  void Flush(int fd) {
    auto it = conns_.find(fd);
    if (it == conns_.end()) return;
    Conn& c = it->second;
    if (c.out.empty()) return;
    while (c.sent < c.out.size()) {
      ssize_t n =
          send(fd, c.out.data() + c.sent, c.out.size() - c.sent, MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
          epoll_event e{};
          e.events = EPOLLIN | EPOLLOUT;
          e.data.u64 = kConnBase + static_cast<uint64_t>(fd);
          epoll_ctl(epfd_, EPOLL_CTL_MOD, fd, &e);
          return;
        }
        Drop(fd, false);
        return;
      }
      c.sent += static_cast<size_t>(n);
    }
    c.out.clear();
    c.sent = 0;
    if (c.close_after) {
      Drop(fd, false);
      return;
    }
    epoll_event e{};
    e.events = EPOLLIN;
    e.data.u64 = kConnBase + static_cast<uint64_t>(fd);
    epoll_ctl(epfd_, EPOLL_CTL_MOD, fd, &e);
  }

  int epfd_ = -1;
  int stopfd_ = -1;
  std::vector<Miner> miners_;
  std::map<int, Conn> conns_;
  mutable std::mutex mu_;
  std::thread thread_;
};

}  // namespace rigwatch::testing

#endif  // RIGWATCH_TESTS_UNIT_POLLER_FAKE_FLEET_H_
