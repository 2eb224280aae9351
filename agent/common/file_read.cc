#include "agent/common/file_read.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace rigwatch {

Result<std::string> ReadCappedFile(const std::string& path, uint64_t max_bytes,
                                   std::string_view what) {
  // "PATH: what: problem", the path first like every located error.
  const std::string label = path + ": " + std::string(what);
  // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused
  // below as not a regular file.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return ErrnoToStatus(errno, label + ": cannot open");
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return ErrnoToStatus(err, label + ": cannot stat");
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return InvalidArgumentError(label + ": not a regular file" +
                                (S_ISDIR(st.st_mode)   ? " (a directory)"
                                 : S_ISCHR(st.st_mode) ? " (a character device)"
                                 : S_ISFIFO(st.st_mode) ? " (a pipe)"
                                                        : ""));
  }
  if (static_cast<uint64_t>(st.st_size) > max_bytes) {
    ::close(fd);
    return InvalidArgumentError(label + ": " + std::to_string(st.st_size) +
                                " bytes, more than the limit of " +
                                std::to_string(max_bytes));
  }
  std::string out;
  out.reserve(static_cast<size_t>(st.st_size));
  char buf[65536];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return ErrnoToStatus(err, label + ": cannot read");
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > max_bytes) {
      ::close(fd);
      return InvalidArgumentError(label + ": grew past the limit of " +
                                  std::to_string(max_bytes) +
                                  " bytes while it was read");
    }
  }
  ::close(fd);
  return out;
}

std::optional<TextPosition> FindLoneCarriageReturn(std::string_view text) {
  int line = 1;
  size_t line_start = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      line_start = i + 1;
    } else if (text[i] == '\r' &&
               (i + 1 == text.size() || text[i + 1] != '\n')) {
      return TextPosition{line, static_cast<int>(i - line_start) + 1};
    }
  }
  return std::nullopt;
}

std::string_view LoneCarriageReturnMessage() {
  return "carriage return without a line feed (old Mac line endings): the "
         "whole file would read as one line; save it with \\n or \\r\\n "
         "line endings";
}

Result<std::string> ReadConfigText(const std::string& path,
                                   std::string_view what) {
  RW_ASSIGN_OR_RETURN(std::string text,
                      ReadCappedFile(path, kMaxConfigFileBytes, what));
  if (std::optional<TextPosition> cr = FindLoneCarriageReturn(text)) {
    return InvalidArgumentError(path + ":" + std::to_string(cr->line) + ":" +
                                std::to_string(cr->column) + ": " +
                                std::string(LoneCarriageReturnMessage()));
  }
  return text;
}

}  // namespace rigwatch
