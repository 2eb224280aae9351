#include "agent/common/secret_file.h"

#include <cerrno>
#include <fstream>
#include <sstream>

namespace rigwatch {

Result<std::string> ReadSecretFile(const std::string& path,
                                   std::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return ErrnoToStatus(errno, std::string(what) + " " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  std::string pw = ss.str();
  if (!pw.empty() && pw.back() == '\n') pw.pop_back();
  if (!pw.empty() && pw.back() == '\r') pw.pop_back();
  return pw;
}

void ScrubSecret(std::string& s) {
  volatile char* p = s.data();
  for (std::size_t i = 0; i < s.size(); ++i) p[i] = 0;
  s.clear();
}

}  // namespace rigwatch
