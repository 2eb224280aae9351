// Braiins OS: the cgminer summary/pools plus temps, fans, tunerstatus and
// devdetails, and the REST version -> login -> reboot chain. See braiins.h.
#include "exporters/braiins.h"

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "exporters/cgminer.h"
#include "exporters/json_util.h"
#include "exporters/miner_metrics.h"
#include "exporters/sample_builder.h"
#include "exporters/vnish.h"

namespace rigwatch::braiins {
namespace {

using json_util::Field;
using json_util::Json;
using json_util::ToNumber;
using json_util::ToStringView;

constexpr double kMaxId = 16;

std::optional<double> Reading(const Json* v) {
  std::optional<double> d = ToNumber(v);
  if (d && *d != 0 && *d > -273.15) return d;
  return std::nullopt;
}

const Json* Section(const Json& doc, std::string_view name) {
  const Json* a = Field(doc, name);
  return a != nullptr && a->is_array() ? a : nullptr;
}

std::optional<std::string> Id(const Json& row, std::string_view key) {
  std::optional<double> id = ToNumber(Field(row, key));
  if (!id || *id < 0 || *id >= kMaxId) return std::nullopt;
  return std::to_string(static_cast<int>(*id));
}

void AddTemps(const Json& rows, ScrapeResult& out) {
  SampleBuilder b(out.samples);
  std::optional<double> chip, board;
  for (const Json& row : rows) {
    std::optional<std::string> n = Id(row, "ID");
    if (!n) continue;
    std::optional<double> c = Reading(Field(row, "Chip"));
    std::optional<double> p = Reading(Field(row, "Board"));
    b.Add1(metric::kTemperature, c, 1, "sensor", "chain" + *n + "_chip");
    b.Add1(metric::kTemperature, p, 1, "sensor", "chain" + *n + "_board");
    if (c) chip = std::max(chip.value_or(*c), *c);
    if (p) board = std::max(board.value_or(*p), *p);
  }
  b.Add1(metric::kTemperature, chip, 1, "sensor", "chip");
  b.Add1(metric::kTemperature, board, 1, "sensor", "board");
}

void AddFans(const Json& rows, ScrapeResult& out) {
  SampleBuilder b(out.samples);
  std::optional<double> duty;
  for (const Json& row : rows) {
    std::optional<double> id = ToNumber(Field(row, "ID"));
    if (!id || *id < 0 || *id >= kMaxId) continue;
    std::optional<double> rpm = ToNumber(Field(row, "RPM"));
    if (!duty) {
      std::optional<double> s = ToNumber(Field(row, "Speed"));
      if (s && *s >= 0 && *s <= 100) duty = s;
    }
    if (!rpm || *rpm <= 0) continue;  // an empty slot
    b.Add1(metric::kFanSpeed, rpm, 1, "fan",
           std::to_string(static_cast<int>(*id) + 1));
  }
  b.Add(metric::kFanDuty, duty, {1, 100});
}

bool ChainOk(std::string_view status) {
  return status == "Stable" || status == "Testing performance profile" ||
         status == "Tuning individual chips";
}

void AddTuner(const Json& rows, ScrapeResult& out) {
  if (rows.empty()) return;
  const Json& t = rows[0];
  SampleBuilder b(out.samples);
  std::optional<double> w =
      ToNumber(Field(t, "ApproximateMinerPowerConsumption"));
  if (w && *w > 0) b.Add(metric::kPower, w);
  const Json* chains = Field(t, "TunerChainStatus");
  if (chains == nullptr || !chains->is_array()) return;
  for (const Json& c : *chains) {
    std::optional<std::string> n = Id(c, "HashchainIndex");
    std::optional<std::string_view> st = ToStringView(Field(c, "Status"));
    if (!n || !st) continue;
    b.Add1(metric::kDeviceUp, ChainOk(*st) ? 1.0 : 0.0, 1, "device",
           "chain" + *n);
  }
}

}  // namespace

Status ParseReply(std::string_view command, std::string_view body,
                  ScrapeResult& out) {
  if (command == "summary") {
    return cgminer::ParseSection(cgminer::Section::kSummary, body, out);
  }
  if (command == "pools") {
    return cgminer::ParseSection(cgminer::Section::kPools, body, out);
  }
  const std::string what(command);
  const char* section = command == "temps"         ? "TEMPS"
                        : command == "fans"        ? "FANS"
                        : command == "tunerstatus" ? "TUNERSTATUS"
                        : command == "devdetails"  ? "DEVDETAILS"
                                                   : nullptr;
  if (section == nullptr) {
    return InvalidArgumentError("braiins: no parser for \"" + what + "\"");
  }
  RW_ASSIGN_OR_RETURN(Json doc, cgminer::DecodeReply(body, what));
  const Json* rows = Section(doc, section);
  if (rows == nullptr) {
    return InvalidArgumentError(what + ": no " + section +
                                " array in the reply");
  }
  if (command == "temps") {
    AddTemps(*rows, out);
  } else if (command == "fans") {
    AddFans(*rows, out);
  } else if (command == "tunerstatus") {
    AddTuner(*rows, out);
  } else if (!rows->empty()) {
    // "Bitmain Antminer S19j Pro" -> "Antminer S19j Pro".
    std::string model(ToStringView(Field((*rows)[0], "Model")).value_or(""));
    if (model.rfind("Bitmain ", 0) == 0) model.erase(0, 8);
    if (out.info.model.empty()) out.info.model = std::move(model);
  }
  return Status::Ok();
}

namespace {

constexpr std::string_view kOrder[] = {"summary", "pools",       "devdetails",
                                       "temps",   "tunerstatus", "fans"};

Request Web(std::string name, std::string method, std::string path) {
  return Request{.name = std::move(name),
                 .method = std::move(method),
                 .path = std::move(path),
                 .side = Request::Side::kWeb};
}

Request Version() { return Web("version", "GET", "/api/v1/version/"); }

Request Login() {
  Request r = Web("login", "POST", "/api/v1/auth/login");
  r.authenticate = true;
  return r;
}

Request Reboot(std::string token) {
  Request r = Web("reboot", "PUT", "/api/v1/actions/reboot");
  r.authorization = std::move(token);  // raw, no "Bearer" (§8.2)
  return r;
}

constexpr std::string_view kOtherApis =
    ": Braiins OS before 25.07 is restarted through GraphQL, gRPC or LuCI, "
    "which rigwatch does not speak; restart it from its web UI";

// Ok when the REST API (1.7.0 and later) is there. Builds without it
// answer 404, or their web UI's page: both are "unsupported".
Status CheckVersion(const Response& r) {
  if (r.transport.ok() && r.http_status == 404) {
    return FailedPreconditionError(
        "unsupported: version: HTTP 404, no REST API" +
        std::string(kOtherApis));
  }
  RW_RETURN_IF_ERROR(vnish::CheckHttpReply(r, "version"));
  Result<Json> doc = json_util::ParseLenient(r.body, "version");
  std::optional<double> major, minor;
  if (doc.ok()) {
    major = ToNumber(Field(*doc, "major"));
    minor = ToNumber(Field(*doc, "minor"));
  }
  if (!major || !minor) {
    return FailedPreconditionError(
        "unsupported: version: the reply is not the REST API's "
        "{major, minor} (miner says \"" +
        json_util::MinerWords(r.body) + "\")" + std::string(kOtherApis));
  }
  if (*major < 1 || (*major == 1 && *minor < 7)) {
    return FailedPreconditionError(
        "unsupported: version: API " +
        std::to_string(static_cast<int>(*major)) + "." +
        std::to_string(static_cast<int>(*minor)) +
        " is older than 1.7.0 (Braiins OS 25.07)" + std::string(kOtherApis));
  }
  return Status::Ok();
}

Result<std::string> Token(const Response& r) {
  RW_RETURN_IF_ERROR(vnish::CheckHttpReply(r, "login"));
  RW_ASSIGN_OR_RETURN(Json doc, json_util::ParseLenient(r.body, "login"));
  std::string token(ToStringView(Field(doc, "token")).value_or(""));
  if (!json_util::IsTokenText(token)) {
    return InvalidArgumentError(
        "login: the reply has no usable \"token\" (a printable string)");
  }
  return token;
}

class BraiinsExporter final : public Exporter {
 public:
  std::string_view Kind() const override { return "braiins"; }
  Protocol GetProtocol() const override { return Protocol::kCgminerTcp; }
  uint16_t DefaultPort() const override { return 4028; }
  uint16_t DefaultHttpPort() const override { return 80; }
  Credentials DefaultCredentials() const override { return {"root", "root"}; }

