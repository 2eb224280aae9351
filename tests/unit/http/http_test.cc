// The HTTP server on a real loopback socket (port 0).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "agent/http/server.h"
#include "tests/support/wait.h"

namespace rigwatch {
namespace {

// A connected loopback socket; `rcvbuf` > 0 shrinks its receive buffer.
int Connect(int port, int rcvbuf = 0) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (rcvbuf > 0) {
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  }
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  return fd;
}

// A test-only raw HTTP/1.0-style client: sends `raw`, reads to EOF.
std::string Exchange(int port, const std::string& raw) {
  int fd = Connect(port);
  timeval tv{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  send(fd, raw.data(), raw.size(), MSG_NOSIGNAL);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = recv(fd, buf, sizeof buf, 0)) > 0) out.append(buf, n);
  close(fd);
  return out;
}

std::string Get(int port, const std::string& path,
                const std::string& extra = "") {
  return Exchange(port, "GET " + path +
                            " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" +
                            extra + "\r\n");
}

std::string Body(const std::string& resp) {
  size_t p = resp.find("\r\n\r\n");
  return p == std::string::npos ? "" : resp.substr(p + 4);
}

std::string Gunzip(const std::string& in) {
  z_stream zs{};
  inflateInit2(&zs, 15 + 16);
  std::string out(1 << 20, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  inflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  inflateEnd(&zs);
  return out;
}

class HttpServerTest : public ::testing::Test {
 protected:
  void StartWith(HttpServerOptions o) {
    o.listen = "127.0.0.1:0";
    server_ = std::make_unique<HttpServer>(o);
    server_->Handle("/hello", [](const HttpRequest& r) {
      HttpResponse resp =
          HttpResponse::Text(200, "hello " + r.Param("who").value_or("?"));
      return resp;
    });
    server_->Handle("/big", [](const HttpRequest&) {
      HttpResponse r = HttpResponse::Text(200, std::string(100000, 'm'));
      r.gzip_ok = true;
      return r;
    });
    server_->Handle("/api/v1/", [](const HttpRequest& r) {
      return HttpResponse::Json(200, "{\"path\":\"" + r.path + "\"}");
    });
    server_->Handle("/stream", [](const HttpRequest&) {
      HttpResponse r;
      auto i = std::make_shared<int>(0);
      r.stream = [i](std::string& out) {
        out += "row" + std::to_string((*i)++) + "\n";
        return *i < 3;
      };
      return r;
    });
    ASSERT_TRUE(server_->Start().ok());
    port_ = server_->BoundPort();
    ASSERT_GT(port_, 0);
  }
  std::unique_ptr<HttpServer> server_;
  int port_ = 0;
};

TEST_F(HttpServerTest, RoutesAndParams) {
  StartWith({});
  std::string r = Get(port_, "/hello?who=rig%201");
  EXPECT_NE(r.find("HTTP/1.1 200"), std::string::npos);
  EXPECT_EQ(Body(r), "hello rig 1");
  EXPECT_NE(Get(port_, "/nope").find("HTTP/1.1 404"), std::string::npos);
  EXPECT_EQ(Body(Get(port_, "/api/v1/alerts")),
            "{\"path\":\"/api/v1/alerts\"}");
}

TEST_F(HttpServerTest, GzipOnlyWhenAsked) {
  StartWith({});
  std::string plain = Get(port_, "/big");
  EXPECT_EQ(plain.find("Content-Encoding: gzip"), std::string::npos);
  EXPECT_EQ(Body(plain).size(), 100000u);
  std::string z = Get(port_, "/big", "Accept-Encoding: gzip\r\n");
  EXPECT_NE(z.find("Content-Encoding: gzip"), std::string::npos);
  EXPECT_LT(Body(z).size(), 1000u);
  EXPECT_EQ(Gunzip(Body(z)), std::string(100000, 'm'));
}

TEST_F(HttpServerTest, StreamsChunked) {
  StartWith({});
  std::string r = Get(port_, "/stream");
  EXPECT_NE(r.find("Transfer-Encoding: chunked"), std::string::npos);
  // One turn of the producer makes one chunk.
  EXPECT_EQ(Body(r), "F\r\nrow0\nrow1\nrow2\n\r\n0\r\n\r\n");
}

TEST_F(HttpServerTest, BasicAuth) {
  HttpServerOptions o;
  // bcrypt of "s3cret" (cost 4), made with glibc crypt("$2b$04$...").
  o.auth.users = {
      {"prom", "$2b$04$abcdefghijklmnopqrstuuLZYjhNQAOdpbzt4WxWlUHjv1wsyH5DG"}};
  StartWith(o);
  EXPECT_NE(Get(port_, "/hello").find("HTTP/1.1 401"), std::string::npos);
  EXPECT_NE(Get(port_, "/hello").find("WWW-Authenticate: Basic"),
            std::string::npos);
  // "prom:wrong"
  EXPECT_NE(Get(port_, "/hello", "Authorization: Basic cHJvbTp3cm9uZw==\r\n")
                .find("HTTP/1.1 401"),
            std::string::npos);
  // "prom:s3cret", twice (the second hits the verified cache).
  for (int i = 0; i < 2; ++i) {
    EXPECT_NE(Get(port_, "/hello", "Authorization: Basic cHJvbTpzM2NyZXQ=\r\n")
                  .find("HTTP/1.1 200"),
              std::string::npos);
  }
}

TEST_F(HttpServerTest, CredentialCacheHoldsNoPlaintext) {
  HttpServerOptions o;
  o.auth.users = {
      {"prom", "$2b$04$abcdefghijklmnopqrstuuLZYjhNQAOdpbzt4WxWlUHjv1wsyH5DG"}};
  StartWith(o);
  EXPECT_TRUE(server_->auth().CredentialCacheForTest().empty());
  ASSERT_NE(Get(port_, "/hello", "Authorization: Basic cHJvbTpzM2NyZXQ=\r\n")
                .find("HTTP/1.1 200"),
            std::string::npos);
  std::vector<std::string> cache = server_->auth().CredentialCacheForTest();
  ASSERT_EQ(cache.size(), 1u);
  EXPECT_EQ(cache[0].size(), 32u);  // an HMAC-SHA256, nothing else
  EXPECT_EQ(cache[0].find("s3cret"), std::string::npos);
  // A wrong password for a cached user is a miss, checked by bcrypt again.
  EXPECT_NE(Get(port_, "/hello", "Authorization: Basic cHJvbTp3cm9uZw==\r\n")
                .find("HTTP/1.1 401"),
            std::string::npos);
  EXPECT_EQ(server_->auth().failures(), 1u);
  // A reload forgets what was verified.
  server_->auth().SetSettings(o.auth);
  EXPECT_TRUE(server_->auth().CredentialCacheForTest().empty());
}

TEST_F(HttpServerTest, FailedLoginsAreRateLimitedPerAddress) {
  HttpServerOptions o;
  o.auth.users = {
      {"prom", "$2b$04$abcdefghijklmnopqrstuuLZYjhNQAOdpbzt4WxWlUHjv1wsyH5DG"}};
  StartWith(o);
  const std::string wrong = "Authorization: Basic cHJvbTp3cm9uZw==\r\n";
  for (int i = 0; i < Authenticator::kFailuresPerWindow; ++i) {
    EXPECT_NE(Get(port_, "/hello", wrong).find("HTTP/1.1 401"),
              std::string::npos)
        << i;
  }
  std::string r = Get(port_, "/hello", wrong);
  EXPECT_NE(r.find("HTTP/1.1 429"), std::string::npos) << r;
  EXPECT_NE(r.find("Retry-After: 60"), std::string::npos) << r;
  // The right password too: a limited address gets no answer about any guess.
  EXPECT_NE(Get(port_, "/hello", "Authorization: Basic cHJvbTpzM2NyZXQ=\r\n")
                .find("HTTP/1.1 429"),
            std::string::npos);
  EXPECT_EQ(server_->auth().failures(),
            static_cast<uint64_t>(Authenticator::kFailuresPerWindow) + 2);
}

TEST_F(HttpServerTest, WrongMethodIs405WithAllow) {
  StartWith({});
  std::string r = Exchange(port_,
                           "PUT /hello HTTP/1.1\r\nHost: x\r\n"
                           "Content-Length: 0\r\nConnection: close\r\n\r\n");
  EXPECT_NE(r.find("HTTP/1.1 405"), std::string::npos) << r;
  EXPECT_NE(r.find("Allow: GET, HEAD"), std::string::npos) << r;
}

TEST_F(HttpServerTest, SlowClientsDoNotBlockOthers) {
  HttpServerOptions o;
  o.threads = 4;
  o.request_timeout = std::chrono::milliseconds(3000);
  StartWith(o);
  // Two clients send half a request and stall.
  int stalled[2];
  for (int& fd : stalled) {
    fd = Connect(port_);
    std::string half = "GET /hello HTTP/1.1\r\nHost: x\r\n";
    send(fd, half.data(), half.size(), MSG_NOSIGNAL);
  }
  auto t0 = std::chrono::steady_clock::now();
  std::string r = Get(port_, "/hello?who=fast");
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(Body(r), "hello fast");
  EXPECT_LT(took, std::chrono::milliseconds(1000));
  for (int fd : stalled) close(fd);
}

TEST_F(HttpServerTest, StreamStopsWhenTheClientGoesAway) {
  std::atomic<bool> stopped{false};
  std::atomic<int> writes{0};
  HttpServerOptions o;
  o.listen = "127.0.0.1:0";
  server_ = std::make_unique<HttpServer>(o);
  server_->Handle("/forever", [&](const HttpRequest&) {
    HttpResponse r;
    // Destroyed with the producer, which the server drops once the client
    // has gone.
    std::shared_ptr<void> on_drop(nullptr, [&](void*) { stopped = true; });
    r.stream = [&writes, on_drop](std::string& out) {
      out += std::string(16 * 1024, 'x');
      ++writes;
      return true;
    };
    return r;
  });
  ASSERT_TRUE(server_->Start().ok());
  int fd = Connect(server_->BoundPort());
  std::string req = "GET /forever HTTP/1.1\r\nHost: x\r\n\r\n";
  send(fd, req.data(), req.size(), MSG_NOSIGNAL);
  char buf[65536];
  size_t got = 0;
  while (got < (1u << 20)) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    ASSERT_GT(n, 0);
    got += static_cast<size_t>(n);
  }
  close(fd);
  // The producer is dropped, and never ran far ahead.
  EXPECT_TRUE(test_support::WaitFor([&] { return stopped.load(); },
                                    std::chrono::seconds(10)));
  EXPECT_LT(static_cast<size_t>(writes.load()) * 16 * 1024, got + (8u << 20));
}

