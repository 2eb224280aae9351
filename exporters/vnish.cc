// Vnish: the /api/v1 summary mapping and the unlock -> reboot token chain.
// See vnish.h.
#include "exporters/vnish.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <string>
#include <vector>

#include "exporters/json_util.h"
#include "exporters/miner_metrics.h"
#include "exporters/sample_builder.h"

namespace rigwatch::vnish {
namespace {

using json_util::Field;
using json_util::Json;
using json_util::ToNumber;
using json_util::ToStringView;

constexpr size_t kMaxChains = 16;
constexpr size_t kMaxFans = 16;
constexpr size_t kMaxPools = 16;

std::optional<double> Reading(const Json* v) {
  std::optional<double> d = ToNumber(v);
  if (d && *d != 0 && *d > -273.15) return d;
  return std::nullopt;
}

std::optional<double> NonNegative(const Json* v) {
  std::optional<double> d = ToNumber(v);
  if (d && *d >= 0) return d;
  return std::nullopt;
}

// The `max` of a {min, max} temperature object.
std::optional<double> MaxOf(const Json& obj, std::string_view key) {
  const Json* t = Field(obj, key);
  return t == nullptr ? std::nullopt : Reading(Field(*t, "max"));
}

// hr_measure ("GH/s", "MH/s", "TH/s") as a multiplier to H/s; GH/s when
// absent or unknown.
double RateScale(std::string_view unit) {
  if (unit.size() >= 2 && unit.substr(unit.size() - 2) == "/s") {
    unit.remove_suffix(2);
  }
  if (unit == "H") return 1;
  if (unit == "KH") return 1e3;
  if (unit == "MH") return 1e6;
  if (unit == "TH") return 1e12;
  return 1e9;
}

std::string Str(const Json& obj, std::string_view key) {
  return std::string(ToStringView(Field(obj, key)).value_or(""));
}

const Json* Array(const Json& obj, std::string_view key) {
  const Json* a = Field(obj, key);
  return a != nullptr && a->is_array() ? a : nullptr;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return out;
}

void AddChains(const Json& chains, double scale, ScrapeResult& out) {
  SampleBuilder b(out.samples);
  size_t n = 0;
  for (const Json& c : chains) {
    if (++n > kMaxChains) break;
    std::optional<double> id = ToNumber(Field(c, "id"));
    if (!id || *id < 0 || *id >= static_cast<double>(kMaxChains)) continue;
    const std::string i = std::to_string(static_cast<int>(*id));
    b.Add1(metric::kChainHashrate, NonNegative(Field(c, "hashrate_rt")), scale,
           "chain", i);
    b.Add1(metric::kTemperature, MaxOf(c, "chip_temp"), 1, "sensor",
           "chain" + i + "_chip");
    b.Add1(metric::kTemperature, MaxOf(c, "pcb_temp"), 1, "sensor",
           "chain" + i + "_board");
    if (const Json* st = Field(c, "status")) {
      if (std::optional<std::string_view> state =
              ToStringView(Field(*st, "state"))) {
        b.Add1(metric::kDeviceUp, *state == "mining" ? 1.0 : 0.0, 1, "device",
               "chain" + i);
      }
    }
  }
}

void AddFans(const Json& cooling, SampleBuilder& b) {
  if (const Json* fans = Array(cooling, "fans")) {
    size_t n = 0;
    for (const Json& f : *fans) {
      if (++n > kMaxFans) break;
      std::optional<double> id = ToNumber(Field(f, "id"));
      if (!id || *id < 0 || *id >= static_cast<double>(kMaxFans)) continue;
      std::optional<double> rpm = NonNegative(Field(f, "rpm"));
      if (Str(f, "status") == "lost") rpm = 0;  // lost fans read 0 anyway
      b.Add1(metric::kFanSpeed, rpm, 1, "fan",
             std::to_string(static_cast<int>(*id) + 1));
    }
  }
  std::optional<double> duty = NonNegative(Field(cooling, "fan_duty"));
  if (duty && *duty <= 100) b.Add(metric::kFanDuty, duty, {1, 100});
}

void AddPools(const Json& pools, SampleBuilder& b) {
  std::optional<double> accepted, rejected, difficulty;
  size_t n = 0;
  for (const Json& p : pools) {
    if (++n > kMaxPools) break;
    if (Str(p, "pool_type") == "DevFee") continue;  // not the owner's pool
    std::optional<double> id = ToNumber(Field(p, "id"));
    const std::string pool = std::to_string(
        id && *id >= 0 && *id < 1e6 ? static_cast<long long>(*id)
                                    : static_cast<long long>(n - 1));
    const std::string status = Lower(Str(p, "status"));
    if (!status.empty()) {
      const bool up =
          status == "active" || status == "working" || status == "alive";
      b.Add1(metric::kPoolUp, up ? 1.0 : 0.0, 1, "pool", pool);
      if (up && !difficulty) {
        difficulty = json_util::ToDifficulty(Field(p, "diff"));
      }
    }
    if (std::optional<double> a = NonNegative(Field(p, "accepted"))) {
      accepted = accepted.value_or(0) + *a;
    }
    if (std::optional<double> r = NonNegative(Field(p, "rejected"))) {
      rejected = rejected.value_or(0) + *r;
    }
  }
  b.Add(metric::kSharesAccepted, accepted);
  b.Add(metric::kSharesRejected, rejected);
  b.Add(metric::kPoolDifficulty, difficulty);
}

// "Antminer S19 XP (Vnish 1.2.6)" -> model "Antminer S19 XP", "1.2.6".
void FromMinerType(std::string_view type, MinerInfo& info) {
  const size_t open = type.find(" (");
  if (info.model.empty()) info.model = std::string(type.substr(0, open));
  if (open == std::string_view::npos || !info.firmware.empty()) return;
  std::string_view rest = type.substr(open + 2);
  if (rest.rfind("Vnish ", 0) == 0) rest.remove_prefix(6);
  info.firmware = std::string(rest.substr(0, rest.find(')')));
}

}  // namespace

Result<ScrapeResult> ParseSummary(std::string_view summary,
                                  std::string_view info) {
  ScrapeResult out;
  double scale = 1e9;
  if (!info.empty()) {
    RW_ASSIGN_OR_RETURN(Json doc, json_util::ParseLenient(info, "info"));
    if (!doc.is_object()) {
      return InvalidArgumentError("info: the reply is not a JSON object");
    }
    scale = RateScale(ToStringView(Field(doc, "hr_measure")).value_or("GH/s"));
    out.info.model = Str(doc, "miner");
    if (out.info.model.empty()) out.info.model = Str(doc, "model");
    out.info.firmware = Str(doc, "fw_version");
    if (const Json* sys = Field(doc, "system")) {
      if (const Json* net = Field(*sys, "network_status")) {
        out.info.hostname = Str(*net, "hostname");
      }
    }
  }
  RW_ASSIGN_OR_RETURN(Json doc, json_util::ParseLenient(summary, "summary"));
  const Json* m = Field(doc, "miner");
  if (m == nullptr || !m->is_object()) {
    return InvalidArgumentError("summary: no \"miner\" object in the reply");
  }
  SampleBuilder b(out.samples);
  if (std::optional<double> rt = NonNegative(Field(*m, "hr_realtime"))) {
    b.Add(metric::kHashrate, rt, scale);
  } else {
    b.Add(metric::kHashrate, NonNegative(Field(*m, "instant_hashrate")), 1e12);
  }
  if (std::optional<double> av = NonNegative(Field(*m, "hr_average"))) {
    b.Add1(metric::kHashrateAvg, av, scale, "window", "av");
  } else {
    b.Add1(metric::kHashrateAvg, NonNegative(Field(*m, "average_hashrate")),
           1e12, "window", "av");
  }
  if (const Json* chains = Array(*m, "chains")) AddChains(*chains, scale, out);
  b.Add1(metric::kTemperature, MaxOf(*m, "chip_temp"), 1, "sensor", "chip");
  b.Add1(metric::kTemperature, MaxOf(*m, "pcb_temp"), 1, "sensor", "board");
  std::optional<double> power = ToNumber(Field(*m, "power_consumption"));
  if (power && *power > 0) b.Add(metric::kPower, power);
  b.Add(metric::kHardwareErrors, NonNegative(Field(*m, "hw_errors")));
  if (const Json* cooling = Field(*m, "cooling")) AddFans(*cooling, b);
  if (const Json* pools = Array(*m, "pools")) AddPools(*pools, b);
  if (auto type = ToStringView(Field(*m, "miner_type"))) {
    FromMinerType(*type, out.info);
  }
  return out;
}

Status CheckHttpReply(const Response& r, std::string_view what) {
  const std::string w(what);
  if (!r.transport.ok()) {
    if (r.transport.code() == StatusCode::kResourceExhausted) {
      return DataLossError(
          w + ": reply cut at the size cap: " + r.transport.message());
    }
    return UnavailableError(w + ": " + r.transport.ToString());
  }
  if (r.http_status >= 200 && r.http_status <= 299) return Status::Ok();
  std::string text = json_util::MinerWords(r.body);
  std::string msg = w + ": HTTP " + std::to_string(r.http_status) +
                    (text.empty() ? "" : ": miner says \"" + text + "\"");
  if (r.http_status == 401 || r.http_status == 403) {
    return PermissionDeniedError(std::move(msg));
  }
  if (r.http_status == 404) return FailedPreconditionError(std::move(msg));
  return UnavailableError(std::move(msg));
}

namespace {

constexpr std::string_view kApi = "/api/v1";

Request Unlock() {
  return Request{.name = "unlock",
                 .method = "POST",
                 .path = std::string(kApi) + "/unlock",
                 .authenticate = true};
}

Request Reboot(const std::string& token) {
  return Request{.name = "reboot",
                 .method = "POST",
                 .path = std::string(kApi) + "/system/reboot",
                 .authorization = "Bearer " + token};
}

// The token of an unlock reply, or why there is none.
Result<std::string> Token(const Response& r) {
  Status st = CheckHttpReply(r, "unlock");
  if (!st.ok()) {
    if (r.http_status == 403) {
      return PermissionDeniedError(
          "unlock: HTTP 403: the miner refused the password (wrong "
          "auth.password_file?): miner says \"" +
          json_util::MinerWords(r.body) + "\"");
    }
    if (r.http_status == 429) {
      return UnavailableError(st.message() + " (too many unlock attempts)");
    }
    return st;
  }
  RW_ASSIGN_OR_RETURN(Json doc, json_util::ParseLenient(r.body, "unlock"));
  std::string token = Str(doc, "token");
  if (!json_util::IsTokenText(token)) {
    return InvalidArgumentError(
        "unlock: the reply has no usable \"token\" (a printable string)");
  }
  return token;
}

class VnishExporter final : public Exporter {
 public:
  std::string_view Kind() const override { return "vnish"; }
  Protocol GetProtocol() const override { return Protocol::kHttp; }
  uint16_t DefaultPort() const override { return 80; }
  Credentials DefaultCredentials() const override { return {"", "admin"}; }

