#include "tests/support/require.h"

#include <unistd.h>

#include <cstdlib>
#include <string_view>

namespace rigwatch::test_support {

bool InCi() {
  const char* ci = std::getenv("CI");
  if (ci == nullptr) return false;
  std::string_view v(ci);
  return v == "true" || v == "1";
}

bool ToolExists(const std::string& path) {
  if (path.find('/') != std::string::npos) {
    return access(path.c_str(), X_OK) == 0;
  }
  const char* env = std::getenv("PATH");
  std::string_view dirs(env ? env : "/usr/bin:/bin");
  while (true) {
    size_t colon = dirs.find(':');
    std::string dir(dirs.substr(0, colon));
    if (!dir.empty() && access((dir + "/" + path).c_str(), X_OK) == 0) {
      return true;
    }
    if (colon == std::string_view::npos) return false;
    dirs.remove_prefix(colon + 1);
  }
}

}  // namespace rigwatch::test_support
