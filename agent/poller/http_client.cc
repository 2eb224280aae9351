#include "agent/poller/http_client.h"

#include <curl/curl.h>
#include <sys/epoll.h>

#include <algorithm>
#include <cctype>
#include <string_view>

namespace rigwatch {

struct HttpClient::Shard {
  HttpClient* owner = nullptr;
  CURLM* multi = nullptr;
  size_t hosts = 0;
  std::unordered_map<int, EventLoop::WatchId> watches;  // curl's sockets
  std::optional<EventLoop::TimerId> timer;
};

struct HttpClient::Xfer {
  ExchangeId id = 0;
  Exchange ex;
  Shard* shard = nullptr;
  CURL* easy = nullptr;
  // Per-exchange headers (a token, a JSON body's type); null: Headers().
  curl_slist* headers = nullptr;
  std::string url;
  std::string body;
  // Of the last response (a Digest exchange sees two): the kind probe reads
  // them (exporters/probe.h).
  std::string www_authenticate;
  std::string location;
  bool over_cap = false;
  bool got_bytes = false;
  bool first_byte_timed_out = false;
  SteadyTime started;
  std::optional<EventLoop::TimerId> first_byte_timer;
};

struct HttpCallbacks {
  // The request headers of every exchange, built once: "Expect:" switches
  // libcurl's off, and the device may free its socket as soon as it answers.
  static curl_slist* Headers() {
    static curl_slist* const list = [] {
      curl_slist* l = curl_slist_append(nullptr, "Expect:");
      return curl_slist_append(l, "Connection: close");
    }();
    return list;
  }
  static int Socket(CURL* /*easy*/, curl_socket_t s, int what, void* userp,
                    void* /*socketp*/) {
    auto* sh = static_cast<HttpClient::Shard*>(userp);
    EventLoop& loop = sh->owner->loop_;
    auto it = sh->watches.find(s);
    if (what == CURL_POLL_REMOVE) {
      if (it != sh->watches.end()) {
        loop.Remove(it->second);
        sh->watches.erase(it);
      }
      return 0;
    }
    uint32_t ev = 0;
    if (what == CURL_POLL_IN || what == CURL_POLL_INOUT) ev |= EPOLLIN;
    if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT) ev |= EPOLLOUT;
    if (it != sh->watches.end()) {
      if (!loop.Modify(it->second, ev).ok()) return -1;
      return 0;
    }
    HttpClient* owner = sh->owner;
    auto w = loop.Add(s, ev, [owner, sh, s](uint32_t e) {
      int mask = 0;
      if (e & EPOLLIN) mask |= CURL_CSELECT_IN;
      if (e & EPOLLOUT) mask |= CURL_CSELECT_OUT;
      if (e & (EPOLLERR | EPOLLHUP)) mask |= CURL_CSELECT_ERR;
      owner->Action(*sh, s, mask);
    });
    if (!w.ok()) return -1;
    sh->watches.emplace(s, *w);
    return 0;
  }

  static int Timer(CURLM* /*multi*/, long timeout_ms, void* userp) {
    auto* sh = static_cast<HttpClient::Shard*>(userp);
    EventLoop& loop = sh->owner->loop_;
    if (sh->timer) loop.CancelTimer(*sh->timer);
    sh->timer.reset();
    if (timeout_ms < 0) return 0;
    HttpClient* owner = sh->owner;
    // Never call curl_multi_socket_action from inside this callback: run
    // it from the loop, even for a zero timeout.
    sh->timer = loop.AddTimer(std::chrono::steady_clock::now() +
                                  std::chrono::milliseconds(timeout_ms),
                              [owner, sh] {
                                sh->timer.reset();
                                owner->Action(*sh, CURL_SOCKET_TIMEOUT, 0);
                              });
    return 0;
  }

  static size_t Write(char* ptr, size_t size, size_t n, void* userp) {
    auto* x = static_cast<HttpClient::Xfer*>(userp);
    const size_t len = size * n;
    x->got_bytes = true;
    if (x->body.size() + len > x->ex.max_response_bytes) {
      x->over_cap = true;
      return 0;  // makes libcurl stop with CURLE_WRITE_ERROR
    }
    x->body.append(ptr, len);
    return len;
  }

