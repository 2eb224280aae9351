#include "agent/http/backend.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>

#include "agent/common/log.h"

namespace rigwatch {
namespace {

// Event threads: each owns an epoll set and a share of the connections.
constexpr unsigned kEventThreads = 2;
// Per-connection memory pool: the request head (line and headers) must fit
// in it, with room for the response head; a larger head gets 431.
constexpr size_t kConnectionMemory = 64 * 1024;
// Connections open at once; more are accepted and closed at once. Bounded
// by the file descriptors the process may open, too.
constexpr unsigned kMaxConnections = 8192;
// A streamed body's producer gets its next turn once less than this is
// waiting to be sent; a turn produces about this much (or runs for at most
// kStreamTurnTime), so a slow reader has at most ~2 turns buffered and holds
// no worker while it reads.
constexpr size_t kStreamTurnBytes = 64 * 1024;
constexpr auto kStreamTurnTime = std::chrono::milliseconds(50);
// Bytes of an over-limit chunked body read (and dropped) to answer 413
// cleanly; past this the connection is closed without an answer.
constexpr size_t kMaxDiscard = 16u << 20;

void LogMhd(void*, const char* fmt, va_list ap) {
  char buf[512];
  vsnprintf(buf, sizeof buf, fmt, ap);
  std::string_view msg(buf);
  while (!msg.empty() && msg.back() == '\n') msg.remove_suffix(1);
  LogDebug("http_server_message").Kv("msg", msg);
}

std::string AddressText(const sockaddr* sa) {
  char buf[INET6_ADDRSTRLEN] = {0};
  if (sa == nullptr) return "";
  if (sa->sa_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(sa)->sin_addr, buf,
              sizeof buf);
  } else if (sa->sa_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr,
              buf, sizeof buf);
  }
  return buf;
}

MHD_Result AddHeader(void* cls, MHD_ValueKind, const char* key,
                     const char* value) {
  static_cast<HttpRequest*>(cls)->headers.emplace_back(key ? key : "",
                                                       value ? value : "");
  return MHD_YES;
}

// Binds "host:port" (host may be a name, an IPv4 or a bracketed IPv6
// address; empty or "*" means every address).
Result<int> Listen(const std::string& listen) {
  size_t colon = listen.rfind(':');
  std::string host =
      colon == std::string::npos ? std::string() : listen.substr(0, colon);
  std::string port =
      colon == std::string::npos ? listen : listen.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host == "*") host.clear();
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  int rc = getaddrinfo(host.empty() ? nullptr : host.c_str(), port.c_str(),
                       &hints, &res);
  if (rc != 0) {
    return InvalidArgumentError(std::string("bad address: ") +
                                gai_strerror(rc));
  }
  std::string last_error = "no usable address";
  int fd = -1;
  for (addrinfo* ai = res; ai != nullptr && fd < 0; ai = ai->ai_next) {
    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                ai->ai_protocol);
    if (fd < 0) {
      last_error = std::string("socket: ") + strerror(errno);
      continue;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
      last_error = std::string("bind: ") + strerror(errno);
    } else if (::listen(fd, 1024) != 0) {
      last_error = std::string("listen: ") + strerror(errno);
    } else {
      break;
    }
    close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  if (fd < 0) return UnavailableError(last_error);
  return fd;
}

// True when the peer closed (or half-closed) the connection or it failed:
// the answer would go nowhere. Does not read anything.
bool PeerClosed(int fd) {
  if (fd < 0) return false;
  pollfd p{fd, POLLRDHUP, 0};
  return poll(&p, 1, 0) > 0 &&
         (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) != 0;
}

unsigned ConnectionLimit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) {
    return kMaxConnections;
  }
  // Leave descriptors for the store, the pollers and the mailer.
  rlim_t spare = rl.rlim_cur > 256 ? rl.rlim_cur - 128 : rl.rlim_cur / 2;
  return static_cast<unsigned>(std::min<rlim_t>(kMaxConnections, spare));
}

}  // namespace

struct HttpServer::Backend::Conn {
  std::string uri;  // the raw request target of the request being read
  int fd = -1;
  // Since when the connection waits for a request head (accepted, or the
  // previous request completed); in_request once the head is read.
  std::chrono::steady_clock::time_point waiting_since;
  bool in_request = false;
  bool cut = false;
};

HttpServer::Backend::Conn* HttpServer::Backend::ConnOf(MHD_Connection* c) {
  const MHD_ConnectionInfo* info =
      MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
  return info == nullptr ? nullptr : static_cast<Conn*>(info->socket_context);
}

