// The agent's one libcurl plumbing (library rigwatch::curl): process-wide
// initialisation, RAII handles and CURLcode to Status. Used by the actions
// component (SMTP, Alertmanager) and the poller's HTTP transport.
#ifndef RIGWATCH_AGENT_COMMON_CURL_H_
#define RIGWATCH_AGENT_COMMON_CURL_H_

#include <curl/curl.h>

#include <memory>
#include <stop_token>
#include <string>
#include <string_view>

#include "agent/common/status.h"

namespace rigwatch::curl {

// curl_global_init once per process, before any handle; thread-safe.
void EnsureGlobalInit();

struct EasyDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
using Easy = std::unique_ptr<CURL, EasyDeleter>;

struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using Slist = std::unique_ptr<curl_slist, SlistDeleter>;

// Makes the transfer on `c` end with CURLE_ABORTED_BY_CALLBACK soon after
// `stop` is requested: libcurl calls the progress callback at least once a
// second, also while it waits on a silent server or a connect. `*stop`
// must outlive the transfer.
void AbortOnStop(CURL* c, const std::stop_token* stop);

// Converts a CURLcode (with the handle's error buffer text) into a Status:
// login failures -> PermissionDenied, timeouts -> DeadlineExceeded, the rest
// -> Unavailable.
Status ToStatus(CURLcode code, const char* errbuf, std::string_view what);

}  // namespace rigwatch::curl

#endif  // RIGWATCH_AGENT_COMMON_CURL_H_