  static size_t Header(char* ptr, size_t size, size_t n, void* userp) {
    auto* x = static_cast<HttpClient::Xfer*>(userp);
    x->got_bytes = true;
    const std::string_view line(ptr, size * n);
    if (line.rfind("HTTP/", 0) == 0) {  // a new response's status line
      x->www_authenticate.clear();
      x->location.clear();
    } else if (std::string* keep = HeaderToKeep(line, *x)) {
      const size_t colon = line.find(':');
      std::string_view v = line.substr(colon + 1);
      while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) {
        v.remove_prefix(1);
      }
      while (!v.empty() &&
             (v.back() == '\r' || v.back() == '\n' || v.back() == ' ')) {
        v.remove_suffix(1);
      }
      keep->assign(v.substr(0, kMaxKeptHeaderBytes));
    }
    return size * n;
  }

 private:
  static constexpr size_t kMaxKeptHeaderBytes = 512;
  // The member for a header the probe reads, matched case-insensitively.
  static std::string* HeaderToKeep(std::string_view line, HttpClient::Xfer& x) {
    auto starts = [&](std::string_view name) {
      if (line.size() <= name.size() || line[name.size()] != ':') return false;
      for (size_t i = 0; i < name.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(line[i])) != name[i]) {
          return false;
        }
      }
      return true;
    };
    if (starts("www-authenticate")) return &x.www_authenticate;
    if (starts("location")) return &x.location;
    return nullptr;
  }
};

namespace {

// CURLcode mapped once, here (transport.h).
PollResult ClassOfCurlCode(CURLcode c) {
  switch (c) {
    case CURLE_OK:
      return PollResult::kOk;
    case CURLE_OPERATION_TIMEDOUT:
      return PollResult::kTimeout;
    case CURLE_COULDNT_RESOLVE_HOST:
      return PollResult::kDns;
    case CURLE_COULDNT_CONNECT:
    case CURLE_GOT_NOTHING:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
      return PollResult::kRefused;
    case CURLE_WRITE_ERROR:
    case CURLE_FILESIZE_EXCEEDED:
    case CURLE_PARTIAL_FILE:
    case CURLE_BAD_CONTENT_ENCODING:
      return PollResult::kParseError;
    default:
      return PollResult::kHttpError;
  }
}

StatusCode CodeOfClass(PollResult r) {
  switch (r) {
    case PollResult::kTimeout:
      return StatusCode::kDeadlineExceeded;
    case PollResult::kDns:
      return StatusCode::kNotFound;
    case PollResult::kParseError:
      return StatusCode::kDataLoss;
    default:
      return StatusCode::kUnavailable;
  }
}

long Ms(Duration d) {
  return static_cast<long>(std::max<int64_t>(
      1, std::chrono::duration_cast<std::chrono::milliseconds>(d).count()));
}

}  // namespace

HttpClient::HttpClient(EventLoop& loop, size_t max_hosts_per_multi,
                       CompleteFn complete)
    : loop_(loop),
      max_hosts_(std::max<size_t>(1, max_hosts_per_multi)),
      complete_(std::move(complete)) {}

HttpClient::~HttpClient() {
  std::vector<ExchangeId> ids;
  for (auto& [id, x] : xfers_) ids.push_back(id);
  for (ExchangeId id : ids) Release(id);
  for (auto& sh : shards_) {
    curl_multi_cleanup(sh->multi);  // closes cached connections
    for (auto& [fd, w] : sh->watches) loop_.Remove(w);
    if (sh->timer) loop_.CancelTimer(*sh->timer);
  }
}

HttpClient::Shard& HttpClient::ShardFor(const std::string& key) {
  auto it = shard_of_.find(key);
  if (it != shard_of_.end()) return *shards_[it->second];
  size_t best = shards_.size();
  for (size_t i = 0; i < shards_.size(); ++i) {
    if (shards_[i]->hosts < max_hosts_ &&
        (best == shards_.size() || shards_[i]->hosts < shards_[best]->hosts)) {
      best = i;
    }
  }
  if (best == shards_.size()) {
    auto sh = std::make_unique<Shard>();
    sh->owner = this;
    sh->multi = curl_multi_init();
    curl_multi_setopt(sh->multi, CURLMOPT_SOCKETFUNCTION,
                      &HttpCallbacks::Socket);
    curl_multi_setopt(sh->multi, CURLMOPT_SOCKETDATA, sh.get());
    curl_multi_setopt(sh->multi, CURLMOPT_TIMERFUNCTION, &HttpCallbacks::Timer);
    curl_multi_setopt(sh->multi, CURLMOPT_TIMERDATA, sh.get());
    // One connection per device (ESP32 sockets are scarce,
    // docs/protocols.md §1.1). Connections are closed after each exchange
    // (Start), so the cache holds none.
    curl_multi_setopt(sh->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 1L);
    shards_.push_back(std::move(sh));
  }
  shards_[best]->hosts++;
  shard_of_[key] = best;
  return *shards_[best];
}