struct HttpServer::Backend::Exchange {
  HttpRequest req;
  bool begun = false;
  size_t max_body = 0;  // the route's body limit (HttpServer::MaxBodyFor)
  // Decided while reading (bad framing, body too large): sent once the
  // request is read, without running any handler.
  std::optional<HttpResponse> refusal;
  size_t discarded = 0;
  bool dispatched = false;
  // Set by the worker before it resumes the connection.
  std::optional<HttpResponse> answer;
  std::shared_ptr<Stream> stream;
};

struct HttpServer::Backend::Stream {
  Backend* backend = nullptr;
  MHD_Connection* conn = nullptr;
  std::mutex mu;
  // Run only by whoever set `producing` (one turn at a time, without `mu`);
  // released once finished or gone, and no turn runs.
  BodyProducer producer;
  std::deque<std::string> pieces;
  size_t offset = 0;       // into pieces.front()
  size_t bytes = 0;        // queued, not yet sent
  bool finished = false;   // the producer is done
  bool gone = false;       // the client went away, or the server stops
  bool suspended = false;  // the event thread waits for a piece
  bool producing = false;  // a turn is queued or running

  // Marks what happened and says whether the caller must resume `conn`
  // (after unlocking): only one party ever resumes a suspension.
  bool TakeSuspension() {
    bool s = suspended;
    suspended = false;
    return s;
  }

  // Claims the next turn when none is pending and the client is close to
  // having everything; the caller queues it (QueuePump) after unlocking.
  bool WantTurn() {
    if (finished || gone || producing || bytes >= kStreamTurnBytes) {
      return false;
    }
    producing = true;
    return true;
  }

  // The response is done with (sent, or the connection closed): no more
  // turns, and the producer (with what it holds, a store iterator) goes.
  void Abandon() {
    {
      std::lock_guard<std::mutex> l(backend->mu_);
      backend->streams_.erase(this);
    }
    BodyProducer dead;
    std::lock_guard<std::mutex> l(mu);
    gone = true;
    suspended = false;
    if (!producing) dead = std::move(producer);
  }
};

HttpServer::Backend::Backend(HttpServer& server)
    : server_(server), options_(server.options_) {}

HttpServer::Backend::~Backend() { Stop(); }

Status HttpServer::Backend::ReloadTlsIfChanged() {
  return tls_ ? tls_->ReloadIfChanged() : Status::Ok();
}

std::string HttpServer::Backend::BoundAddress() const {
  return bound_host_ + ":" + std::to_string(bound_port_);
}

