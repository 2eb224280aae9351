#include "agent/common/secret_file.h"

#include "agent/common/file_read.h"

namespace rigwatch {

Result<std::string> ReadSecretFile(const std::string& path,
                                   std::string_view what) {
  RW_ASSIGN_OR_RETURN(std::string pw,
                      ReadCappedFile(path, kMaxSecretFileBytes, what));
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