  std::optional<std::string> LoginPayload(const Credentials& c) const override {
    return Json{{"username", c.username}, {"password", c.password}}.dump();
  }

  std::vector<Request> PollRequests() const override {
    return cgminer::CommandRequests(kOrder);
  }

  Result<ScrapeResult> Parse(
      std::span<const Response> responses) const override {
    return cgminer::ParseReplies(kOrder, responses, &ParseReply);
  }

  Request RestartRequest() const override { return Version(); }

  // version, login, reboot; on a 401 to the reboot once more login, reboot.
  Result<std::optional<Request>> NextRestartRequest(
      std::span<const Response> replies) const override {
    const size_t n = replies.size();
    if (n == 0) return std::optional<Request>(Version());
    if (n == 1) {
      RW_RETURN_IF_ERROR(CheckVersion(replies[0]));
      return std::optional<Request>(Login());
    }
    if (n == 2 || n == 4) {
      RW_ASSIGN_OR_RETURN(std::string token, Token(replies[n - 1]));
      return std::optional<Request>(Reboot(std::move(token)));
    }
    if (n == 3 && replies[2].transport.ok() && replies[2].http_status == 401) {
      return std::optional<Request>(Login());  // the session expired
    }
    return std::optional<Request>();  // ParseRestartReply judges the reboot
  }

  Status ParseRestartReply(const Response& r) const override {
    if (DroppedAfterSend(r)) return Status::Ok();  // going down already
    return vnish::CheckHttpReply(r, "reboot");     // 204, no body
  }
};

}  // namespace

const Exporter& GetExporter() {
  static const BraiinsExporter kExporter;
  return kExporter;
}

}  // namespace rigwatch::braiins
