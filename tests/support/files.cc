#include "tests/support/files.h"

#include <stdlib.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <vector>

namespace rigwatch::test_support {

std::string SourceDir(const std::string& fallback) {
  const char* s = std::getenv("RIGWATCH_SOURCE_DIR");
  return s != nullptr && *s != '\0' ? std::string(s) : fallback;
}

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TempDir::TempDir(const std::string& prefix) {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl =
      std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/" +
      prefix + "XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (mkdtemp(buf.data()) == nullptr) std::abort();
  path_ = buf.data();
}

TempDir::~TempDir() {
  if (keep_) return;
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string TempDir::Release() {
  keep_ = true;
  return path_;
}

std::string MakeTempDir(const std::string& prefix) {
  return TempDir(prefix).Release();
}

}  // namespace rigwatch::test_support
