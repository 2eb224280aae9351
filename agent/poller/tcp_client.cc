#include "agent/poller/tcp_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace rigwatch {

struct TcpClient::Conn {
  ExchangeId id = 0;
  Exchange ex;
  int fd = -1;
  std::optional<EventLoop::WatchId> watch;
  std::optional<EventLoop::TimerId> timer;
  enum class Phase {
    kResolving,
    kConnecting,
    kSending,
    kReading
  } phase = Phase::kResolving;
  SteadyTime started;
  size_t sent = 0;
  bool got_bytes = false;
  std::string in;
};

namespace {

// errno of a failed connect/send/recv, mapped once (transport.h).
PollResult ClassOfErrno(int err) {
  switch (err) {
    case ETIMEDOUT:
      return PollResult::kTimeout;
    default:
      // ECONNREFUSED, ECONNRESET, EHOSTUNREACH, ENETUNREACH, EPIPE, ...:
      // the miner (or the path to it) refused the conversation.
      return PollResult::kRefused;
  }
}

int64_t Ms(Duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

}  // namespace

TcpClient::TcpClient(EventLoop& loop, CompleteFn complete)
    : loop_(loop),
      complete_(std::move(complete)),
      alive_(std::make_shared<bool>(true)) {}

TcpClient::~TcpClient() {
  resolver_.Stop();
  for (auto& [id, c] : conns_) Close(*c);
  conns_.clear();
}

void TcpClient::Start(ExchangeId id, Exchange ex) {
  auto c = std::make_unique<Conn>();
  c->id = id;
  c->started = std::chrono::steady_clock::now();
  c->ex = std::move(ex);
  Conn& ref = *c;
  conns_.emplace(id, std::move(c));
  ArmTimer(ref);

  sockaddr_in v4{};
  sockaddr_in6 v6{};
  if (inet_pton(AF_INET, ref.ex.host.c_str(), &v4.sin_addr) == 1) {
    v4.sin_family = AF_INET;
    v4.sin_port = htons(ref.ex.port);
    Connect(ref, &v4, sizeof(v4));
    return;
  }
  if (inet_pton(AF_INET6, ref.ex.host.c_str(), &v6.sin6_addr) == 1) {
    v6.sin6_family = AF_INET6;
    v6.sin6_port = htons(ref.ex.port);
    Connect(ref, &v6, sizeof(v6));
    return;
  }
  {
    std::lock_guard<std::mutex> l(mu_);
    lookups_.push_back(Lookup{id, ref.ex.host, ref.ex.port});
  }
  resolver_.Start();  // a no-op once running
  resolver_.Wake();
}

Duration TcpClient::ResolveQueued(std::stop_token st) {
  while (!st.stop_requested()) {
    Lookup lk;
    {
      std::lock_guard<std::mutex> l(mu_);
      if (lookups_.empty()) break;
      lk = std::move(lookups_.front());
      lookups_.pop_front();
    }
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    const std::string port = std::to_string(lk.port);
    const int rc = getaddrinfo(lk.host.c_str(), port.c_str(), &hints, &res);
    Result<std::string> out =
        NotFoundError("resolve " + lk.host + ": " + gai_strerror(rc));
    if (rc == 0 && res != nullptr) {
      out = std::string(reinterpret_cast<const char*>(res->ai_addr),
                        res->ai_addrlen);
    }
    if (res != nullptr) freeaddrinfo(res);
    std::weak_ptr<bool> alive = alive_;
    loop_.Post([this, alive, id = lk.id, out = std::move(out)]() mutable {
      if (alive.lock()) Resolved(id, std::move(out));
    });
    resolver_.Beat();  // each lookup is bounded; a queue of them is progress
  }
  return std::chrono::hours(1);  // idle until the next Start wakes it
}

void TcpClient::Resolved(ExchangeId id, Result<std::string> addr) {
  auto it = conns_.find(id);
  if (it == conns_.end()) return;  // aborted or timed out meanwhile
  if (!addr.ok()) {
    Finish(id, addr.status(), PollResult::kDns);
    return;
  }
  Connect(*it->second, addr->data(), static_cast<unsigned>(addr->size()));
}

void TcpClient::Connect(Conn& c, const void* addr, unsigned addrlen) {
  const auto* sa = static_cast<const sockaddr*>(addr);
  c.fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c.fd < 0) {
    // Out of descriptors is our problem, not the miner's; it still fails
    // this exchange only.
    Finish(c.id, ErrnoToStatus(errno, "socket"), PollResult::kRefused);
    return;
  }
  const int one = 1;
  setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  c.phase = Conn::Phase::kConnecting;
  if (connect(c.fd, sa, addrlen) != 0 && errno != EINPROGRESS) {
    const int err = errno;
    Finish(c.id, ErrnoToStatus(err, "connect"), ClassOfErrno(err));
    return;
  }
  const ExchangeId id = c.id;
  auto w =
      loop_.Add(c.fd, EPOLLOUT, [this, id](uint32_t ev) { OnEvents(id, ev); });
  if (!w.ok()) {
    Finish(id, w.status(), PollResult::kRefused);
    return;
  }
  c.watch = *w;
}

void TcpClient::ArmTimer(Conn& c) {
  if (c.timer) loop_.CancelTimer(*c.timer);
  SteadyTime when = c.ex.deadline;
  if (c.phase == Conn::Phase::kResolving ||
      c.phase == Conn::Phase::kConnecting) {
    when = std::min(when, c.started + c.ex.connect_timeout);
  } else if (!c.got_bytes) {
    when = std::min(when, c.started + c.ex.first_byte_timeout);
  }
  const ExchangeId id = c.id;
  c.timer = loop_.AddTimer(when, [this, id] { OnTimer(id); });
}