void HttpClient::Forget(const std::string& key) {
  auto it = shard_of_.find(key);
  if (it == shard_of_.end()) return;
  shards_[it->second]->hosts--;
  shard_of_.erase(it);
}

void HttpClient::Start(ExchangeId id, Exchange ex) {
  auto xp = std::make_unique<Xfer>();
  Xfer& x = *xp;
  x.id = id;
  x.ex = std::move(ex);
  x.started = std::chrono::steady_clock::now();
  x.shard = &ShardFor(x.ex.conn_key);
  xfers_.emplace(id, std::move(xp));

  const Duration left = x.ex.deadline - x.started;
  if (left <= Duration(0)) {
    FailEarly(x, DeadlineExceededError("timed out before the request"),
              PollResult::kTimeout);
    return;
  }
  x.url = "http://" + FormatHostPort(x.ex.host, x.ex.port) + x.ex.request.path;
  CURL* e = curl_easy_init();
  if (e == nullptr) {
    FailEarly(x, ResourceExhaustedError("curl_easy_init failed"),
              PollResult::kRefused);
    return;
  }
  x.easy = e;
  curl_easy_setopt(e, CURLOPT_URL, x.url.c_str());
  curl_easy_setopt(e, CURLOPT_PRIVATE, &x);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http");
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
  // Names are re-resolved each time (DHCP leases move miners), and the
  // DNS cache's cost grows with hosts per multi (docs/architecture.md
  // "Transports").
  curl_easy_setopt(e, CURLOPT_DNS_CACHE_TIMEOUT, 0L);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, Ms(left));
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                   Ms(std::min(left, x.ex.connect_timeout)));
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &HttpCallbacks::Write);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &x);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &HttpCallbacks::Header);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, &x);
  // libcurl's default 16 KB receive buffer, held by every exchange in
  // flight (thousands when miners black-hole), for replies of 1-5 KB.
  curl_easy_setopt(e, CURLOPT_BUFFERSIZE, 4096L);
  curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE,
                   static_cast<curl_off_t>(x.ex.max_response_bytes));
  // No Origin header, ever: AxeOS rejects non-private Origin hosts
  // (docs/protocols.md §1.1). libcurl sends none; "Expect:" is switched off.
  const std::string& token = x.ex.request.authorization;
  // A CR or LF would split the header: such a token is not sent.
  const bool send_token =
      !token.empty() && token.find_first_of("\r\n") == std::string::npos;
  const bool json_body =
      !x.ex.request.payload.empty() && x.ex.request.payload.front() == '{';
  if (send_token || json_body) {
    // A token from a login reply (Vnish, Braiins REST), and the type of a
    // JSON login body: the shared list plus these, owned by the transfer.
    x.headers = curl_slist_append(nullptr, "Expect:");
    x.headers = curl_slist_append(x.headers, "Connection: close");
    if (json_body) {
      x.headers =
          curl_slist_append(x.headers, "Content-Type: application/json");
    }
    if (send_token) {
      x.headers =
          curl_slist_append(x.headers, ("Authorization: " + token).c_str());
    }
  }
  curl_easy_setopt(e, CURLOPT_HTTPHEADER,
                   x.headers != nullptr ? x.headers : HttpCallbacks::Headers());
  if (!x.ex.username.empty()) {
    // HTTP Digest (the Antminer CGI, docs/protocols.md §6.5): libcurl sends
    // the request bare, answers the 401 challenge and resends once.
    curl_easy_setopt(e, CURLOPT_HTTPAUTH, CURLAUTH_DIGEST);
    curl_easy_setopt(e, CURLOPT_USERNAME, x.ex.username.c_str());
    curl_easy_setopt(e, CURLOPT_PASSWORD, x.ex.password.c_str());
  }
  const std::string& m = x.ex.request.method;
  if (m == "POST") {
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE,
                     static_cast<long>(x.ex.request.payload.size()));
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, x.ex.request.payload.c_str());
  } else if (m.empty() || m == "GET") {
    curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
  } else {
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, m.c_str());
  }
  // No connection is kept between exchanges. An idle keep-alive socket
  // holds one of the device's 7-20 sockets (AxeOS v2.4.2-v2.9 never purge
  // them, docs/protocols.md §1.1), may be closed by the device at any moment
  // (v2.10+), and costs the agent a cached connection per miner; polls are
  // seconds apart, so reuse saves nothing worth that.
  curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
  if (x.ex.fresh_connection) curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
  // libcurl has no first-byte timeout of its own.
  if (x.ex.first_byte_timeout < left) {
    x.first_byte_timer =
        loop_.AddTimer(x.started + x.ex.first_byte_timeout, [this, id] {
          auto it = xfers_.find(id);
          if (it == xfers_.end()) return;
          Xfer& xf = *it->second;
          xf.first_byte_timer.reset();
          if (xf.got_bytes) return;
          xf.first_byte_timed_out = true;
          FailEarly(xf,
                    DeadlineExceededError(
                        "no reply within " +
                        std::to_string(Ms(xf.ex.first_byte_timeout)) + "ms"),
                    PollResult::kTimeout);
        });
  }
  const CURLMcode mc = curl_multi_add_handle(x.shard->multi, e);
  if (mc != CURLM_OK) {
    FailEarly(x,
              InternalError(std::string("curl_multi_add_handle: ") +
                            curl_multi_strerror(mc)),
              PollResult::kRefused);
  }
}

