// The `description:` template of a rule: placeholders {{rule}} {{miner}}
// {{level}} {{value}} {{threshold}} {{label.NAME}} (docs/rules.md). Pure
// functions; thread-safe.
#ifndef RIGWATCH_AGENT_RULES_TEMPLATE_H_
#define RIGWATCH_AGENT_RULES_TEMPLATE_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/rules/expr.h"
#include "agent/rules/rule.h"
#include "exporters/sample.h"

namespace rigwatch::rules {

// Every problem of a template (unknown placeholder, unterminated "{{"), with
// its offset in the text; empty when the template is valid.
std::vector<ExprError> CheckDescription(std::string_view text);

// The rule's description for one series; unknown placeholders (only in a
// hand-built Rule) render as nothing, a missing label as "".
std::string RenderDescription(const Rule& rule, std::string_view miner,
                              Level level, std::optional<double> value,
                              std::string_view threshold, const Labels& labels);

}  // namespace rigwatch::rules

#endif  // RIGWATCH_AGENT_RULES_TEMPLATE_H_