void TcpClient::OnTimer(ExchangeId id) {
  auto it = conns_.find(id);
  if (it == conns_.end()) return;
  Conn& c = *it->second;
  c.timer.reset();
  const auto now = std::chrono::steady_clock::now();
  std::string what;
  switch (c.phase) {
    case Conn::Phase::kResolving:
      what = "resolve";
      break;
    case Conn::Phase::kConnecting:
      what = "connect";
      break;
    case Conn::Phase::kSending:
      what = "send";
      break;
    case Conn::Phase::kReading:
      what = c.got_bytes ? "read" : "waiting for the first byte";
      break;
  }
  Finish(id,
         DeadlineExceededError(what + ": timed out after " +
                               std::to_string(Ms(now - c.started)) + "ms"),
         PollResult::kTimeout);
}

void TcpClient::OnEvents(ExchangeId id, uint32_t /*ev*/) {
  auto it = conns_.find(id);
  if (it == conns_.end()) return;
  Conn& c = *it->second;
  if (c.phase == Conn::Phase::kConnecting) {
    int err = 0;
    socklen_t len = sizeof(err);
    getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      Finish(id, ErrnoToStatus(err, "connect"), ClassOfErrno(err));
      return;
    }
    c.phase = Conn::Phase::kSending;
    ArmTimer(c);
  }
  if (c.phase == Conn::Phase::kSending) {
    const std::string& p = c.ex.request.payload;
    // One write: cgminer does a single recv() (docs/protocols.md §2.1).
    const ssize_t n =
        send(c.fd, p.data() + c.sent, p.size() - c.sent, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      const int err = errno;
      if (err == EPIPE || err == ECONNRESET) {
        // Closed by the miner right after accepting: see the read path.
        Finish(id,
               PermissionDeniedError(
                   "connection closed with 0 bytes (IP not allowed?)"),
               PollResult::kDenied);
        return;
      }
      Finish(id, ErrnoToStatus(err, "send"), ClassOfErrno(err));
      return;
    }
    c.sent += static_cast<size_t>(n);
    if (c.sent < p.size()) return;
    c.phase = Conn::Phase::kReading;
    Status st = loop_.Modify(*c.watch, EPOLLIN);
    if (!st.ok()) {
      Finish(id, st, PollResult::kRefused);
      return;
    }
    return;
  }
  if (c.phase != Conn::Phase::kReading) return;
  char buf[16384];
  // Drain what is there: a slow reader makes cgminer drop the rest of its
  // reply (docs/protocols.md §2.1).
  for (int i = 0; i < 64; ++i) {
    const ssize_t n = recv(c.fd, buf, sizeof(buf), 0);
    if (n > 0) {
      if (!c.got_bytes) {
        c.got_bytes = true;
        ArmTimer(c);
      }
      if (c.in.size() + static_cast<size_t>(n) > c.ex.max_response_bytes) {
        Finish(id,
               ResourceExhaustedError("reply over " +
                                      std::to_string(c.ex.max_response_bytes) +
                                      " bytes"),
               PollResult::kParseError);
        return;
      }
      c.in.append(buf, static_cast<size_t>(n));
      continue;
    }
    // cgminer accepts and closes at once when our address is not in
    // --api-allow (docs/protocols.md §2.1); with our request unread that close
    // may arrive as a reset.
    const bool closed = n == 0 || errno == ECONNRESET || errno == EPIPE;
    if (closed) {
      if (c.in.empty()) {
        Finish(id,
               PermissionDeniedError(
                   "connection closed with 0 bytes (IP not allowed?)"),
               PollResult::kDenied);
      } else if (n == 0) {
        Finish(id, Status::Ok(), PollResult::kOk);
      } else {
        // A reset after part of a reply: hand over what came, marked
        // failed; the parser would see a truncated reply anyway.
        Finish(id, ErrnoToStatus(errno, "recv"), PollResult::kRefused);
      }
      return;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) return;
    if (errno == EINTR) continue;
    const int err = errno;
    Finish(id, ErrnoToStatus(err, "recv"), ClassOfErrno(err));
    return;
  }
}

void TcpClient::Close(Conn& c) {
  if (c.timer) loop_.CancelTimer(*c.timer);
  c.timer.reset();
  if (c.watch) loop_.Remove(*c.watch);
  c.watch.reset();
  if (c.fd >= 0) close(c.fd);
  c.fd = -1;
}

void TcpClient::Finish(ExchangeId id, Status st, PollResult cls) {
  auto it = conns_.find(id);
  if (it == conns_.end()) return;
  std::unique_ptr<Conn> c = std::move(it->second);
  conns_.erase(it);
  Close(*c);
  ExchangeResult r;
  r.result = st.ok() ? PollResult::kOk : cls;
  r.response.transport = std::move(st);
  r.response.body = std::move(c->in);
  r.response.request_sent =
      c->phase == Conn::Phase::kReading;  // the whole payload went out
  complete_(id, std::move(r));
}

void TcpClient::Abort(ExchangeId id) {
  auto it = conns_.find(id);
  if (it == conns_.end()) return;
  Close(*it->second);
  conns_.erase(it);
}

}  // namespace rigwatch