TEST_F(HttpServerTest, StreamReaderThatStallsHoldsNoWorker) {
  HttpServerOptions o;
  o.threads = 1;
  o.listen = "127.0.0.1:0";
  server_ = std::make_unique<HttpServer>(o);
  std::atomic<int> turns{0};
  server_->Handle("/endless", [&](const HttpRequest&) {
    HttpResponse r;
    r.stream = [&turns](std::string& out) {
      out += std::string(16 * 1024, 'y');
      ++turns;
      return true;
    };
    return r;
  });
  server_->Handle("/hello", [](const HttpRequest&) {
    return HttpResponse::Text(200, "hello");
  });
  ASSERT_TRUE(server_->Start().ok());
  const int port = server_->BoundPort();
  // Three readers that never read, on the only worker's server.
  std::vector<int> stalled;
  for (int i = 0; i < 3; ++i) {
    int fd = Connect(port, 4096);
    std::string req = "GET /endless HTTP/1.1\r\nHost: x\r\n\r\n";
    send(fd, req.data(), req.size(), MSG_NOSIGNAL);
    stalled.push_back(fd);
  }
  // Their socket buffers fill and the producers stop being called.
  int last = -1;
  EXPECT_TRUE(test_support::WaitFor(
      [&] {
        int now = turns.load();
        bool still = now == last && now > 0;
        last = now;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        return still;
      },
      std::chrono::seconds(10)));
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(Body(Get(port, "/hello")), "hello");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(1));
  for (int fd : stalled) close(fd);
}

