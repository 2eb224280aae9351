// AxeOS /api/system/info -> miner_* samples. Field names, units and the
// version drift handled here are in docs/protocols.md §1.3–§1.6.
#include "exporters/bitaxe.h"

#include <array>
#include <charconv>
#include <initializer_list>
#include <string>
#include <tuple>
#include <utility>

#include "exporters/json_util.h"
#include "exporters/miner_metrics.h"
#include "exporters/sample_builder.h"

namespace rigwatch::bitaxe {
namespace {

using json_util::Field;
using json_util::Json;
using json_util::ToNumber;

constexpr Unit kGiga{1e9};            // GH/s -> hashes/s
constexpr Unit kMilli{1.0, 1000.0};   // mV -> V, mA -> A
constexpr Unit kMega{1e6};            // MHz -> Hz
constexpr Unit kPercent{1.0, 100.0};  // % -> ratio

// "v2.10.1", "2.4.0", "v1.0.35-rc2" -> {2,10,1}; missing parts are 0.
using Version = std::array<int, 3>;
std::optional<Version> ParseVersion(std::string_view s) {
  if (!s.empty() && (s.front() == 'v' || s.front() == 'V')) s.remove_prefix(1);
  Version v{0, 0, 0};
  for (int part = 0; part < 3; ++part) {
    int n = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (ec != std::errc()) return part == 0 ? std::nullopt : std::optional(v);
    v[part] = n;
    s.remove_prefix(static_cast<size_t>(p - s.data()));
    if (s.empty() || s.front() != '.') break;
    s.remove_prefix(1);
  }
  return v;
}

// NerdQAxe's ArduinoJson /info has members AxeOS never had (§1.6).
bool IsNerdQAxe(const Json& doc) {
  if (std::optional<std::string_view> m =
          json_util::ToStringView(Field(doc, "deviceModel"));
      m && m->find("NerdQ") != std::string_view::npos) {
    return true;
  }
  for (const char* key :
       {"asicTemps", "hostip", "freeHeapInt", "hashRateTimestamp"}) {
    if (Field(doc, key) != nullptr) return true;
  }
  return false;
}

// A temperature unless it equals a firmware "no reading" sentinel.
std::optional<double> Reading(const Json& doc, const char* key,
                              std::initializer_list<double> sentinels) {
  std::optional<double> t = ToNumber(Field(doc, key));
  if (!t) return std::nullopt;
  for (double s : sentinels) {
    if (*t == s) return std::nullopt;
  }
  return t;
}

void AddTemperatures(const Json& doc, bool nerd, SampleBuilder& b) {
  // temp is the average on AxeOS and the maximum on NerdQAxe; both are the
  // ASIC temperature a rule should watch, so both are sensor="asic".
  b.Add1(metric::kTemperature, Reading(doc, "temp", {-1}), 1, "sensor", "asic");
  b.Add1(metric::kTemperature, Reading(doc, "temp2", {0, -1}), 1, "sensor",
         "asic2");
  b.Add1(metric::kTemperature, Reading(doc, "vrTemp", {0}), 1, "sensor", "vr");
  const Json* per_asic = Field(doc, "asicTemps");
  if (!nerd || per_asic == nullptr || !per_asic->is_array()) return;
  bool any = false;
  for (const Json& t : *per_asic) {
    std::optional<double> v = ToNumber(t);
    if (v && *v != 0) any = true;
  }
  if (!any) return;  // boards without per-ASIC sensors report all zeros
  int n = 0;
  for (const Json& t : *per_asic) {
    b.Add1(metric::kTemperature, ToNumber(t), 1, "sensor",
           "asic" + std::to_string(n++));
  }
}

void AddHashrates(const Json& doc, bool nerd, std::optional<Version> version,
                  SampleBuilder& b) {
  // NerdQAxe v1.0.30–v1.0.32 report the 10-minute average as hashRate; the
  // current value exists only from v1.0.33 (§1.6).
  const bool hashrate_is_10m = nerd && version && (*version)[0] == 1 &&
                               (*version)[1] == 0 && (*version)[2] < 33;
  if (hashrate_is_10m) {
    if (Field(doc, "hashRate_10m") == nullptr) {
      b.Add1(metric::kHashrateAvg, ToNumber(Field(doc, "hashRate")), kGiga,
             "window", "10m");
    }
  } else {
    b.Add(metric::kHashrate, ToNumber(Field(doc, "hashRate")), kGiga);
  }
  for (auto [key, window] :
       {std::pair{"hashRate_1m", "1m"}, std::pair{"hashRate_10m", "10m"},
        std::pair{"hashRate_1h", "1h"}, std::pair{"hashRate_1d", "1d"}}) {
    b.Add1(metric::kHashrateAvg, ToNumber(Field(doc, key)), kGiga, "window",
           window);
  }
  b.Add(metric::kExpectedHashrate, ToNumber(Field(doc, "expectedHashrate")),
        kGiga);
}

void AddPower(const Json& doc, SampleBuilder& b) {
  b.Add(metric::kPower, ToNumber(Field(doc, "power")));
  b.Add(metric::kInputVoltage, ToNumber(Field(doc, "voltage")), kMilli);
  if (std::optional<double> ma = ToNumber(Field(doc, "current"))) {
    b.Add(metric::kInputCurrent, ma, kMilli);
  } else {
    b.Add(metric::kInputCurrent, ToNumber(Field(doc, "currentA")));  // A
  }
  b.Add1(metric::kCoreVoltage, ToNumber(Field(doc, "coreVoltage")), kMilli,
         "kind", "configured");
  b.Add1(metric::kCoreVoltage, ToNumber(Field(doc, "coreVoltageActual")),
         kMilli, "kind", "measured");
}

void AddFans(const Json& doc, SampleBuilder& b) {
  // v2.0–v2.1: `fanSpeed` is RPM and v2.1's `fanspeed` the configured duty;
  // v2.2+: `fanrpm` RPM and `fanspeed` the live duty (§1.3).
  const Json* legacy_rpm = Field(doc, "fanSpeed");
  if (legacy_rpm != nullptr) {
    b.Add1(metric::kFanSpeed, ToNumber(legacy_rpm), 1, "fan", "1");
  } else {
    b.Add1(metric::kFanSpeed, ToNumber(Field(doc, "fanrpm")), 1, "fan", "1");
    b.Add1(metric::kFanDuty, ToNumber(Field(doc, "fanspeed")), kPercent, "fan",
           "1");
  }
  // A second fan header reads 0 on single-fan boards: 0 is "no fan there".
  for (const char* key : {"fan2rpm", "fanrpm2"}) {
    std::optional<double> rpm = ToNumber(Field(doc, key));
    if (rpm && *rpm > 0) {
      b.Add1(metric::kFanSpeed, rpm, 1, "fan", "2");
      break;
    }
  }
  if (std::optional<double> duty = ToNumber(Field(doc, "fanspeed2"))) {
    b.Add1(metric::kFanDuty, duty, kPercent, "fan", "2");
  }
}

void AddMining(const Json& doc, SampleBuilder& b) {
  // The measured clock when the firmware has it (v2.14+), else the set one.
  const Json* freq = Field(doc, "actualFrequency");
  if (!ToNumber(freq)) freq = Field(doc, "frequency");
  b.Add(metric::kFrequency, ToNumber(freq), kMega);
  b.Add(metric::kSharesAccepted, ToNumber(Field(doc, "sharesAccepted")));
  b.Add(metric::kSharesRejected, ToNumber(Field(doc, "sharesRejected")));
  b.Add(metric::kBestDifficulty,
        json_util::ToDifficulty(Field(doc, "bestDiff")));
  b.Add(metric::kBestSessionDifficulty,
        json_util::ToDifficulty(Field(doc, "bestSessionDiff")));
  const Json* pool_diff = Field(doc, "poolDifficulty");
  if (pool_diff == nullptr) pool_diff = Field(doc, "stratumDiff");  // v2.5–2.8
  b.Add(metric::kPoolDifficulty, ToNumber(pool_diff));
  b.Add(metric::kErrorRatio, ToNumber(Field(doc, "errorPercentage")), kPercent);
  const Json* blocks = Field(doc, "blockFound");
  if (blocks == nullptr) blocks = Field(doc, "foundBlocks");  // NerdQAxe
  b.Add(metric::kBlocksFound, ToNumber(blocks));
  b.Add(metric::kUptime, ToNumber(Field(doc, "uptimeSeconds")));
}

void AddPools(const Json& doc, SampleBuilder& b) {
  // NerdQAxe: stratum.pools[].connected. AxeOS has no per-pool state.
  const Json* stratum = Field(doc, "stratum");
  const Json* pools = stratum ? Field(*stratum, "pools") : nullptr;
  if (pools == nullptr || !pools->is_array()) return;
  int n = 0;
  for (const Json& p : *pools) {
    std::optional<bool> up = json_util::ToFlag(Field(p, "connected"));
    if (up)
      b.Add1(metric::kPoolUp, *up ? 1.0 : 0.0, 1, "pool", std::to_string(n));
    ++n;
  }
}

void AddDevice(const Json& doc, bool nerd, std::optional<Version> version,
               SampleBuilder& b) {
  b.Add(metric::kWifiRssi, ToNumber(Field(doc, "wifiRSSI")));
  // freeHeap is the total on AxeOS but PSRAM on NerdQAxe (§1.6).
  b.Add1(metric::kFreeHeap, ToNumber(Field(doc, "freeHeap")), 1, "memory",
         nerd ? "psram" : "total");
  b.Add1(metric::kFreeHeap, ToNumber(Field(doc, "freeHeapInternal")), 1,
         "memory", "internal");
  b.Add1(metric::kFreeHeap, ToNumber(Field(doc, "freeHeapInt")), 1, "memory",
         "internal");
  b.Add1(metric::kFreeHeap, ToNumber(Field(doc, "freeHeapSpiram")), 1, "memory",
         "psram");
  if (std::optional<bool> o = json_util::ToFlag(Field(doc, "overheat_mode"))) {
    b.Add(metric::kOverheat, *o ? 1.0 : 0.0);
  }
  // power_fault (v2.6+) and hardware_fault (v2.14+) exist only during a
  // fault; on firmware that has them, absence is a known 0.
  const bool axeos = !nerd && version && (*version)[0] == 2;
  for (auto [key, fault, since_minor] :
       {std::tuple{"power_fault", "power", 6},
        std::tuple{"hardware_fault", "hardware", 14}}) {
    if (Field(doc, key) != nullptr) {
      b.Add1(metric::kFault, 1.0, 1, "fault", fault);
    } else if (axeos && (*version)[1] >= since_minor) {
      b.Add1(metric::kFault, 0.0, 1, "fault", fault);
    }
  }
}

std::string StringOr(const Json& doc, const char* key) {
  std::optional<std::string_view> s = json_util::ToStringView(Field(doc, key));
  return s ? std::string(*s) : std::string();
}

}  // namespace

Result<ScrapeResult> ParseInfo(std::string_view body) {
  RW_ASSIGN_OR_RETURN(Json doc, json_util::ParseLenient(body, "info"));
  if (!doc.is_object()) {
    return InvalidArgumentError(
        std::string("info: expected a JSON object at byte 0, got ") +
        doc.type_name());
  }
  const bool nerd = IsNerdQAxe(doc);
  std::optional<Version> version;
  if (std::optional<std::string_view> v =
          json_util::ToStringView(Field(doc, "version"))) {
    version = ParseVersion(*v);
  }
  ScrapeResult out;
  SampleBuilder b(out.samples);
  AddHashrates(doc, nerd, version, b);
  AddTemperatures(doc, nerd, b);
  AddPower(doc, b);
  AddFans(doc, b);
  AddMining(doc, b);
  AddPools(doc, b);
  AddDevice(doc, nerd, version, b);
  out.uptime_seconds = ToNumber(Field(doc, "uptimeSeconds"));
  out.info.model = StringOr(doc, "deviceModel");
  if (out.info.model.empty()) out.info.model = StringOr(doc, "ASICModel");
  out.info.firmware = StringOr(doc, "version");
  out.info.hostname = StringOr(doc, "hostname");
  return out;
}

namespace {

Status CheckHttp(const Response& r, std::string_view what) {
  const std::string w(what);
  if (!r.transport.ok()) {
    if (r.transport.code() == StatusCode::kResourceExhausted) {
      return DataLossError(
          w + ": reply cut at the size cap: " + r.transport.message());
    }
    return UnavailableError(w + ": " + r.transport.ToString());
  }
  if (r.http_status == 401 || r.http_status == 403) {
    return PermissionDeniedError(
        w + ": HTTP " + std::to_string(r.http_status) +
        ": AxeOS v2.5+ answers only clients with a private source address "
        "(10/8, 172.16/12, 192.168/16); poll it from the miner's LAN, not "
        "over a VPN/CGNAT or loopback address");
  }
  if (r.http_status < 200 || r.http_status > 299) {
    return UnavailableError(w + ": HTTP " + std::to_string(r.http_status));
  }
  return Status::Ok();
}

class BitaxeExporter final : public Exporter {
 public:
  std::string_view Kind() const override { return "bitaxe"; }
  Protocol GetProtocol() const override { return Protocol::kHttp; }
  uint16_t DefaultPort() const override { return 80; }

  std::vector<Request> PollRequests() const override {
    return {
        Request{.name = "info", .method = "GET", .path = "/api/system/info"}};
  }

  Result<ScrapeResult> Parse(
      std::span<const Response> responses) const override {
    if (responses.size() != 1) {
      return InvalidArgumentError("info: expected 1 response, got " +
                                  std::to_string(responses.size()));
    }
    RW_RETURN_IF_ERROR(CheckHttp(responses[0], "info"));
    return ParseInfo(responses[0].body);
  }

  Request RestartRequest() const override {
    return Request{
        .name = "restart", .method = "POST", .path = "/api/system/restart"};
  }

  Status ParseRestartReply(const Response& r) const override {
    if (DroppedAfterSend(r)) {
      return Status::Ok();  // v2.0 reboots at once: reset/EOF, no reply
    }
    // Any 2xx body counts: none, text (v2.1–v2.12) or JSON (v2.13+).
    return CheckHttp(r, "restart");
  }
};

}  // namespace

const Exporter& GetExporter() {
  static const BitaxeExporter kExporter;
  return kExporter;
}

}  // namespace rigwatch::bitaxe