  std::optional<std::string> LoginPayload(const Credentials& c) const override {
    return Json{{"pw", c.password}}.dump();
  }

  std::vector<Request> PollRequests() const override {
    return {Request{.name = "summary",
                    .method = "GET",
                    .path = std::string(kApi) + "/summary"},
            Request{.name = "info",
                    .method = "GET",
                    .path = std::string(kApi) + "/info",
                    .optional = true}};
  }

  Result<ScrapeResult> Parse(
      std::span<const Response> responses) const override {
    if (responses.size() != 2) {
      return InvalidArgumentError("vnish: expected 2 responses, got " +
                                  std::to_string(responses.size()));
    }
    RW_RETURN_IF_ERROR(CheckHttpReply(responses[0], "summary"));
    const Response& info = responses[1];
    // A failed or refused info costs the identity, not the poll; a broken
    // one is reported.
    const bool use_info = CheckHttpReply(info, "info").ok();
    return ParseSummary(responses[0].body,
                        use_info ? std::string_view(info.body) : "");
  }

  Request RestartRequest() const override { return Unlock(); }

  // unlock, reboot; on a 401 to the reboot once more unlock, reboot.
  Result<std::optional<Request>> NextRestartRequest(
      std::span<const Response> replies) const override {
    if (replies.empty()) return std::optional<Request>(Unlock());
    const size_t n = replies.size();
    if (n == 1 || n == 3) {
      RW_ASSIGN_OR_RETURN(std::string token, Token(replies[n - 1]));
      return std::optional<Request>(Reboot(token));
    }
    if (n == 2 && replies[1].transport.ok() && replies[1].http_status == 401) {
      return std::optional<Request>(Unlock());  // the token expired
    }
    return std::optional<Request>();  // ParseRestartReply judges the reboot
  }

  Status ParseRestartReply(const Response& r) const override {
    if (DroppedAfterSend(r)) return Status::Ok();  // going down already
    Status st = CheckHttpReply(r, "reboot");
    if (st.code() == StatusCode::kPermissionDenied) {
      return PermissionDeniedError(
          st.message() + " (the token of a fresh unlock was refused)");
    }
    return st;  // 200 {"after":3}: the seconds until it reboots
  }
};

}  // namespace

const Exporter& GetExporter() {
  static const VnishExporter kExporter;
  return kExporter;
}

}  // namespace rigwatch::vnish