Status HttpServer::Backend::Start() {
  auto fail = [&](const std::string& why) {
    return UnavailableError("cannot listen on " + options_.listen + ": " + why);
  };
  if (options_.tls) {
    Result<std::unique_ptr<TlsContext>> tls = TlsContext::Load(*options_.tls);
    if (!tls.ok()) return tls.status();
    tls_ = std::move(*tls);
  }
  Result<int> fd = Listen(options_.listen);
  if (!fd.ok()) return fail(fd.status().message());
  listen_fd_ = *fd;
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&ss), &len);
  const sockaddr* sa = reinterpret_cast<const sockaddr*>(&ss);
  bound_port_ = ntohs(sa->sa_family == AF_INET6
                          ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port
                          : reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  size_t colon = options_.listen.rfind(':');
  bound_host_ =
      colon == std::string::npos ? "0.0.0.0" : options_.listen.substr(0, colon);

  const unsigned timeout_s = static_cast<unsigned>(
      std::max<int64_t>(1, (options_.request_timeout.count() + 999) / 1000));
  unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME |
                   MHD_USE_ERROR_LOG;
  std::vector<MHD_OptionItem> opts = {
      {MHD_OPTION_LISTEN_SOCKET, listen_fd_, nullptr},
      {MHD_OPTION_THREAD_POOL_SIZE, kEventThreads, nullptr},
      {MHD_OPTION_CONNECTION_LIMIT, ConnectionLimit(), nullptr},
      {MHD_OPTION_CONNECTION_TIMEOUT, timeout_s, nullptr},
      {MHD_OPTION_CONNECTION_MEMORY_LIMIT, kConnectionMemory, nullptr},
  };
  if (tls_) {
    flags |= MHD_USE_TLS;
    opts.push_back({MHD_OPTION_HTTPS_CERT_CALLBACK, 0,
                    reinterpret_cast<void*>(&TlsContext::RetrieveCert)});
    opts.push_back({MHD_OPTION_HTTPS_PRIORITIES, 0,
                    const_cast<char*>(tls_->options().priorities.c_str())});
  }
  opts.push_back({MHD_OPTION_END, 0, nullptr});
  daemon_ =
      MHD_start_daemon(flags, 0, nullptr, nullptr, &Backend::OnRequest, this,
                       MHD_OPTION_EXTERNAL_LOGGER, &LogMhd, nullptr,
                       MHD_OPTION_NOTIFY_CONNECTION, &Backend::OnConnection,
                       this, MHD_OPTION_URI_LOG_CALLBACK, &Backend::OnUri, this,
                       MHD_OPTION_NOTIFY_COMPLETED, &Backend::OnCompleted, this,
                       MHD_OPTION_ARRAY, opts.data(), MHD_OPTION_END);
  if (daemon_ == nullptr) {
    close(listen_fd_);
    listen_fd_ = -1;
    return fail("libmicrohttpd refused to start (see debug log)");
  }
  for (int i = 0; i < std::max(1, options_.threads); ++i) {
    workers_.emplace_back([this] { WorkerLoop(); });
  }
  sweeper_ = std::thread([this] { SweepLoop(); });
  if (tls_) {
    // Refuse to run with a TLS setup no client could use.
    std::string host = bound_host_;
    if (host.size() >= 2 && host.front() == '[') {
      host = host.substr(1, host.size() - 2);
    }
    if (host.empty() || host == "*" || host == "0.0.0.0") host = "127.0.0.1";
    if (host == "::") host = "::1";
    const auto t0 = std::chrono::steady_clock::now();
    Status s = tls_->SelfCheck(host, bound_port_);
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - t0);
    if (!s.ok()) {
      Stop();
      return s;  // names the address and what failed
    }
    LogInfo("http_tls_self_check_ok")
        .Kv("address", host + ":" + std::to_string(bound_port_))
        .Kv("took_ms", static_cast<int64_t>(took.count()))
        .Kv("cert_file", tls_->options().cert_file)
        .Kv("priorities", tls_->options().priorities);
  }
  return Status::Ok();
}

void HttpServer::Backend::Stop() {
  if (daemon_ == nullptr) return;
  // No new connections; the listening socket is ours to close.
  MHD_socket fd = MHD_quiesce_daemon(daemon_);
  std::deque<Job> waiting;
  std::vector<MHD_Connection*> to_resume;
  {
    std::lock_guard<std::mutex> l(mu_);
    stopping_ = true;
    waiting.swap(queue_);
    for (Stream* s : streams_) {
      std::lock_guard<std::mutex> sl(s->mu);
      s->gone = true;
      if (s->TakeSuspension()) to_resume.push_back(s->conn);
    }
  }
  work_cv_.notify_all();
  for (const Job& job : waiting) {
    if (job.stream) {
      // A turn that will not run: its producer goes now.
      BodyProducer dead;
      std::lock_guard<std::mutex> sl(job.stream->mu);
      job.stream->producing = false;
      dead = std::move(job.stream->producer);
      continue;
    }
    job.ex->answer = HttpResponse::Error(503, "server shutting down");
    MHD_resume_connection(job.conn);
  }
  waiting.clear();
  for (MHD_Connection* c : to_resume) MHD_resume_connection(c);
  // Handlers and turns running now finish (deadlines and turn sizes bound
  // them) and resume their connections themselves.
  for (std::thread& t : workers_) t.join();
  workers_.clear();
  {
    std::lock_guard<std::mutex> l(conns_mu_);
    sweep_stop_ = true;
  }
  sweep_cv_.notify_all();
  if (sweeper_.joinable()) sweeper_.join();
  MHD_stop_daemon(daemon_);
  daemon_ = nullptr;
  if (fd != MHD_INVALID_SOCKET) close(fd);
  listen_fd_ = -1;
}

