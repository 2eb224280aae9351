// miner_files: YAML files listing miners, matched by glob patterns and
// re-read when they change. Each file is a list of miner entries with the
// keys of an inline `miners:` entry, parsed by the same parser
// (ParseMinerList in config.h):
//   - {name: rig-1, kind: bitaxe, address: 192.168.1.20}
//   - {name: s19-2, kind: antminer, address: "[fd00::12]:4028",
//      http_port: 8080, auth: {password_file: /etc/rigwatch/s19.pw}}
// yaml-cpp stays inside agent/config, so the poller does not parse YAML.
#ifndef RIGWATCH_AGENT_CONFIG_TARGET_FILES_H_
#define RIGWATCH_AGENT_CONFIG_TARGET_FILES_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "agent/common/status.h"
#include "agent/poller/engine.h"
#include "agent/poller/types.h"

namespace rigwatch {

// The target name of the host collector's series (store, rules, mails): no
// miner may take it.
inline constexpr std::string_view kHostTargetName = "host";

// Parses one file's text. `path` names it in errors. On failure returns
// every problem, one per line, each "PATH:LINE:COL: message".
Result<std::vector<MinerTarget>> ParseTargetFile(const std::string& text,
                                                 const std::string& path,
                                                 const ExporterLookup& lookup);

// The loader. Not thread-safe (call from one thread, e.g. once an interval).
class TargetFiles {
 public:
  // `lookup` validates kinds (FindExporter when null).
  explicit TargetFiles(std::vector<std::string> patterns,
                       ExporterLookup lookup = nullptr);

  struct Update {
    bool changed = false;  // targets() changed: pass it to SetTargets
    Status error;          // every problem, FILE:LINE:COL each, one a line
  };
  // Expands the patterns and compares every file's mtime and size with the
  // last call; reads and parses only when something changed. On any error
  // the previous list is kept and the error is returned once (not again
  // until the files change). A pattern with glob characters may match
  // nothing; a plain path that does not exist is an error. A name listed
  // twice (in one file or two) is an error.
  Update Poll();

  const std::vector<MinerTarget>& targets() const { return targets_; }

 private:
  std::vector<std::string> patterns_;
  ExporterLookup lookup_;
  std::string signature_;
  bool loaded_once_ = false;
  std::vector<MinerTarget> targets_;
};

}  // namespace rigwatch

#endif  // RIGWATCH_AGENT_CONFIG_TARGET_FILES_H_
