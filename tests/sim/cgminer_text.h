// The CGMiner API's plain-text reply form (docs/protocols.md §2.1), derived
// from the simulator's own JSON replies so that number formats stay identical:
//   STATUS=S,When=..,Code=11,Msg=Summary,Description=cgminer 4.11.1|
//   SUMMARY,Elapsed=..,MHS av=..|
// Pure function, thread-compatible.
#ifndef RIGWATCH_TESTS_SIM_CGMINER_TEXT_H_
#define RIGWATCH_TESTS_SIM_CGMINER_TEXT_H_

#include <string>
#include <string_view>

namespace rigwatch::sim {

// Converts one single-command JSON reply as rendered by cgminer_replies.cc
// (flat records; "}{" between records tolerated). Records end with '|'; in
// values "|", ",", "=" and "\" are escaped with "\". SUMMARY and VERSION
// records carry their section name first, as cgminer prints them. The
// restart reply becomes "RESTART".
std::string CgminerJsonToText(std::string_view json);

}  // namespace rigwatch::sim

#endif  // RIGWATCH_TESTS_SIM_CGMINER_TEXT_H_
