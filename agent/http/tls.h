// TLS for the HTTP server, with GnuTLS (what libmicrohttpd speaks): the
// certificate and key (reloaded when their files change), client
// certificate checks at handshake, and the self-check handshake at start.
#ifndef RIGWATCH_AGENT_HTTP_TLS_H_
#define RIGWATCH_AGENT_HTTP_TLS_H_

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "agent/common/status.h"
#include "agent/http/server.h"

namespace rigwatch {

class TlsContext {
 public:
  // Reads the files; a clear error names the file and what is wrong.
  static Result<std::unique_ptr<TlsContext>> Load(const HttpTlsOptions& o);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  // Loads the certificate, key and client CA again when a file's mtime or
  // size changed. A failed load keeps the pair in use and is returned (once
  // per change). Thread-safe.
  Status ReloadIfChanged();

  // For libmicrohttpd's MHD_OPTION_HTTPS_CERT_CALLBACK.
  static int RetrieveCert(gnutls_session_t session, const gnutls_datum_t*, int,
                          const gnutls_pk_algorithm_t*, int,
                          gnutls_pcert_st** pcert, unsigned int* pcert_length,
                          gnutls_privkey_t* pkey);
  // Called for every new TLS session, before its handshake: the client
  // certificate request and its verification.
  void PrepareSession(gnutls_session_t session);

  // A real handshake with the server at host:port, presenting the server's
  // own certificate as client certificate (accepted only from whoever holds
  // its key); checks the server answers with the configured certificate.
  Status SelfCheck(const std::string& host, int port) const;

  const HttpTlsOptions& options() const { return options_; }

 private:
  struct Bundle;  // one loaded certificate chain, key and client CA
  struct FileStamp {
    std::string path;
    struct timespec mtime {};
    off_t size = 0;
    bool operator==(const FileStamp& o) const;
  };

  explicit TlsContext(HttpTlsOptions o) : options_(std::move(o)) {}
  static Result<std::shared_ptr<Bundle>> LoadBundle(const HttpTlsOptions& o);
  std::vector<FileStamp> Stamps() const;
  std::shared_ptr<Bundle> Current() const;
  static int VerifyPeer(gnutls_session_t session);
  // Logs a refused client certificate; at most one line per 10 s with the
  // number refused since, so bad certificates cannot flood the log.
  void LogRefusal(const std::string& reason);

  const HttpTlsOptions options_;
  mutable std::mutex mu_;
  std::shared_ptr<Bundle> current_;
  // Bundles replaced by a reload: sessions still using one keep pointers
  // into it, so they live as long as this context (reloads are rare).
  std::vector<std::shared_ptr<Bundle>> retired_;
  std::vector<FileStamp> loaded_stamps_;  // of the last load attempt
  std::chrono::steady_clock::time_point last_refusal_log_{};
  uint64_t refusals_unlogged_ = 0;
};

}  // namespace rigwatch

#endif  // RIGWATCH_AGENT_HTTP_TLS_H_
