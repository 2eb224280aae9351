// CGMiner API framing, STATUS handling and the exporter object; the mapping
// of section fields to samples is in cgminer_sections.cc.
#include "exporters/cgminer.h"

#include <string>

#include "exporters/cgminer_sections.h"
#include "exporters/json_util.h"

namespace rigwatch::cgminer {
namespace {

using json_util::Field;
using json_util::Json;

constexpr std::string_view kNoBytes =
    ": connection closed with 0 bytes: this host is not in the miner's "
    "--api-allow list";

std::string_view Name(Section s) {
  switch (s) {
    case Section::kSummary:
      return "summary";
    case Section::kDevs:
      return "devs";
    case Section::kPools:
      return "pools";
    case Section::kStats:
      return "stats";
  }
  return "?";
}

std::string_view Key(Section s) {
  switch (s) {
    case Section::kSummary:
      return "SUMMARY";
    case Section::kDevs:
      return "DEVS";
    case Section::kPools:
      return "POOLS";
    case Section::kStats:
      return "STATS";
  }
  return "?";
}

// The STATUS object: STATUS:[{...}] in cgminer, or the document itself when
// STATUS is a string (Whatsminer flat message replies, the restart reply).
const Json* StatusObject(const Json& doc) {
  const Json* st = Field(doc, "STATUS");
  if (st == nullptr) return nullptr;
  if (st->is_string()) return &doc;
  if (st->is_array() && !st->empty() && (*st)[0].is_object()) return &(*st)[0];
  return nullptr;
}

// An error for a STATUS E/F reply, or ok for S/I/W.
Status CheckStatusLetter(const Json& status, std::string_view what) {
  std::string_view letter =
      json_util::ToStringView(Field(status, "STATUS")).value_or("");
  if (letter != "E" && letter != "F") return Status::Ok();
  std::optional<double> code = json_util::ToNumber(Field(status, "Code"));
  std::string msg(json_util::ToStringView(Field(status, "Msg")).value_or(""));
  std::string where =
      std::string(what) + ": miner replied STATUS " + std::string(letter) +
      (code ? " Code " + std::to_string(static_cast<long long>(*code))
            : std::string()) +
      (msg.empty() ? std::string() : " \"" + msg + "\"");
  if (code && *code == 45) {
    return PermissionDeniedError(where +
                                 ": access denied by the miner's API access "
                                 "group (--api-allow / --api-groups)");
  }
  return FailedPreconditionError(where);
}

// Parses a reply (trailing NUL allowed) into a JSON object.
Result<Json> Decode(std::string_view body, std::string_view what) {
  if (body.empty())
    return PermissionDeniedError(std::string(what) + std::string(kNoBytes));
  RW_ASSIGN_OR_RETURN(
      Json doc,
      json_util::ParseLenient(json_util::StripOneTrailingNul(body), what));
  if (!doc.is_object()) {
    return InvalidArgumentError(std::string(what) +
                                ": expected a JSON object at byte 0, got " +
                                doc.type_name());
  }
  return doc;
}

}  // namespace

Result<Json> DecodeReply(std::string_view body, std::string_view what) {
  RW_ASSIGN_OR_RETURN(Json doc, Decode(body, what));
  const Json* status = StatusObject(doc);
  if (status == nullptr) {
    return InvalidArgumentError(std::string(what) +
                                ": no STATUS object in the reply");
  }
  RW_RETURN_IF_ERROR(CheckStatusLetter(*status, what));
  return doc;
}

Status CheckCommandReply(const Response& r, std::string_view what) {
  if (DroppedAfterSend(r)) return Status::Ok();
  const std::string w(what);
  if (!r.transport.ok())
    return UnavailableError(w + ": " + r.transport.ToString());
  if (r.body.empty()) return PermissionDeniedError(w + std::string(kNoBytes));
  RW_ASSIGN_OR_RETURN(Json doc, Decode(r.body, w));
  const Json* status = StatusObject(doc);
  if (status == nullptr) {
    return InvalidArgumentError(w + ": no STATUS in the reply");
  }
  std::string_view letter =
      json_util::ToStringView(Field(*status, "STATUS")).value_or("");
  if (letter == "S" || letter == "I" || letter == "RESTART") {
    return Status::Ok();
  }
  Status st = CheckStatusLetter(*status, w);
  if (!st.ok()) return st;
  return InvalidArgumentError(w + ": unexpected reply STATUS \"" +
                              std::string(letter) + "\"");
}

std::vector<Request> CommandRequests(
    std::span<const std::string_view> commands) {
  std::vector<Request> out;
  for (size_t i = 0; i < commands.size(); ++i) {
    const std::string c(commands[i]);
    out.push_back(Request{.name = c,
                          .payload = "{\"command\":\"" + c + "\"}",
                          .optional = i != 0});
  }
  return out;
}

Result<ScrapeResult> ParseReplies(std::span<const std::string_view> commands,
                                  std::span<const Response> responses,
                                  ReplyParser parse) {
  if (responses.size() != commands.size()) {
    return InvalidArgumentError("expected " + std::to_string(commands.size()) +
                                " responses, got " +
                                std::to_string(responses.size()));
  }
  ScrapeResult out;
  for (size_t i = 0; i < responses.size(); ++i) {
    const Response& r = responses[i];
    const bool required = i == 0;
    const std::string what(commands[i]);
    if (!r.transport.ok()) {
      if (!required) continue;  // optional: export what the rest allow
      if (r.transport.code() == StatusCode::kResourceExhausted) {
        return DataLossError(
            what + ": reply cut at the size cap: " + r.transport.message());
      }
      return UnavailableError(what + ": " + r.transport.ToString());
    }
    Status st = parse(commands[i], r.body, out);
    if (st.ok()) continue;
    // An optional command the miner refuses or does not know (STATUS E,
    // Code 14/45, a closed connection) is skipped; a broken reply is not.
    const bool refused = st.code() == StatusCode::kPermissionDenied ||
                         st.code() == StatusCode::kFailedPrecondition;
    if (!required && refused) continue;
    return st;
  }
  return out;
}

Status ParseSection(Section section, std::string_view body, ScrapeResult& out) {
  const std::string what(Name(section));
  RW_ASSIGN_OR_RETURN(Json doc, DecodeReply(body, what));
  const Json* status = StatusObject(doc);
  const std::string key(Key(section));
  const Json* items = Field(doc, key);
  if (items == nullptr) {
    return InvalidArgumentError(what + ": no " + key + " member in the reply");
  }
  if (!items->is_array()) {
    return InvalidArgumentError(what + ": " + key + " is a " +
                                items->type_name() + ", expected an array");
  }
  switch (section) {
    case Section::kSummary:
      if (items->empty() || !(*items)[0].is_object()) {
        return InvalidArgumentError(what + ": SUMMARY[0] is not an object");
      }
      internal::AddSummary(*status, *items, out);
      break;
    case Section::kDevs:
      internal::AddDevs(*items, out);
      break;
    case Section::kPools:
      internal::AddPools(*items, out);
      break;
    case Section::kStats:
      internal::AddStats(*items, out);
      break;
  }
  return Status::Ok();
}

namespace {

constexpr std::string_view kCommands[] = {"summary", "devs", "pools", "stats"};

Status ParseNamed(std::string_view command, std::string_view body,
                  ScrapeResult& out) {
  Section s = command == "devs"    ? Section::kDevs
              : command == "pools" ? Section::kPools
              : command == "stats" ? Section::kStats
                                   : Section::kSummary;
  return ParseSection(s, body, out);
}

class CgminerExporter final : public Exporter {
 public:
  std::string_view Kind() const override { return "cgminer"; }
  Protocol GetProtocol() const override { return Protocol::kCgminerTcp; }
  uint16_t DefaultPort() const override { return 4028; }

