#include "agent/common/curl.h"

#include <mutex>

namespace rigwatch::curl {

void EnsureGlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

namespace {
int AbortIfStopped(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<const std::stop_token*>(user)->stop_requested() ? 1 : 0;
}
}  // namespace

void AbortOnStop(CURL* c, const std::stop_token* stop) {
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, AbortIfStopped);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, stop);
}

Status ToStatus(CURLcode code, const char* errbuf, std::string_view what) {
  std::string msg(what);
  msg += ": ";
  msg += curl_easy_strerror(code);
  if (errbuf && errbuf[0]) {
    msg += " (";
    msg += errbuf;
    msg += ")";
  }
  switch (code) {
    case CURLE_LOGIN_DENIED:
      return PermissionDeniedError(msg);
    case CURLE_OPERATION_TIMEDOUT:
      return DeadlineExceededError(msg);
    case CURLE_ABORTED_BY_CALLBACK:
      return UnavailableError(msg + ": interrupted by shutdown");
    default:
      return UnavailableError(msg);
  }
}

}  // namespace rigwatch::curl