void HttpClient::Action(Shard& sh, int fd, int mask) {
  int running = 0;
  curl_multi_socket_action(sh.multi, fd, mask, &running);
  Drain(sh);
}

void HttpClient::Drain(Shard& sh) {
  int left = 0;
  while (CURLMsg* msg = curl_multi_info_read(sh.multi, &left)) {
    if (msg->msg != CURLMSG_DONE) continue;
    Xfer* x = nullptr;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &x);
    const CURLcode code = msg->data.result;
    if (x != nullptr) Finish(*x, code);
  }
}

void HttpClient::Finish(Xfer& x, int curl_code) {
  const auto code = static_cast<CURLcode>(curl_code);
  ExchangeResult r;
  long http = 0;
  curl_easy_getinfo(x.easy, CURLINFO_RESPONSE_CODE, &http);
  long req_size = 0;
  curl_easy_getinfo(x.easy, CURLINFO_REQUEST_SIZE, &req_size);
  r.response.http_status = static_cast<int>(http);
  r.response.request_sent = req_size > 0;
  if (code == CURLE_OK) {
    r.result = PollResult::kOk;
  } else if (x.over_cap || code == CURLE_FILESIZE_EXCEEDED) {
    r.result = PollResult::kParseError;
    r.response.transport = ResourceExhaustedError(
        "reply over " + std::to_string(x.ex.max_response_bytes) + " bytes");
  } else {
    r.result = ClassOfCurlCode(code);
    r.response.transport =
        Status(CodeOfClass(r.result),
               std::string(curl_easy_strerror(code)) + " (curl " +
                   std::to_string(static_cast<int>(code)) + ")");
  }
  r.response.body = std::move(x.body);
  r.response.www_authenticate = std::move(x.www_authenticate);
  r.response.location = std::move(x.location);
  const ExchangeId id = x.id;
  Release(id);
  complete_(id, std::move(r));
}

void HttpClient::FailEarly(Xfer& x, Status st, PollResult cls) {
  ExchangeResult r;
  r.result = cls;
  r.response.transport = std::move(st);
  r.response.body = std::move(x.body);
  const ExchangeId id = x.id;
  Release(id);
  complete_(id, std::move(r));
}

void HttpClient::Release(ExchangeId id) {
  auto it = xfers_.find(id);
  if (it == xfers_.end()) return;
  Xfer& x = *it->second;
  if (x.first_byte_timer) loop_.CancelTimer(*x.first_byte_timer);
  if (x.easy != nullptr) {
    curl_multi_remove_handle(x.shard->multi, x.easy);
    curl_easy_cleanup(x.easy);
  }
  if (x.headers != nullptr) curl_slist_free_all(x.headers);
  xfers_.erase(it);
}

void HttpClient::Abort(ExchangeId id) { Release(id); }

}  // namespace rigwatch
