// Passwords live in files named by the config (`password_file:`), never in
// the config itself. One reader for all of them, over ReadCappedFile
// (agent/common/file_read.h): a regular file of at most 64 KiB.
#ifndef RIGWATCH_AGENT_COMMON_SECRET_FILE_H_
#define RIGWATCH_AGENT_COMMON_SECRET_FILE_H_

#include <string>
#include <string_view>

#include "agent/common/status.h"

namespace rigwatch {

// The file's content without one trailing "\n" or "\r\n". Errors name `what`
// and the path, never the content.
Result<std::string> ReadSecretFile(const std::string& path,
                                   std::string_view what);

// Wipes a secret before its memory is released.
void ScrubSecret(std::string& s);

}  // namespace rigwatch

#endif  // RIGWATCH_AGENT_COMMON_SECRET_FILE_H_
