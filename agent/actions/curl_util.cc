#include "agent/actions/curl_util.h"

#include <mutex>

namespace rigwatch::actions::internal {

void EnsureCurlGlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

Status CurlToStatus(CURLcode code, const char* errbuf, std::string_view what) {
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
    default:
      return UnavailableError(msg);
  }
}

}  // namespace rigwatch::actions::internal
