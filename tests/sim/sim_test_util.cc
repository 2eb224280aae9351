#include "tests/sim/sim_test_util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

namespace rigwatch::sim::testing {
namespace {

using Steady = std::chrono::steady_clock;

int Remaining(Steady::time_point deadline) {
  const auto ms =
      std::chrono::duration_cast<milliseconds>(deadline - Steady::now())
          .count();
  return ms < 0 ? 0 : static_cast<int>(ms);
}

}  // namespace

Result<int> Connect(std::string_view address, milliseconds timeout) {
  const size_t colon = address.rfind(':');
  const std::string ip(address.substr(0, colon));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(
      std::atoi(std::string(address.substr(colon + 1)).c_str())));
  if (inet_pton(AF_INET, ip.c_str(), &a.sin_addr) != 1) {
    return InvalidArgumentError("bad address " + std::string(address));
  }
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return ErrnoToStatus(errno, "socket");
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 &&
      errno != EINPROGRESS) {
    const int err = errno;
    close(fd);
    return Status(StatusCode::kUnavailable,
                  ErrnoToStatus(err, "connect").message());
  }
  pollfd p{fd, POLLOUT, 0};
  if (poll(&p, 1, static_cast<int>(timeout.count())) != 1) {
    close(fd);
    return DeadlineExceededError("connect timeout");
  }
  int err = 0;
  socklen_t len = sizeof err;
  getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
  if (err != 0) {
    close(fd);
    return Status(StatusCode::kUnavailable,
                  ErrnoToStatus(err, "connect").message());
  }
  return fd;
}

Status SendAll(int fd, std::string_view data) {
  while (!data.empty()) {
    pollfd p{fd, POLLOUT, 0};
    if (poll(&p, 1, 3000) != 1) return DeadlineExceededError("send timeout");
    const ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      return ErrnoToStatus(errno, "send");
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

Result<std::string> ReadToEof(int fd, milliseconds timeout,
                              std::string* partial) {
  const auto deadline = Steady::now() + timeout;
  std::string out;
  char buf[65536];
  while (true) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, Remaining(deadline)) != 1) {
      if (partial) *partial = out;
      return DeadlineExceededError("no EOF after " +
                                   std::to_string(out.size()) + " bytes");
    }
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n == 0) return out;
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      if (partial) *partial = out;
      return Status(StatusCode::kUnavailable,
                    ErrnoToStatus(errno, "recv").message());
    }
    out.append(buf, static_cast<size_t>(n));
  }
}

Result<std::string> ReadSome(int fd, milliseconds timeout) {
  pollfd p{fd, POLLIN, 0};
  if (poll(&p, 1, static_cast<int>(timeout.count())) != 1) {
    return DeadlineExceededError("nothing to read");
  }
  char buf[65536];
  const ssize_t n = read(fd, buf, sizeof buf);  // sockets and pipes
  if (n < 0) return ErrnoToStatus(errno, "read");
  return std::string(buf, static_cast<size_t>(n));
}

Result<std::string> Cgminer(std::string_view address, std::string_view req,
                            milliseconds timeout) {
  RW_ASSIGN_OR_RETURN(int fd, Connect(address, timeout));
  Status st = SendAll(fd, req);
  if (!st.ok()) {
    close(fd);
    return st;
  }
  Result<std::string> r = ReadToEof(fd, timeout);
  close(fd);
  return r;
}

Result<HttpReply> ReadHttpReply(int fd, milliseconds timeout) {
  const auto deadline = Steady::now() + timeout;
  std::string buf;
  HttpReply r;
  auto fill = [&]() -> Status {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, Remaining(deadline)) != 1) {
      return DeadlineExceededError("http read timeout");
    }
    char tmp[65536];
    const ssize_t n = recv(fd, tmp, sizeof tmp, 0);
    if (n < 0) return ErrnoToStatus(errno, "recv");
    if (n == 0) {
      r.server_closed = true;
      return UnavailableError("EOF");
    }
    buf.append(tmp, static_cast<size_t>(n));
    return Status::Ok();
  };
  size_t end;
  while ((end = buf.find("\r\n\r\n")) == std::string::npos) {
    RW_RETURN_IF_ERROR(fill());
  }
  r.head = buf.substr(0, end + 2);
  buf.erase(0, end + 4);
  r.status = std::atoi(r.head.c_str() + 9);
  r.chunked = r.head.find("Transfer-Encoding: chunked") != std::string::npos;
  const size_t cl = r.head.find("Content-Length: ");
  if (r.chunked) {
    while (true) {
      size_t eol;
      while ((eol = buf.find("\r\n")) == std::string::npos) {
        RW_RETURN_IF_ERROR(fill());
      }
      const size_t n = std::strtoul(buf.c_str(), nullptr, 16);
      while (buf.size() < eol + 2 + n + 2) RW_RETURN_IF_ERROR(fill());
      r.body.append(buf, eol + 2, n);
      buf.erase(0, eol + 2 + n + 2);
      if (n == 0) break;
    }
  } else if (cl != std::string::npos) {
    const size_t n = std::strtoul(r.head.c_str() + cl + 16, nullptr, 10);
    while (buf.size() < n) RW_RETURN_IF_ERROR(fill());
    r.body = buf.substr(0, n);
  } else {
    while (fill().ok()) {
    }
    r.body = buf;
  }
  if (!r.server_closed) {
    // Closed right after the reply? Poll briefly for EOF.
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 0) == 1) {
      char c;
      r.server_closed = recv(fd, &c, 1, MSG_PEEK) == 0;
    }
  }
  return r;
}

Result<HttpReply> Http(std::string_view address, std::string_view method,
                       std::string_view target, std::string_view body,
                       milliseconds timeout) {
  RW_ASSIGN_OR_RETURN(int fd, Connect(address, timeout));
  std::string req = std::string(method) + " " + std::string(target) +
                    " HTTP/1.1\r\nHost: " + std::string(address) +
                    "\r\nContent-Length: " + std::to_string(body.size()) +
                    "\r\n\r\n" + std::string(body);
  Status st = SendAll(fd, req);
  if (!st.ok()) {
    close(fd);
    return st;
  }
  Result<HttpReply> r = ReadHttpReply(fd, timeout);
  close(fd);
  return r;
}

}  // namespace rigwatch::sim::testing
