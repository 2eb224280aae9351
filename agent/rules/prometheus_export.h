// Translation of a RuleSet into a Prometheus alerting-rules file, for users
// who alert from Prometheus instead of (or besides) the agent.
#ifndef RIGWATCH_AGENT_RULES_PROMETHEUS_EXPORT_H_
#define RIGWATCH_AGENT_RULES_PROMETHEUS_EXPORT_H_

#include <string>
#include <string_view>

#include "agent/common/status.h"
#include "agent/rules/rule.h"

namespace rigwatch::rules {

// Returns the text of a rules file (`promtool check rules` accepts it): one
// group "rigwatch", one alerting rule per level of each rule (alert = rule
// name, expr in PromQL, `for`, labels.severity warning|critical|info,
// annotations summary and description). A windowed condition also requires
// its series to be as old as the window (`and SEL offset W`), as the agent
// does; expressions (`expr:`) are translated keeping each target's labels
// in aggregations. What PromQL cannot express
// (hysteresis `clear`, per-miner `absent`, staleness, grace, mutes) is
// named in a comment above the alert. `source` names the rule files in the
// header comment. Fails with InvalidArgument on a rule whose name is not a
// valid alert name (the loader never produces one). Deterministic output.
Result<std::string> ExportPrometheusRules(const RuleSet& rules,
                                          std::string_view source = "");

}  // namespace rigwatch::rules

#endif  // RIGWATCH_AGENT_RULES_PROMETHEUS_EXPORT_H_
