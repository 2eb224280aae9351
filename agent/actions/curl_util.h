// Shared libcurl plumbing for the actions component (libcurl is PRIVATE to
// it). Not part of the component's public API.
#ifndef RIGWATCH_AGENT_ACTIONS_CURL_UTIL_H_
#define RIGWATCH_AGENT_ACTIONS_CURL_UTIL_H_

#include <curl/curl.h>

#include <memory>
#include <string>

#include "agent/common/status.h"

namespace rigwatch::actions::internal {

// curl_global_init once per process; thread-safe.
void EnsureCurlGlobalInit();

struct CurlEasyDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
using CurlEasy = std::unique_ptr<CURL, CurlEasyDeleter>;

struct CurlSlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using CurlSlist = std::unique_ptr<curl_slist, CurlSlistDeleter>;

// Converts a CURLcode (with the handle's error buffer text) into a Status:
// login failures -> PermissionDenied, timeouts -> DeadlineExceeded, the rest
// -> Unavailable.
Status CurlToStatus(CURLcode code, const char* errbuf, std::string_view what);

}  // namespace rigwatch::actions::internal

#endif  // RIGWATCH_AGENT_ACTIONS_CURL_UTIL_H_
