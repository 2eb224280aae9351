#include "agent/http/tls.h"

#include <gnutls/abstract.h>
#include <gnutls/x509.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <sstream>

#include "agent/common/log.h"

namespace rigwatch {
namespace {

constexpr unsigned kMaxChain = 16;
constexpr int kSelfCheckTimeoutMs = 5000;

using ClientAuth = HttpTlsOptions::ClientAuth;

Result<std::string> ReadFile(const std::string& what, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return InvalidArgumentError(what + " " + path + ": " + strerror(errno));
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

gnutls_datum_t Datum(const std::string& s) {
  return {reinterpret_cast<unsigned char*>(const_cast<char*>(s.data())),
          static_cast<unsigned>(s.size())};
}

bool Verifies(ClientAuth a) {
  return a == ClientAuth::kVerifyClientCertIfGiven ||
         a == ClientAuth::kRequireAndVerifyClientCert;
}

}  // namespace

struct TlsContext::Bundle {
  std::string cert_pem;
  std::string key_pem;
  gnutls_pcert_st pcerts[kMaxChain];
  unsigned npcerts = 0;
  gnutls_privkey_t key = nullptr;
  std::string leaf_der;  // to recognise the server itself (self-check)
  gnutls_x509_trust_list_t client_ca = nullptr;

