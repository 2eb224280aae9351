// Minimal HTTP/1.1 server-side framing for the simulator: request parsing
// from a byte buffer and response heads in the ESP-IDF httpd style.
// Pure functions, thread-compatible.
#ifndef RIGWATCH_TESTS_SIM_HTTP_WIRE_H_
#define RIGWATCH_TESTS_SIM_HTTP_WIRE_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace rigwatch::sim {

struct HttpRequest {
  std::string method;
  std::string target;  // path and query as sent
  std::string body;
  std::string authorization;  // the Authorization header's value, if any
  bool keep_alive = true;     // HTTP/1.1 default; false on "Connection: close"
};

enum class ParseState { kComplete, kNeedMore, kBad };

// Parses one request from the front of `buf`; on kComplete the request's
// bytes are removed from `buf`. Bodies need Content-Length (chunked request
// bodies are kBad). Heads over 16 KiB or bodies over `max_body` are kBad.
ParseState ParseHttpRequest(std::string& buf, HttpRequest* req,
                            size_t max_body = 1 << 20);

// "HTTP/1.1 <status> <reason>\r\nContent-Type: ..\r\nContent-Length: N\r\n"
// [+ "Connection: close\r\n"] + "\r\n".
std::string HttpHead(int status, std::string_view content_type,
                     size_t content_length, bool close);
// Head for a chunked reply with Connection: close (NerdQAxe style).
std::string HttpChunkedHead(int status, std::string_view content_type);
// `body` split into chunks of `chunk` bytes, with the terminating 0 chunk.
std::string Chunked(std::string_view body, size_t chunk = 2048);
std::string_view HttpReason(int status);

}  // namespace rigwatch::sim

#endif  // RIGWATCH_TESTS_SIM_HTTP_WIRE_H_
