// HttpServer's libmicrohttpd glue (private to agent/http): reading requests
// on a few event threads, running complete ones on workers, writing the
// responses, TLS.
//
// A request is read by libmicrohttpd without any worker; when it is complete
// its connection is suspended and the request queued for a worker, which
// runs HttpServer::Serve and resumes the connection with the answer. So an
// idle, slow or half-sent connection costs a socket and its memory pool,
// never a thread, and the event threads never wait for a handler.
#ifndef RIGWATCH_AGENT_HTTP_BACKEND_H_
#define RIGWATCH_AGENT_HTTP_BACKEND_H_

#include <microhttpd.h>

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "agent/common/status.h"
#include "agent/http/server.h"
#include "agent/http/tls.h"

namespace rigwatch {

class HttpServer::Backend {
 public:
  explicit Backend(HttpServer& server);
  ~Backend();
  Backend(const Backend&) = delete;
  Backend& operator=(const Backend&) = delete;

  Status Start();
  void Stop();
  Status ReloadTlsIfChanged();
  std::string BoundAddress() const;
  int BoundPort() const { return bound_port_; }

  // One connection (libmicrohttpd's socket context) and one request on it.
  struct Conn;
  struct Exchange;
  // The body of a streamed response, between the workers that produce it
  // turn by turn and the event thread that sends it.
  struct Stream;

 private:
  // A complete request to serve (conn and ex), or a turn of a streamed
  // body's producer (stream).
  struct Job {
    MHD_Connection* conn = nullptr;
    Exchange* ex = nullptr;
    std::shared_ptr<Stream> stream;
  };

  static void OnConnection(void* cls, MHD_Connection* c, void** socket_context,
                           MHD_ConnectionNotificationCode code);
  static void* OnUri(void* cls, const char* uri, MHD_Connection* c);
  static MHD_Result OnRequest(void* cls, MHD_Connection* c, const char* url,
                              const char* method, const char* version,
                              const char* upload_data, size_t* upload_data_size,
                              void** con_cls);
  static void OnCompleted(void* cls, MHD_Connection* c, void** con_cls,
                          MHD_RequestTerminationCode code);
  static ssize_t ReadStream(void* cls, uint64_t pos, char* buf, size_t max);
  static void FreeStream(void* cls);
  static Conn* ConnOf(MHD_Connection* c);

  // First call for a request: fills `ex.req`, decides early refusals.
  MHD_Result Begin(MHD_Connection* c, Exchange& ex, const char* url,
                   const char* method);
  MHD_Result Queue(MHD_Connection* c, Exchange& ex, HttpResponse resp);
  void WorkerLoop();
  void Run(const Job& job);
  // One bounded turn of a stream's producer (the caller owns its
  // `producing` flag); queues the next turn when the client is close to
  // having everything, resumes the connection when it waits for data.
  void Pump(const std::shared_ptr<Stream>& s);
  // Queues a turn of `s` for a worker (none once stopping: the stream ends).
  void QueuePump(std::shared_ptr<Stream> s);
  // Cuts connections whose request head (or TLS handshake) has not arrived
  // within request_timeout: a trickling client must not hold a connection
  // slot for hours.
  void SweepLoop();

  HttpServer& server_;
  const HttpServerOptions& options_;
  std::unique_ptr<TlsContext> tls_;  // null: plain HTTP
  MHD_Daemon* daemon_ = nullptr;
  int listen_fd_ = -1;
  int bound_port_ = 0;
  std::string bound_host_;

  // Guards queue_, stopping_ and streams_. Never held while calling into
  // libmicrohttpd.
  std::mutex mu_;
  std::condition_variable work_cv_;
  std::deque<Job> queue_;  // requests (suspended) and stream turns
  bool stopping_ = false;
  std::set<Stream*> streams_;  // streamed bodies still being sent
  std::vector<std::thread> workers_;

  // Guards conns_ and every Conn's timing fields.
  std::mutex conns_mu_;
  std::condition_variable sweep_cv_;
  bool sweep_stop_ = false;
  std::set<Conn*> conns_;
  std::thread sweeper_;
};

}  // namespace rigwatch

#endif  // RIGWATCH_AGENT_HTTP_BACKEND_H_
