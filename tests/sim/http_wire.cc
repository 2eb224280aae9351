#include "tests/sim/http_wire.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>

namespace rigwatch::sim {
namespace {

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

}  // namespace

ParseState ParseHttpRequest(std::string& buf, HttpRequest* req,
                            size_t max_body) {
  const size_t end = buf.find("\r\n\r\n");
  if (end == std::string::npos) {
    return buf.size() > 16384 ? ParseState::kBad : ParseState::kNeedMore;
  }
  std::string_view head(buf.data(), end);
  const size_t eol = head.find("\r\n");
  std::string_view line = head.substr(0, eol);
  const size_t sp1 = line.find(' ');
  const size_t sp2 = line.rfind(' ');
  if (sp1 == std::string_view::npos || sp2 == sp1) return ParseState::kBad;
  std::string_view version = line.substr(sp2 + 1);
  if (version.substr(0, 5) != "HTTP/") return ParseState::kBad;
  req->method = std::string(line.substr(0, sp1));
  req->target = std::string(line.substr(sp1 + 1, sp2 - sp1 - 1));
  req->keep_alive = version == "HTTP/1.1";
  size_t content_length = 0;
  size_t pos = eol == std::string_view::npos ? head.size() : eol + 2;
  while (pos < head.size()) {
    size_t next = head.find("\r\n", pos);
    if (next == std::string_view::npos) next = head.size();
    std::string_view h = head.substr(pos, next - pos);
    pos = next + 2;
    const size_t colon = h.find(':');
    if (colon == std::string_view::npos) return ParseState::kBad;
    std::string_view name = Trim(h.substr(0, colon));
    std::string_view value = Trim(h.substr(colon + 1));
    if (IEquals(name, "Content-Length")) {
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(),
                                     content_length);
      if (ec != std::errc() || p != value.data() + value.size()) {
        return ParseState::kBad;
      }
    } else if (IEquals(name, "Transfer-Encoding")) {
      return ParseState::kBad;
    } else if (IEquals(name, "Authorization")) {
      req->authorization = std::string(value);
    } else if (IEquals(name, "Connection")) {
      if (IEquals(value, "close")) req->keep_alive = false;
      if (IEquals(value, "keep-alive")) req->keep_alive = true;
    }
  }
  if (content_length > max_body) return ParseState::kBad;
  const size_t total = end + 4 + content_length;
  if (buf.size() < total) return ParseState::kNeedMore;
  req->body.assign(buf, end + 4, content_length);
  buf.erase(0, total);
  return ParseState::kComplete;
}

std::string_view HttpReason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 409:
      return "Conflict";
    case 500:
      return "Internal Server Error";
    default:
      return "Unknown";
  }
}

std::string HttpHead(int status, std::string_view content_type,
                     size_t content_length, bool close) {
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "HTTP/1.1 %d %.*s\r\nContent-Type: %.*s\r\n"
                "Content-Length: %zu\r\n%s\r\n",
                status, static_cast<int>(HttpReason(status).size()),
                HttpReason(status).data(),
                static_cast<int>(content_type.size()), content_type.data(),
                content_length, close ? "Connection: close\r\n" : "");
  return buf;
}

std::string HttpChunkedHead(int status, std::string_view content_type) {
  std::string h = "HTTP/1.1 " + std::to_string(status) + " " +
                  std::string(HttpReason(status)) + "\r\nContent-Type: ";
  h += content_type;
  h += "\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n";
  return h;
}

std::string Chunked(std::string_view body, size_t chunk) {
  std::string out;
  out.reserve(body.size() + body.size() / chunk * 8 + 16);
  char len[24];
  for (size_t off = 0; off < body.size(); off += chunk) {
    const size_t n = std::min(chunk, body.size() - off);
    std::snprintf(len, sizeof len, "%zx\r\n", n);
    out += len;
    out.append(body, off, n);
    out += "\r\n";
  }
  out += "0\r\n\r\n";
  return out;
}

}  // namespace rigwatch::sim
