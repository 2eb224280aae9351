// `rigwatch health`: the checks a Docker HEALTHCHECK or a person runs.
#include <arpa/inet.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "agent/cli/cli.h"
#include "agent/common/curl.h"
#include "agent/config/config.h"

namespace rigwatch {
namespace {

size_t AppendReply(char* data, size_t size, size_t n, void* out) {
  auto* body = static_cast<std::string*>(out);
  if (body->size() + size * n > (1 << 20)) return 0;  // too large: abort
  body->append(data, size * n);
  return size * n;
}

Result<HttpReply> HttpsCall(const std::string& host, uint16_t port,
                            const std::string& method, const std::string& path,
                            const std::string& extra_headers,
                            std::chrono::seconds timeout,
                            const HttpTlsConfig& tls) {
  curl::EnsureGlobalInit();
  curl::Easy e(curl_easy_init());
  if (!e) return InternalError("curl_easy_init failed");
  const bool v6 = host.find(':') != std::string::npos;
  const std::string url = "https://" + (v6 ? "[" + host + "]" : host) + ":" +
                          std::to_string(port) + path;
  curl::Slist headers;
  size_t pos = 0;
  while (pos < extra_headers.size()) {
    size_t end = extra_headers.find("\r\n", pos);
    if (end == std::string::npos) end = extra_headers.size();
    if (end > pos) {
      headers.reset(curl_slist_append(
          headers.release(), extra_headers.substr(pos, end - pos).c_str()));
    }
    pos = end + 2;
  }
  HttpReply out;
  char errbuf[CURL_ERROR_SIZE] = {0};
  CURL* h = e.get();
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method.c_str());
  if (method == "HEAD") curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS,
                   static_cast<long>(timeout.count() * 1000));
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &AppendReply);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &out.body);
  // The agent at the configured address, not a name to check.
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
  if (tls.client_auth_type != TlsClientAuth::kNoClientCert) {
    curl_easy_setopt(h, CURLOPT_SSLCERT, tls.cert_file.c_str());
    curl_easy_setopt(h, CURLOPT_SSLKEY, tls.key_file.c_str());
  }
  CURLcode rc = curl_easy_perform(h);
  if (rc != CURLE_OK) return curl::ToStatus(rc, errbuf, url);
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  out.status = static_cast<int>(status);
  return out;
}

}  // namespace

Result<HttpReply> HttpCall(const std::string& host, uint16_t port,
                           const std::string& method, const std::string& path,
                           const std::string& extra_headers,
                           std::chrono::seconds timeout,
                           const HttpTlsConfig* tls) {
  if (tls != nullptr) {
    return HttpsCall(host, port, method, path, extra_headers, timeout, *tls);
  }
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  std::string port_s = std::to_string(port);
  int rc = getaddrinfo(host.c_str(), port_s.c_str(), &hints, &res);
  if (rc != 0) {
    return UnavailableError("resolve " + host + ": " + gai_strerror(rc));
  }
  int fd = ::socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    freeaddrinfo(res);
    return ErrnoToStatus(errno, "socket");
  }
  timeval tv{static_cast<time_t>(timeout.count()), 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  rc = ::connect(fd, res->ai_addr, res->ai_addrlen);
  freeaddrinfo(res);
  if (rc != 0) {
    Status s = ErrnoToStatus(errno, "connect " + host + ":" + port_s);
    ::close(fd);
    return s;
  }
  std::string req = method + " " + path + " HTTP/1.1\r\nHost: " + host +
                    "\r\nConnection: close\r\nContent-Length: 0\r\n" +
                    extra_headers + "\r\n";
  if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(req.size())) {
    Status s = ErrnoToStatus(errno, "send");
    ::close(fd);
    return s;
  }
  std::string reply;
  char buf[4096];
  ssize_t n;
  while (reply.size() < (1 << 20) && (n = ::recv(fd, buf, sizeof buf, 0)) > 0) {
    reply.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  if (reply.empty()) {
    return UnavailableError("no reply from " + host + ":" + port_s);
  }
  HttpReply out;
  if (std::sscanf(reply.c_str(), "HTTP/1.%*d %d", &out.status) != 1) {
    return UnavailableError("not an HTTP reply from " + host + ":" + port_s);
  }
  size_t body = reply.find("\r\n\r\n");
  if (body != std::string::npos) out.body = reply.substr(body + 4);
  return out;
}

bool RunHealthChecks(const std::string& config_path, bool web,
                     std::string* out) {
  bool all_ok = true;
  auto line = [&](bool ok, const std::string& check, const std::string& msg) {
    *out += ok ? "ok    " : "FAIL  ";
    *out += check;
    *out += ": ";
    *out += msg;
    *out += '\n';
    if (!ok) all_ok = false;
  };

  LoadOptions lo;
  lo.check_writable = false;  // reported as its own check below
  LoadResult lr = LoadConfig(config_path, lo);
  if (!lr.ok()) {
    std::string first = lr.errors.empty() ? "" : lr.errors[0].ToString();
    line(false, "config",
         std::to_string(lr.errors.size()) + " problem(s), first: " + first);
    return false;
  }
  const Config& c = *lr.config;
  line(true, "config", config_path + " parses");

  std::string dir = NearestExistingDir(c.storage.path);
  bool writable = ::access(dir.c_str(), W_OK | X_OK) == 0;
  line(writable, "data_dir",
       writable ? c.storage.path + " is writable"
                : c.storage.path + " is not writable (checked " + dir + ")");

  struct statvfs vfs;
  if (::statvfs(dir.c_str(), &vfs) != 0) {
    line(false, "disk_free", "statvfs " + dir + ": " + std::strerror(errno));
  } else {
    uint64_t avail = static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize;
    bool ok = avail >= c.storage.min_free_bytes;
    line(ok, "disk_free",
         std::to_string(avail / 1000000) + " MB free at " + dir +
             (ok ? " (floor " : " is below the floor of ") +
             std::to_string(c.storage.min_free_bytes / 1000000) + " MB" +
             (ok ? ")" : ""));
  }

  if (web) {
    Result<HostPort> hp = ParseHostPort(c.http.listen, 9842);
    if (!hp.ok()) {
      line(false, "web", hp.status().message());
    } else {
      std::string host = hp->host;
      if (host == "0.0.0.0" || host.empty()) host = "127.0.0.1";
      if (host == "::") host = "::1";
      Result<HttpReply> st = HttpCall(host, hp->port, "GET", "/healthz", "",
                                      std::chrono::seconds(3),
                                      c.http.tls ? &*c.http.tls : nullptr);
      if (!st.ok()) {
        line(false, "web", st.status().message());
      } else if (st->status == 200) {
        line(true, "web", "/healthz answered 200");
      } else if (st->status == 401) {
        // The agent is alive; it wants credentials this command does not have.
        line(true, "web", "/healthz answered 401 (basic auth enabled)");
      } else {
        // A 503 names the stuck loops ("stuck: rules"); say which.
        std::string why = st->body.substr(0, 200);
        while (!why.empty() && (why.back() == '\n' || why.back() == '\r')) {
          why.pop_back();
        }
        for (char& ch : why) {
          if (ch == '\n' || ch == '\r') ch = ' ';
        }
        line(false, "web",
             "/healthz answered " + std::to_string(st->status) +
                 (why.empty() ? "" : " (" + why + ")"));
      }
    }
  }
  return all_ok;
}

}  // namespace rigwatch
