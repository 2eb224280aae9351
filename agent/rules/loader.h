// Loading rule files (the grammar is docs/rules.md). This is the only place
// yaml-cpp is used by the rules component; its exceptions are caught here.
#ifndef RIGWATCH_AGENT_RULES_LOADER_H_
#define RIGWATCH_AGENT_RULES_LOADER_H_

#include <string>
#include <string_view>
#include <vector>

#include "agent/common/status.h"
#include "agent/rules/rule.h"

namespace rigwatch::rules {

// Every miner kind of the exporter registry, plus "host".
std::vector<std::string> DefaultKnownKinds();

struct LoadOptions {
  // Values accepted in a rule's `kinds:` (the config's miner kinds plus
  // "host" for the agent's own host and "service" for its host services).
  std::vector<std::string> known_kinds = DefaultKnownKinds();
};

// Parses and validates rule files; rule names must be unique across all of
// them. Fails with InvalidArgument when any file has any error; the message
// then holds EVERY error found, one per line, each as
//   FILE:LINE:COL: message
// (1-based line and column; inside a condition string the column points at
// the offending character). An unreadable file is reported as
//   FILE: rule file: cannot open: <reason>  (or: not a regular file, too large)
// Thread-safe (no shared state).
Result<RuleSet> LoadRuleFiles(const std::vector<std::string>& paths,
                              const LoadOptions& options = {});

// The same for text already in memory; `file` names it in messages.
Result<RuleSet> ParseRuleText(std::string_view text, std::string_view file,
                              const LoadOptions& options = {});

}  // namespace rigwatch::rules

#endif  // RIGWATCH_AGENT_RULES_LOADER_H_