  std::vector<Request> PollRequests() const override {
    return CommandRequests(kCommands);
  }

  Result<ScrapeResult> Parse(
      std::span<const Response> responses) const override {
    return ParseReplies(kCommands, responses, &ParseNamed);
  }

  Request RestartRequest() const override {
    return Request{.name = "restart", .payload = "{\"command\":\"restart\"}"};
  }

  Status ParseRestartReply(const Response& r) const override {
    if (!r.transport.ok()) {
      return UnavailableError("restart: " + r.transport.ToString());
    }
    if (r.body.empty())
      return PermissionDeniedError(std::string("restart") +
                                   std::string(kNoBytes));
    std::string_view text = json_util::StripOneTrailingNul(r.body);
    while (!text.empty() &&
           (text.back() == '\n' || text.back() == ' ' || text.back() == '\r')) {
      text.remove_suffix(1);
    }
    if (text == "RESTART") return Status::Ok();  // text-mode reply
    RW_ASSIGN_OR_RETURN(Json doc, Decode(r.body, "restart"));
    const Json* status = StatusObject(doc);
    if (status == nullptr) {
      return InvalidArgumentError("restart: no STATUS in the reply");
    }
    std::string_view letter =
        json_util::ToStringView(Field(*status, "STATUS")).value_or("");
    if (letter == "RESTART") return Status::Ok();
    std::optional<double> code = json_util::ToNumber(Field(*status, "Code"));
    if (code && *code == 45) {
      return PermissionDeniedError(
          "restart not allowed by the miner's API access group (Code 45)");
    }
    if (code && *code == 14) {
      return FailedPreconditionError(
          "restart: the miner does not implement the cgminer restart command "
          "(Code 14); BOSer, Whatsminer and LuxOS restart through their own "
          "control APIs");
    }
    Status st = CheckStatusLetter(*status, "restart");
    if (!st.ok()) return st;
    return InvalidArgumentError("restart: unexpected reply STATUS \"" +
                                std::string(letter) + "\"");
  }
};

}  // namespace

const Exporter& GetExporter() {
  static const CgminerExporter kExporter;
  return kExporter;
}

}  // namespace rigwatch::cgminer
