// LuxOS: Antminer-layout data plus temps/power, and the session restart
// chain. See luxos.h.
#include "exporters/luxos.h"

#include <algorithm>
#include <optional>
#include <string>

#include "exporters/antminer.h"
#include "exporters/cgminer.h"
#include "exporters/json_util.h"
#include "exporters/miner_metrics.h"
#include "exporters/sample_builder.h"

namespace rigwatch::luxos {
namespace {

using json_util::Field;
using json_util::Json;
using json_util::ToNumber;

bool HasTemp(const Samples& s, std::string_view sensor) {
  for (const Sample& x : s) {
    if (x.name == metric::kTemperature && !x.labels.empty() &&
        x.labels[0].value == sensor) {
      return true;
    }
  }
  return false;
}

std::optional<double> Reading(const Json* v) {
  std::optional<double> d = ToNumber(v);
  if (d && *d != 0 && *d > -273.15) return d;
  return std::nullopt;
}

void AddTemps(const Json& doc, ScrapeResult& out) {
  const Json* rows = Field(doc, "TEMPS");
  if (rows == nullptr || !rows->is_array()) return;
  const Json* meta = Field(doc, "METADATA");
  const Json* names =
      meta && meta->is_array() && !meta->empty() ? &(*meta)[0] : nullptr;
  constexpr const char* kPositions[] = {"TopLeft", "TopRight", "BottomLeft",
                                        "BottomRight"};
  std::optional<double> inlet, outlet;
  std::vector<std::pair<std::string, double>> boards;
  for (const Json& row : *rows) {
    std::optional<double> board;
    for (const char* pos : kPositions) {
      std::optional<double> v = Reading(Field(row, pos));
      if (!v) continue;
      board = std::max(board.value_or(*v), *v);
      std::string_view label;
      if (names != nullptr) {
        if (const Json* m = Field(*names, pos)) {
          label = json_util::ToStringView(Field(*m, "Label")).value_or("");
        }
      }
      if (label.find("Exhaust") != std::string_view::npos) {
        outlet = std::max(outlet.value_or(*v), *v);
      } else if (label.find("Intake") != std::string_view::npos) {
        inlet = std::max(inlet.value_or(*v), *v);
      }
    }
    std::optional<double> id = ToNumber(Field(row, "ID"));
    if (board && id && *id >= 0 && *id < 16) {
      boards.emplace_back(
          "chain" + std::to_string(static_cast<int>(*id) + 1) + "_board",
          *board);
    }
  }
  SampleBuilder b(out.samples);
  for (auto& [sensor, v] : boards) {
    if (!HasTemp(out.samples, sensor)) {
      b.Add1(metric::kTemperature, v, 1, "sensor", sensor);
    }
  }
  if (!HasTemp(out.samples, "inlet")) {
    b.Add1(metric::kTemperature, inlet, 1, "sensor", "inlet");
  }
  if (!HasTemp(out.samples, "outlet")) {
    b.Add1(metric::kTemperature, outlet, 1, "sensor", "outlet");
  }
}

}  // namespace

Status ParseReply(std::string_view command, std::string_view body,
                  ScrapeResult& out) {
  if (command == "summary" || command == "pools" || command == "stats") {
    return antminer::ParseReply(command, body, out);
  }
  const std::string what(command);
  if (command != "temps" && command != "power") {
    return InvalidArgumentError("luxos: no parser for \"" + what + "\"");
  }
  RW_ASSIGN_OR_RETURN(Json doc, cgminer::DecodeReply(body, what));
  if (command == "temps") {
    AddTemps(doc, out);
    return Status::Ok();
  }
  const Json* p = Field(doc, "POWER");
  if (p != nullptr && p->is_array() && !p->empty()) {
    std::optional<double> w = ToNumber(Field((*p)[0], "Watts"));
    if (w && *w > 0) SampleBuilder(out.samples).Add(metric::kPower, w);
  }
  return Status::Ok();
}

namespace {

constexpr std::string_view kOrder[] = {"summary", "pools", "stats", "temps",
                                       "power"};

// SESSION[0].SessionID of a session/logon reply; "" when none; an error for
// a refused or broken reply.
Result<std::string> SessionId(const Response& r, std::string_view what) {
  if (!r.transport.ok()) {
    return UnavailableError(std::string(what) + ": " + r.transport.ToString());
  }
  Result<Json> doc = cgminer::DecodeReply(r.body, what);
  if (!doc.ok()) {
    if (doc.status().code() == StatusCode::kFailedPrecondition) {
      // Code 402: another client holds the one session (§10.2).
      return UnavailableError(doc.status().message());
    }
    return doc.status();
  }
  const Json* s = Field(*doc, "SESSION");
  if (s == nullptr || !s->is_array() || s->empty()) {
    return InvalidArgumentError(std::string(what) +
                                ": no SESSION in the reply");
  }
  return std::string(
      json_util::ToStringView(Field((*s)[0], "SessionID")).value_or(""));
}

Request Command(std::string name, std::string_view param = {}) {
  std::string payload = "{\"command\":\"" + name + "\"";
  if (!param.empty()) {
    payload += ",\"parameter\":\"" + std::string(param) + "\"";
  }
  payload += "}";
  return Request{.name = std::move(name), .payload = std::move(payload)};
}

class LuxosExporter final : public Exporter {
 public:
  std::string_view Kind() const override { return "luxos"; }
  Protocol GetProtocol() const override { return Protocol::kCgminerTcp; }
  uint16_t DefaultPort() const override { return 4028; }

  std::vector<Request> PollRequests() const override {
    return cgminer::CommandRequests(kOrder);
  }

  Result<ScrapeResult> Parse(
      std::span<const Response> responses) const override {
    return cgminer::ParseReplies(kOrder, responses, &ParseReply);
  }

  Request RestartRequest() const override { return Command("session"); }

  // Replays the chain over the replies so far: session, [logon], reboot,
  // and on a refused reboot once more logon, reboot.
  Result<std::optional<Request>> NextRestartRequest(
      std::span<const Response> replies) const override {
    if (replies.empty()) return std::optional<Request>(Command("session"));
    RW_ASSIGN_OR_RETURN(std::string sid, SessionId(replies[0], "session"));
    size_t i = 1;
    bool relogged = false;
    while (true) {
      if (sid.empty()) {
        if (i == replies.size())
          return std::optional<Request>(Command("logon"));
        RW_ASSIGN_OR_RETURN(sid, SessionId(replies[i], "logon"));
        ++i;
        if (sid.empty()) {
          return InvalidArgumentError("logon: the reply names no session");
        }
      }
      if (i == replies.size()) {
        return std::optional<Request>(Command("rebootdevice", sid));
      }
      Status st = cgminer::CheckCommandReply(replies[i], "rebootdevice");
      ++i;
      // A missing, wrong or expired session is STATUS E: log on once more.
      if (!st.ok() && st.code() == StatusCode::kFailedPrecondition &&
          !relogged && i == replies.size()) {
        relogged = true;
        sid.clear();
        return std::optional<Request>(Command("logon"));
      }
      if (!st.ok() && relogged == false && i < replies.size()) {
        relogged = true;
        sid.clear();
        continue;
      }
      return std::optional<Request>();  // ParseRestartReply judges it
    }
  }

  Status ParseRestartReply(const Response& r) const override {
    return cgminer::CheckCommandReply(r, "rebootdevice");
  }
};

}  // namespace

const Exporter& GetExporter() {
  static const LuxosExporter kExporter;
  return kExporter;
}

}  // namespace rigwatch::luxos
