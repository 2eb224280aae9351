// Reading a file the config points at (the config itself, rule files, miner
// files, password files): one reader with one set of checks, so `run`,
// SIGHUP and `check-config` accept and refuse exactly the same files.
//
// A referenced file must be a regular file (a directory, a FIFO or a device
// such as /dev/zero is refused before anything is read) no larger than a
// cap; a file that grows past the cap while it is read is refused too.
#ifndef RIGWATCH_AGENT_COMMON_FILE_READ_H_
#define RIGWATCH_AGENT_COMMON_FILE_READ_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "agent/common/status.h"

namespace rigwatch {

// Caps: a config, rule or miner file (10,000 miners fit in a few MB), and a
// secret (a password) that is one line.
inline constexpr uint64_t kMaxConfigFileBytes = 16u << 20;
inline constexpr uint64_t kMaxSecretFileBytes = 64u << 10;

// The whole content of `path`. `what` names the file in errors
// ("rule file", "notify.smtp.password_file"). InvalidArgument for a file
// that is not regular or is larger than `max_bytes`, the errno status when
// it cannot be opened or read.
Result<std::string> ReadCappedFile(const std::string& path, uint64_t max_bytes,
                                   std::string_view what);

// Where a text first has a carriage return that is not followed by a line
// feed (old Mac line endings: a YAML parser reads the whole file as one
// line). 1-based line and column, counting "\n" and "\r\n" as line breaks.
struct TextPosition {
  int line = 0;
  int column = 0;
};
std::optional<TextPosition> FindLoneCarriageReturn(std::string_view text);
// The message for it ("carriage return without a line feed ...").
std::string_view LoneCarriageReturnMessage();

// A YAML file the config points at (a rule or miner file): ReadCappedFile
// with kMaxConfigFileBytes, then refused with "PATH:LINE:COL: ..." when it
// has a lone carriage return.
Result<std::string> ReadConfigText(const std::string& path,
                                   std::string_view what);

}  // namespace rigwatch

#endif  // RIGWATCH_AGENT_COMMON_FILE_READ_H_
