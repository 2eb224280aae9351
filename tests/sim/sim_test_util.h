// Raw-socket clients for the simulator tests: every call is bounded by a
// deadline (poll), none sleeps.
#ifndef RIGWATCH_TESTS_SIM_SIM_TEST_UTIL_H_
#define RIGWATCH_TESTS_SIM_SIM_TEST_UTIL_H_

#include <chrono>
#include <string>
#include <string_view>

#include "agent/common/status.h"

namespace rigwatch::sim::testing {

using std::chrono::milliseconds;

// Connects to "ip:port". Unavailable with the errno text when refused.
Result<int> Connect(std::string_view address, milliseconds timeout);
// Writes all of `data` (one write for small payloads).
Status SendAll(int fd, std::string_view data);
// Reads until EOF or `timeout`. DeadlineExceeded keeps what was read in
// *partial; a reset returns Unavailable (partial kept too).
Result<std::string> ReadToEof(int fd, milliseconds timeout,
                              std::string* partial = nullptr);
// Reads whatever arrives within `timeout` (at most one read; a socket or a
// pipe). An empty string means EOF.
Result<std::string> ReadSome(int fd, milliseconds timeout);

// One cgminer exchange: connect, one write, read to EOF.
Result<std::string> Cgminer(std::string_view address, std::string_view req,
                            milliseconds timeout = milliseconds(3000));

struct HttpReply {
  int status = 0;
  std::string head;  // status line + headers
  std::string body;  // de-chunked when chunked
  bool chunked = false;
  bool server_closed = false;  // EOF seen after the reply
};
// Reads one HTTP reply from `fd` (Content-Length, chunked or to EOF).
Result<HttpReply> ReadHttpReply(int fd, milliseconds timeout);
// One request on a fresh connection (HTTP/1.1, no Origin header).
Result<HttpReply> Http(std::string_view address, std::string_view method,
                       std::string_view target, std::string_view body = "",
                       milliseconds timeout = milliseconds(3000));

}  // namespace rigwatch::sim::testing

#endif  // RIGWATCH_TESTS_SIM_SIM_TEST_UTIL_H_