void HttpServer::Backend::SweepLoop() {
  const auto limit = options_.request_timeout;
  std::unique_lock<std::mutex> l(conns_mu_);
  while (!sweep_cv_.wait_for(l, std::chrono::milliseconds(250),
                             [&] { return sweep_stop_; })) {
    const auto now = std::chrono::steady_clock::now();
    uint64_t cut = 0;
    for (Conn* conn : conns_) {
      if (conn->in_request || conn->cut || conn->fd < 0 ||
          now - conn->waiting_since < limit) {
        continue;
      }
      // The event thread sees the connection end and closes it; the fd
      // stays valid until then (OnConnection CLOSED runs first, under
      // conns_mu_).
      shutdown(conn->fd, SHUT_RDWR);
      conn->cut = true;
      ++cut;
    }
    if (cut > 0) {
      LogDebug("http_slow_heads_cut")
          .Kv("connections", cut)
          .Kv("after_ms", static_cast<int64_t>(limit.count()));
    }
  }
}

void HttpServer::Backend::WorkerLoop() {
  for (;;) {
    Job job;
    {
      std::unique_lock<std::mutex> l(mu_);
      work_cv_.wait(l, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;  // Stop() answers what is still queued
      job = queue_.front();
      queue_.pop_front();
    }
    if (job.stream) {
      Pump(job.stream);
    } else {
      Run(job);
    }
  }
}

void HttpServer::Backend::Run(const Job& job) {
  HttpResponse resp = server_.Serve(job.ex->req);
  std::shared_ptr<Stream> stream;
  if (resp.stream) {
    stream = std::make_shared<Stream>();
    stream->backend = this;
    stream->conn = job.conn;
    stream->producer = std::move(resp.stream);
    stream->producing = true;  // the first turn, just below
    {
      std::lock_guard<std::mutex> l(mu_);
      stream->gone = stopping_;
      streams_.insert(stream.get());
    }
    resp.stream = nullptr;
    // The first piece is ready when the head goes out.
    Pump(stream);
  }
  job.ex->answer = std::move(resp);
  job.ex->stream = stream;
  // From here the event thread owns the exchange again.
  MHD_resume_connection(job.conn);
}

void HttpServer::Backend::Pump(const std::shared_ptr<Stream>& s) {
  bool gone = false;
  {
    std::lock_guard<std::mutex> l(s->mu);
    gone = s->gone;
  }
  std::string out;
  bool more = !gone;
  const auto until = std::chrono::steady_clock::now() + kStreamTurnTime;
  while (more && out.size() < kStreamTurnBytes &&
         std::chrono::steady_clock::now() < until) {
    more = s->producer(out);
  }
  BodyProducer dead;
  bool wake = false;
  bool again = false;
  {
    std::lock_guard<std::mutex> l(s->mu);
    s->producing = false;
    if (!s->gone && !out.empty()) {
      s->bytes += out.size();
      s->pieces.push_back(std::move(out));
    }
    if (!more && !s->gone) s->finished = true;
    if (s->finished || s->gone) {
      dead = std::move(s->producer);
    } else {
      again = s->WantTurn();
    }
    if (s->finished || !s->pieces.empty()) wake = s->TakeSuspension();
  }
  if (wake) MHD_resume_connection(s->conn);
  if (again) QueuePump(s);
}

void HttpServer::Backend::QueuePump(std::shared_ptr<Stream> s) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (!stopping_) {
      queue_.push_back(Job{nullptr, nullptr, std::move(s)});
      work_cv_.notify_one();
      return;
    }
  }
  // Stopping: the stream ends here.
  BodyProducer dead;
  bool wake = false;
  {
    std::lock_guard<std::mutex> l(s->mu);
    s->producing = false;
    s->gone = true;
    dead = std::move(s->producer);
    wake = s->TakeSuspension();
  }
  if (wake) MHD_resume_connection(s->conn);
}

void HttpServer::Backend::OnConnection(void* cls, MHD_Connection* c,
                                       void** socket_context,
                                       MHD_ConnectionNotificationCode code) {
  auto* self = static_cast<Backend*>(cls);
  if (code == MHD_CONNECTION_NOTIFY_STARTED) {
    auto* conn = new Conn();
    *socket_context = conn;
    const MHD_ConnectionInfo* fd_info =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    {
      std::lock_guard<std::mutex> l(self->conns_mu_);
      conn->fd = fd_info != nullptr ? fd_info->connect_fd : -1;
      conn->waiting_since = std::chrono::steady_clock::now();
      self->conns_.insert(conn);
    }
    if (self->tls_) {
      const MHD_ConnectionInfo* info =
          MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
      if (info != nullptr && info->tls_session != nullptr) {
        self->tls_->PrepareSession(
            static_cast<gnutls_session_t>(info->tls_session));
      }
    }
  } else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
    auto* conn = static_cast<Conn*>(*socket_context);
    {
      std::lock_guard<std::mutex> l(self->conns_mu_);
      self->conns_.erase(conn);
    }
    delete conn;
    *socket_context = nullptr;
  }
}

