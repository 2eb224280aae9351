// Files and directories for tests: the repository root, reading a whole
// file, and a temporary directory that removes itself.
#ifndef RIGWATCH_TESTS_SUPPORT_FILES_H_
#define RIGWATCH_TESTS_SUPPORT_FILES_H_

#include <filesystem>
#include <string>

namespace rigwatch::test_support {

// The repository root: $RIGWATCH_SOURCE_DIR (set by CTest), else `fallback`
// (tests run from the root, so "." unless a test knows better).
std::string SourceDir(const std::string& fallback = ".");

// The whole file, bytes as they are; "" when it cannot be read.
std::string ReadFile(const std::filesystem::path& path);

// A fresh directory under $TMPDIR (or /tmp) named <prefix>XXXXXX, kept on
// disk (the caller removes it); aborts if none can be made.
std::string MakeTempDir(const std::string& prefix);

// A fresh directory under $TMPDIR (or /tmp) named <prefix>XXXXXX; aborts
// if none can be made. Removed with its contents when the object dies,
// unless Release()d.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "rigwatch-test-");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // path()/name.
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }
  // Keeps the directory on disk and returns its path.
  std::string Release();

 private:
  std::string path_;
  bool keep_ = false;
};

}  // namespace rigwatch::test_support

#endif  // RIGWATCH_TESTS_SUPPORT_FILES_H_
