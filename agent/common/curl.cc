#include "agent/common/curl.h"

#include <mutex>

namespace rigwatch::curl {

void EnsureGlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
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
    default:
      return UnavailableError(msg);
  }
}

}  // namespace rigwatch::curl