void* HttpServer::Backend::OnUri(void*, const char* uri, MHD_Connection* c) {
  if (Conn* conn = ConnOf(c)) conn->uri = uri ? uri : "";
  return nullptr;  // the exchange starts in OnRequest
}

void HttpServer::Backend::OnCompleted(void* cls, MHD_Connection* c,
                                      void** con_cls,
                                      MHD_RequestTerminationCode) {
  auto* self = static_cast<Backend*>(cls);
  if (Conn* conn = ConnOf(c)) {
    // The next request's head has its own deadline, from now.
    std::lock_guard<std::mutex> l(self->conns_mu_);
    conn->in_request = false;
    conn->waiting_since = std::chrono::steady_clock::now();
  }
  auto* ex = static_cast<Exchange*>(*con_cls);
  // A stream whose response was never sent (client gone first) must not
  // keep its producer waiting.
  if (ex != nullptr && ex->stream) ex->stream->Abandon();
  delete ex;
  *con_cls = nullptr;
}

MHD_Result HttpServer::Backend::OnRequest(void* cls, MHD_Connection* c,
                                          const char* url, const char* method,
                                          const char*, const char* upload_data,
                                          size_t* upload_data_size,
                                          void** con_cls) {
  auto* self = static_cast<Backend*>(cls);
  auto* ex = static_cast<Exchange*>(*con_cls);
  if (ex == nullptr) {
    ex = new Exchange();
    *con_cls = ex;
  }
  if (!ex->begun) {
    ex->begun = true;
    return self->Begin(c, *ex, url, method);
  }
  if (*upload_data_size > 0) {
    const size_t n = *upload_data_size;
    *upload_data_size = 0;
    if (ex->refusal) {
      ex->discarded += n;
      return ex->discarded > kMaxDiscard ? MHD_NO : MHD_YES;
    }
    // A chunked body has no length up front: read until the limit, one
    // byte more means too large.
    if (ex->req.body.size() + n > ex->max_body) {
      HttpResponse r =
          HttpResponse::Error(413, "request body larger than " +
                                       std::to_string(ex->max_body) + " bytes");
      r.headers.emplace_back("Connection", "close");
      ex->refusal = std::move(r);
      ex->req.body.clear();
      ex->req.body.shrink_to_fit();
      return MHD_YES;
    }
    ex->req.body.append(upload_data, n);
    return MHD_YES;
  }
  // The request is complete.
  if (ex->refusal) return self->Queue(c, *ex, std::move(*ex->refusal));
  if (ex->answer) return self->Queue(c, *ex, std::move(*ex->answer));
  if (ex->dispatched) return MHD_YES;  // resumed spuriously; wait
  ex->dispatched = true;
  ex->req.handler_timeout = self->options_.handler_timeout;
  ex->req.deadline =
      std::chrono::steady_clock::now() + self->options_.handler_timeout;
  if (Conn* conn = ConnOf(c)) {
    // The connection stays open while suspended: its socket is valid for
    // as long as the handler runs.
    ex->req.client_gone = [fd = conn->fd] { return PeerClosed(fd); };
  }
  MHD_suspend_connection(c);
  {
    std::lock_guard<std::mutex> l(self->mu_);
    if (!self->stopping_) {
      self->queue_.push_back(Job{c, ex});
      self->work_cv_.notify_one();
      return MHD_YES;
    }
  }
  ex->answer = HttpResponse::Error(503, "server shutting down");
  MHD_resume_connection(c);
  return MHD_YES;
}