  ~Bundle() {
    for (unsigned i = 0; i < npcerts; ++i) gnutls_pcert_deinit(&pcerts[i]);
    if (key != nullptr) gnutls_privkey_deinit(key);
    if (client_ca != nullptr) gnutls_x509_trust_list_deinit(client_ca, 1);
    std::fill(key_pem.begin(), key_pem.end(), '\0');
  }
};

bool TlsContext::FileStamp::operator==(const FileStamp& o) const {
  return path == o.path && mtime.tv_sec == o.mtime.tv_sec &&
         mtime.tv_nsec == o.mtime.tv_nsec && size == o.size;
}

Result<std::shared_ptr<TlsContext::Bundle>> TlsContext::LoadBundle(
    const HttpTlsOptions& o) {
  auto b = std::make_shared<Bundle>();
  Result<std::string> cert = ReadFile("http.tls.cert_file", o.cert_file);
  if (!cert.ok()) return cert.status();
  Result<std::string> key = ReadFile("http.tls.key_file", o.key_file);
  if (!key.ok()) return key.status();
  b->cert_pem = std::move(*cert);
  b->key_pem = std::move(*key);
  gnutls_datum_t cd = Datum(b->cert_pem), kd = Datum(b->key_pem);
  unsigned n = kMaxChain;
  int rc = gnutls_pcert_list_import_x509_raw(b->pcerts, &n, &cd,
                                             GNUTLS_X509_FMT_PEM, 0);
  if (rc < 0 || n == 0) {
    return InvalidArgumentError(
        "http.tls.cert_file " + o.cert_file +
        ": no PEM certificate: " + (rc < 0 ? gnutls_strerror(rc) : "empty"));
  }
  b->npcerts = n;
  b->leaf_der.assign(reinterpret_cast<const char*>(b->pcerts[0].cert.data),
                     b->pcerts[0].cert.size);
  gnutls_privkey_init(&b->key);
  rc = gnutls_privkey_import_x509_raw(b->key, &kd, GNUTLS_X509_FMT_PEM, nullptr,
                                      0);
  if (rc < 0) {
    return InvalidArgumentError("http.tls.key_file " + o.key_file +
                                ": no PEM private key: " + gnutls_strerror(rc));
  }
  // GnuTLS checks that the key belongs to the certificate when both are
  // set on credentials; done on scratch ones.
  gnutls_certificate_credentials_t scratch = nullptr;
  gnutls_certificate_allocate_credentials(&scratch);
  rc = gnutls_certificate_set_x509_key_mem2(scratch, &cd, &kd,
                                            GNUTLS_X509_FMT_PEM, nullptr, 0);
  gnutls_certificate_free_credentials(scratch);
  if (rc < 0) {
    return InvalidArgumentError("http.tls: key_file " + o.key_file +
                                " does not fit cert_file " + o.cert_file +
                                ": " + gnutls_strerror(rc));
  }
  if (Verifies(o.client_auth) || !o.client_ca_file.empty()) {
    Result<std::string> ca =
        ReadFile("http.tls.client_ca_file", o.client_ca_file);
    if (!ca.ok()) return ca.status();
    gnutls_datum_t ad = Datum(*ca);
    gnutls_x509_trust_list_init(&b->client_ca, 0);
    rc = gnutls_x509_trust_list_add_trust_mem(b->client_ca, &ad, nullptr,
                                              GNUTLS_X509_FMT_PEM, 0, 0);
    if (rc <= 0) {
      return InvalidArgumentError(
          "http.tls.client_ca_file " + o.client_ca_file +
          ": no PEM certificate: " + (rc < 0 ? gnutls_strerror(rc) : "empty"));
    }
  }
  return b;
}

Result<std::unique_ptr<TlsContext>> TlsContext::Load(const HttpTlsOptions& o) {
  gnutls_priority_t prio = nullptr;
  const char* err_pos = nullptr;
  int rc = gnutls_priority_init(&prio, o.priorities.c_str(), &err_pos);
  if (rc < 0) {
    return InvalidArgumentError("http.tls: bad GnuTLS priorities \"" +
                                o.priorities + "\" at \"" +
                                (err_pos ? err_pos : "") + "\"");
  }
  gnutls_priority_deinit(prio);
  std::unique_ptr<TlsContext> ctx(new TlsContext(o));
  std::vector<FileStamp> stamps = ctx->Stamps();
  Result<std::shared_ptr<Bundle>> b = LoadBundle(o);
  if (!b.ok()) return b.status();
  ctx->current_ = std::move(*b);
  ctx->loaded_stamps_ = std::move(stamps);
  return ctx;
}

TlsContext::~TlsContext() = default;

std::vector<TlsContext::FileStamp> TlsContext::Stamps() const {
  std::vector<FileStamp> out;
  for (const std::string* p :
       {&options_.cert_file, &options_.key_file, &options_.client_ca_file}) {
    FileStamp s;
    s.path = *p;
    struct stat st {};
    if (!p->empty() && stat(p->c_str(), &st) == 0) {
      s.mtime = st.st_mtim;
      s.size = st.st_size;
    }
    out.push_back(s);
  }
  return out;
}

Status TlsContext::ReloadIfChanged() {
  std::vector<FileStamp> stamps = Stamps();
  {
    std::lock_guard<std::mutex> l(mu_);
    if (stamps == loaded_stamps_) return Status::Ok();
    loaded_stamps_ = stamps;  // a failed load is reported once per change
  }
  Result<std::shared_ptr<Bundle>> b = LoadBundle(options_);
  if (!b.ok()) {
    LogWarn("http_tls_reload_failed")
        .Kv("error", b.status().message())
        .Kv("kept", "the certificate loaded before");
    return b.status();
  }
  std::lock_guard<std::mutex> l(mu_);
  retired_.push_back(std::move(current_));
  current_ = std::move(*b);
  LogInfo("http_tls_reloaded").Kv("cert_file", options_.cert_file);
  return Status::Ok();
}

std::shared_ptr<TlsContext::Bundle> TlsContext::Current() const {
  std::lock_guard<std::mutex> l(mu_);
  return current_;
}

int TlsContext::RetrieveCert(gnutls_session_t session, const gnutls_datum_t*,
                             int, const gnutls_pk_algorithm_t*, int,
                             gnutls_pcert_st** pcert,
                             unsigned int* pcert_length,
                             gnutls_privkey_t* pkey) {
  auto* self = static_cast<TlsContext*>(gnutls_session_get_ptr(session));
  if (self == nullptr) return -1;
  std::shared_ptr<Bundle> b = self->Current();
  // The bundle outlives the session: current_ or retired_ holds it.
  *pcert = b->pcerts;
  *pcert_length = b->npcerts;
  *pkey = b->key;
  return 0;
}

void TlsContext::PrepareSession(gnutls_session_t session) {
  gnutls_session_set_ptr(session, this);
  gnutls_certificate_request_t req = GNUTLS_CERT_IGNORE;
  switch (options_.client_auth) {
    case ClientAuth::kNoClientCert:
      break;
    // The two Require modes only request a certificate too: VerifyPeer
    // refuses a client that sends none, so that the refusal is logged
    // (GNUTLS_CERT_REQUIRE would fail the handshake before any callback).
    case ClientAuth::kRequestClientCert:
    case ClientAuth::kVerifyClientCertIfGiven:
    case ClientAuth::kRequireAnyClientCert:
    case ClientAuth::kRequireAndVerifyClientCert:
      req = GNUTLS_CERT_REQUEST;
      break;
  }
  gnutls_certificate_server_set_request(session, req);
  if (req != GNUTLS_CERT_IGNORE) {
    gnutls_session_set_verify_function(session, &TlsContext::VerifyPeer);
  }
}

int TlsContext::VerifyPeer(gnutls_session_t session) {
  auto* self = static_cast<TlsContext*>(gnutls_session_get_ptr(session));
  if (self == nullptr) return GNUTLS_E_CERTIFICATE_ERROR;
  const ClientAuth mode = self->options_.client_auth;
  unsigned n = 0;
  const gnutls_datum_t* peers = gnutls_certificate_get_peers(session, &n);
  if (peers == nullptr || n == 0) {
    if (mode != ClientAuth::kRequireAnyClientCert &&
        mode != ClientAuth::kRequireAndVerifyClientCert) {
      return 0;
    }
    self->LogRefusal("no_certificate");
    return GNUTLS_E_NO_CERTIFICATE_FOUND;
  }
  std::shared_ptr<Bundle> b = self->Current();
  // The agent's own self-check: only the holder of the server key can
  // complete a handshake with the server certificate.
  if (b->leaf_der.size() == peers[0].size &&
      memcmp(b->leaf_der.data(), peers[0].data, peers[0].size) == 0) {
    return 0;
  }
  if (!Verifies(mode)) return 0;
  std::vector<gnutls_x509_crt_t> chain(std::min(n, kMaxChain));
  unsigned imported = 0;
  int rc = 0;
  for (; imported < chain.size(); ++imported) {
    gnutls_x509_crt_init(&chain[imported]);
    rc = gnutls_x509_crt_import(chain[imported], &peers[imported],
                                GNUTLS_X509_FMT_DER);
    if (rc < 0) {
      ++imported;
      break;
    }
  }
  unsigned status = 0;
  if (rc >= 0) {
    rc = gnutls_x509_trust_list_verify_crt(b->client_ca, chain.data(), imported,
                                           0, &status, nullptr);
  }
  for (unsigned i = 0; i < imported; ++i) gnutls_x509_crt_deinit(chain[i]);
  if (rc < 0 || status != 0) {
    gnutls_datum_t why{};
    std::string reason = rc < 0 ? gnutls_strerror(rc) : "not verified";
    if (rc >= 0 && gnutls_certificate_verification_status_print(
                       status, GNUTLS_CRT_X509, &why, 0) == 0) {
      reason.assign(reinterpret_cast<const char*>(why.data), why.size);
      gnutls_free(why.data);
    }
    self->LogRefusal(reason);
    return GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR;
  }
  return 0;
}

void TlsContext::LogRefusal(const std::string& reason) {
  const auto now = std::chrono::steady_clock::now();
  uint64_t refused = 0;
  {
    std::lock_guard<std::mutex> l(mu_);
    ++refusals_unlogged_;
    if (last_refusal_log_ != std::chrono::steady_clock::time_point{} &&
        now - last_refusal_log_ < std::chrono::seconds(10)) {
      return;
    }
    last_refusal_log_ = now;
    refused = refusals_unlogged_;
    refusals_unlogged_ = 0;
  }
  LogWarn("http_tls_client_cert_refused")
      .Kv("reason", reason)
      .Kv("refused", refused);
}

Status TlsContext::SelfCheck(const std::string& host, int port) const {
  const std::string where = host + ":" + std::to_string(port);
  auto fail = [&](const std::string& why) {
    return UnavailableError("TLS self-check: no handshake with " + where +
                            ": " + why);
  };
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* res = nullptr;
  int rc =
      getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res);
  if (rc != 0) return fail(gai_strerror(rc));
  int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  timeval tv{kSelfCheckTimeoutMs / 1000, 0};
  if (fd >= 0) {
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  }
  if (fd < 0 || connect(fd, res->ai_addr, res->ai_addrlen) != 0) {
    std::string why = std::string("connect: ") + strerror(errno);
    freeaddrinfo(res);
    if (fd >= 0) close(fd);
    return fail(why);
  }
  freeaddrinfo(res);
  std::shared_ptr<Bundle> b = Current();
  gnutls_certificate_credentials_t cred = nullptr;
  gnutls_certificate_allocate_credentials(&cred);
  gnutls_datum_t cd = Datum(b->cert_pem), kd = Datum(b->key_pem);
  gnutls_certificate_set_x509_key_mem2(cred, &cd, &kd, GNUTLS_X509_FMT_PEM,
                                       nullptr, 0);
  gnutls_session_t s = nullptr;
  gnutls_init(&s, GNUTLS_CLIENT);
  Status out = Status::Ok();
  rc = gnutls_priority_set_direct(s, options_.priorities.c_str(), nullptr);
  if (rc >= 0) rc = gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cred);
  if (rc >= 0) {
    gnutls_transport_set_int(s, fd);
    gnutls_handshake_set_timeout(s, kSelfCheckTimeoutMs);
    do {
      rc = gnutls_handshake(s);
    } while (rc < 0 && gnutls_error_is_fatal(rc) == 0);
  }
  if (rc < 0) {
    out = fail(gnutls_strerror(rc));
  } else {
    unsigned n = 0;
    const gnutls_datum_t* peers = gnutls_certificate_get_peers(s, &n);
    if (peers == nullptr || n == 0 || peers[0].size != b->leaf_der.size() ||
        memcmp(peers[0].data, b->leaf_der.data(), peers[0].size) != 0) {
      out = fail("the server did not present " + options_.cert_file);
    } else {
      gnutls_bye(s, GNUTLS_SHUT_WR);
    }
  }
  gnutls_deinit(s);
  gnutls_certificate_free_credentials(cred);
  close(fd);
  return out;
}

}  // namespace rigwatch