TEST_F(HttpServerTest, HandlerSeesItsDeadlineAndTheClientLeaving) {
  HttpServerOptions o;
  o.threads = 1;
  o.listen = "127.0.0.1:0";
  o.handler_timeout = std::chrono::milliseconds(500);
  server_ = std::make_unique<HttpServer>(o);
  std::atomic<int> gone{0};
  server_->Handle("/long", [&](const HttpRequest& req) {
    for (;;) {
      Status s = req.StillWanted();
      if (!s.ok()) {
        if (s.code() == StatusCode::kUnavailable) ++gone;
        return HttpResponse::Error(503, s.message());
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
  server_->Handle("/hello", [](const HttpRequest&) {
    return HttpResponse::Text(200, "hello");
  });
  ASSERT_TRUE(server_->Start().ok());
  const int port = server_->BoundPort();
  auto t0 = std::chrono::steady_clock::now();
  std::string r = Get(port, "/long");
  EXPECT_NE(r.find("HTTP/1.1 503"), std::string::npos) << r;
  EXPECT_NE(Body(r).find("longer than http.handler_timeout (500ms)"),
            std::string::npos)
      << r;
  EXPECT_GE(std::chrono::steady_clock::now() - t0,
            std::chrono::milliseconds(500));
  // A client that leaves frees the only worker long before the deadline.
  int fd = Connect(port);
  std::string req = "GET /long HTTP/1.1\r\nHost: x\r\n\r\n";
  send(fd, req.data(), req.size(), MSG_NOSIGNAL);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  close(fd);
  EXPECT_TRUE(test_support::WaitFor([&] { return gone.load() == 1; },
                                    std::chrono::milliseconds(400)));
  EXPECT_EQ(Body(Get(port, "/hello")), "hello");
}

TEST(HttpRequestTest, FormBodyFieldsAreParams) {
  HttpRequest r;
  r.method = "POST";
  r.query = "target=rig-1";
  r.body = "for=2h&csrf_token=a%2Bb";
  EXPECT_FALSE(r.Param("csrf_token").has_value());  // no form type
  r.headers = {{"content-type", "application/x-www-form-urlencoded"}};
  EXPECT_EQ(r.Param("csrf_token").value_or(""), "a+b");
  EXPECT_EQ(r.Param("target").value_or(""), "rig-1");
  EXPECT_EQ(r.AllParams().size(), 3u);
  r.headers = {
      {"Content-Type", "application/x-www-form-urlencoded; charset=UTF-8"}};
  EXPECT_EQ(r.Param("for").value_or(""), "2h");
  r.headers = {{"Content-Type", "application/x-www-form-urlencodedx"}};
  EXPECT_FALSE(r.Param("for").has_value());
  // A GET's body is never read as parameters.
  r.method = "GET";
  r.headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
  EXPECT_FALSE(r.Param("for").has_value());
}

TEST(HttpHelpersTest, Base64AndUrlDecode) {
  EXPECT_EQ(*Base64Decode("cHJvbTpzM2NyZXQ="), "prom:s3cret");
  EXPECT_EQ(Base64Encode("prom:s3cret"), "cHJvbTpzM2NyZXQ=");
  for (std::string s : {"", "a", "ab", "abc", "abcd", "\xff\x00\x10"}) {
    EXPECT_EQ(*Base64Decode(Base64Encode(s)), s);
  }
  EXPECT_FALSE(Base64Decode("!!").has_value());
  EXPECT_EQ(UrlDecode("a%20b+c%2"), "a b c%2");
  EXPECT_TRUE(AcceptsGzip("gzip, deflate"));
  EXPECT_FALSE(AcceptsGzip("identity"));
  EXPECT_FALSE(AcceptsGzip("gzip;q=0"));
}

}  // namespace
}  // namespace rigwatch