MHD_Result HttpServer::Backend::Begin(MHD_Connection* c, Exchange& ex,
                                      const char* url, const char* method) {
  HttpRequest& req = ex.req;
  req.method = method ? method : "";
  req.path = url && *url ? url : "/";
  if (Conn* conn = ConnOf(c)) {
    size_t q = conn->uri.find('?');
    if (q != std::string::npos) req.query = conn->uri.substr(q + 1);
    std::lock_guard<std::mutex> l(conns_mu_);
    conn->in_request = true;
  }
  const MHD_ConnectionInfo* info =
      MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  if (info != nullptr) req.remote_addr = AddressText(info->client_addr);
  MHD_get_connection_values(c, MHD_HEADER_KIND, &AddHeader, &req);
  ex.max_body = server_.MaxBodyFor(req.path);

  // Framing first: a request whose body length is ambiguous (both
  // Content-Length and Transfer-Encoding, or a coding other than chunked)
  // is how requests are smuggled past a proxy. Refused, connection closed.
  std::string_view te = req.Header("Transfer-Encoding");
  const bool chunked =
      te.size() == 7 && strncasecmp(te.data(), "chunked", 7) == 0;
  if (!te.empty() && (!req.Header("Content-Length").empty() || !chunked)) {
    HttpResponse r = HttpResponse::Error(
        400,
        "ambiguous request framing: Transfer-Encoding must be \"chunked\" "
        "alone, without Content-Length");
    r.headers.emplace_back("Connection", "close");
    return Queue(c, ex, std::move(r));
  }
  std::string_view cl = req.Header("Content-Length");
  if (!cl.empty()) {
    errno = 0;
    char* end = nullptr;
    std::string cls(cl);
    unsigned long long n = strtoull(cls.c_str(), &end, 10);
    if (errno != 0 || end == cls.c_str() || *end != '\0' || n > ex.max_body) {
      HttpResponse r =
          HttpResponse::Error(413, "request body larger than " +
                                       std::to_string(ex.max_body) + " bytes");
      r.headers.emplace_back("Connection", "close");
      return Queue(c, ex, std::move(r));
    }
  }
  return MHD_YES;
}

MHD_Result HttpServer::Backend::Queue(MHD_Connection* c, Exchange& ex,
                                      HttpResponse resp) {
  MHD_Response* r = nullptr;
  std::string zipped;
  bool gzipped = false;
  if (ex.stream) {
    r = MHD_create_response_from_callback(
        MHD_SIZE_UNKNOWN, 32 * 1024, &Backend::ReadStream,
        new std::shared_ptr<Stream>(ex.stream), &Backend::FreeStream);
  } else {
    std::string_view body = resp.body;
    if (resp.gzip_ok && AcceptsGzip(ex.req.Header("Accept-Encoding"))) {
      Result<std::string> z = Gzip(resp.body, 1);
      if (z.ok()) {
        zipped = std::move(*z);
        body = zipped;
        gzipped = true;
      }
    }
    r = MHD_create_response_from_buffer(
        body.size(), const_cast<char*>(body.data()), MHD_RESPMEM_MUST_COPY);
  }
  if (r == nullptr) return MHD_NO;
  MHD_add_response_header(r, "Content-Type", resp.content_type.c_str());
  for (const auto& [k, v] : resp.headers) {
    MHD_add_response_header(r, k.c_str(), v.c_str());
  }
  if (gzipped) MHD_add_response_header(r, "Content-Encoding", "gzip");
  if (resp.gzip_ok) MHD_add_response_header(r, "Vary", "Accept-Encoding");
  MHD_Result ok = MHD_queue_response(c, static_cast<unsigned>(resp.status), r);
  MHD_destroy_response(r);
  return ok;
}

ssize_t HttpServer::Backend::ReadStream(void* cls, uint64_t, char* buf,
                                        size_t max) {
  const std::shared_ptr<Stream>& holder =
      *static_cast<std::shared_ptr<Stream>*>(cls);
  Stream& s = *holder;
  ssize_t out = 0;
  bool turn = false;
  {
    std::lock_guard<std::mutex> l(s.mu);
    if (!s.pieces.empty()) {
      // One piece per chunk, split only when it does not fit the buffer.
      const std::string& front = s.pieces.front();
      const size_t n = std::min(max, front.size() - s.offset);
      memcpy(buf, front.data() + s.offset, n);
      s.offset += n;
      s.bytes -= n;
      if (s.offset == front.size()) {
        s.pieces.pop_front();
        s.offset = 0;
      }
      out = static_cast<ssize_t>(n);
    } else if (s.finished) {
      return MHD_CONTENT_READER_END_OF_STREAM;
    } else if (s.gone) {
      return MHD_CONTENT_READER_END_WITH_ERROR;
    } else {
      // Nothing yet: park the connection until a turn produces (it resumes
      // it); returning 0 without suspending would spin.
      s.suspended = true;
      MHD_suspend_connection(s.conn);
    }
    turn = s.WantTurn();
  }
  if (turn) s.backend->QueuePump(holder);
  return out;
}

void HttpServer::Backend::FreeStream(void* cls) {
  auto* holder = static_cast<std::shared_ptr<Stream>*>(cls);
  (*holder)->Abandon();
  delete holder;
}

}  // namespace rigwatch
