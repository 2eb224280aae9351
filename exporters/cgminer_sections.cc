// Section fields -> miner_* samples for the CGMiner API and its vendor
// variants (docs/protocols.md §2.3–§2.5). Every numeric field goes through
// json_util::ToNumber: Antminers print several as strings ("GHS 5s",
// "frequency", "chain_rateN") and some builds pad counters ("  5.0000").
#include "exporters/cgminer_sections.h"

#include <algorithm>
#include <cctype>
#include <string>

#include "exporters/miner_metrics.h"
#include "exporters/sample_builder.h"

namespace rigwatch::cgminer::internal {
namespace {

using json_util::Field;
using json_util::Json;
using json_util::ToNumber;

constexpr Unit kMega{1e6};  // MH/s -> H/s, MHz -> Hz
constexpr Unit kGiga{1e9};  // GH/s -> H/s

// The rolling hashrate key is "MHS %ds" from cgminer's --log interval (5 by
// default, §2.3); finds "<prefix> <digits>s".
const Json* RollingKey(const Json& obj, std::string_view prefix) {
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    std::string_view k = it.key();
    if (k.size() < prefix.size() + 3 || k.substr(0, prefix.size()) != prefix ||
        k[prefix.size()] != ' ' || k.back() != 's') {
      continue;
    }
    std::string_view digits =
        k.substr(prefix.size() + 1, k.size() - prefix.size() - 2);
    bool all_digits = !digits.empty();
    for (char c : digits) {
      all_digits = all_digits && std::isdigit(static_cast<unsigned char>(c));
    }
    if (all_digits) return &*it;
  }
  return nullptr;
}

std::optional<double> Positive(const Json* v) {
  std::optional<double> d = ToNumber(v);
  if (d && *d > 0) return d;
  return std::nullopt;
}

bool HasSample(const Samples& s, std::string_view name) {
  for (const Sample& x : s) {
    if (x.name == name) return true;
  }
  return false;
}

// Whatsminer prints "Firmware Version":"'20230306.22.REL'" (§2.5).
std::string Unquote(std::string_view s) {
  while (!s.empty() && (s.front() == '\'' || s.front() == '"')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == '\'' || s.back() == '"')) {
    s.remove_suffix(1);
  }
  return std::string(s);
}

}  // namespace

void AddSummary(const Json& status, const Json& items, ScrapeResult& out) {
  const Json& s = items[0];
  SampleBuilder b(out.samples);
  // MH/s in cgminer, BOSer, Whatsminer, LuxOS; GH/s (as strings) on bmminer.
  if (const Json* mhs = RollingKey(s, "MHS"); ToNumber(mhs)) {
    b.Add(metric::kHashrate, ToNumber(mhs), kMega);
  } else {
    b.Add(metric::kHashrate, ToNumber(RollingKey(s, "GHS")), kGiga);
  }
  if (Field(s, "MHS av") != nullptr) {
    b.Add1(metric::kHashrateAvg, ToNumber(Field(s, "MHS av")), kMega, "window",
           "av");
  } else {
    b.Add1(metric::kHashrateAvg, ToNumber(Field(s, "GHS av")), kGiga, "window",
           "av");
  }
  for (auto [key, window] :
       {std::pair{"MHS 1m", "1m"}, std::pair{"MHS 5m", "5m"},
        std::pair{"MHS 15m", "15m"}, std::pair{"MHS 24h", "1d"}}) {
    b.Add1(metric::kHashrateAvg, ToNumber(Field(s, key)), kMega, "window",
           window);
  }
  // Whatsminer's nominal rate.
  b.Add(metric::kExpectedHashrate, Positive(Field(s, "Factory GHS")), kGiga);
  b.Add(metric::kSharesAccepted, ToNumber(Field(s, "Accepted")));
  b.Add(metric::kSharesRejected, ToNumber(Field(s, "Rejected")));
  b.Add(metric::kHardwareErrors, ToNumber(Field(s, "Hardware Errors")));
  b.Add(metric::kErrorRatio, ToNumber(Field(s, "Device Hardware%")),
        Unit(1.0, 100.0));
  // cgminer's best share is kept since the mining process started.
  b.Add(metric::kBestSessionDifficulty,
        json_util::ToDifficulty(Field(s, "Best Share")));
  b.Add(metric::kBlocksFound, ToNumber(Field(s, "Found Blocks")));
  b.Add(metric::kUptime, ToNumber(Field(s, "Elapsed")));
  out.uptime_seconds = ToNumber(Field(s, "Elapsed"));
  // Whatsminer summary extras (API v2.0.x).
  b.Add(metric::kPower, ToNumber(Field(s, "Power")));
  b.Add1(metric::kFanSpeed, ToNumber(Field(s, "Fan Speed In")), 1, "fan", "in");
  b.Add1(metric::kFanSpeed, ToNumber(Field(s, "Fan Speed Out")), 1, "fan",
         "out");
  b.Add1(metric::kTemperature, Positive(Field(s, "Temperature")), 1, "sensor",
         "board");
  b.Add1(metric::kTemperature, Positive(Field(s, "Chip Temp Avg")), 1, "sensor",
         "chip");
  b.Add1(metric::kTemperature, Positive(Field(s, "Chip Temp Max")), 1, "sensor",
         "chip_max");
  b.Add1(metric::kTemperature, ToNumber(Field(s, "Env Temp")), 1, "sensor",
         "env");
  if (auto fw = json_util::ToStringView(Field(s, "Firmware Version"))) {
    out.info.firmware = Unquote(*fw);
  } else if (auto d = json_util::ToStringView(Field(status, "Description"))) {
    out.info.firmware = std::string(*d);
  }
}

void AddDevs(const Json& items, ScrapeResult& out) {
  SampleBuilder b(out.samples);
  int index = 0;
  for (const Json& d : items) {
    std::string device = "dev" + std::to_string(index++);
    for (const char* kind : {"ASC", "PGA", "GPU"}) {
      if (std::optional<double> n = ToNumber(Field(d, kind))) {
        device = std::string(kind) + std::to_string(static_cast<long long>(*n));
        std::transform(device.begin(), device.end(), device.begin(),
                       [](unsigned char c) { return std::tolower(c); });
        break;
      }
    }
    std::optional<std::string_view> status =
        json_util::ToStringView(Field(d, "Status"));
    if (status) {
      bool up = *status == "Alive" &&
                json_util::ToFlag(Field(d, "Enabled")).value_or(true);
      b.Add1(metric::kDeviceUp, up ? 1.0 : 0.0, 1, "device", device);
    }
    // 0 is what drivers without a sensor print.
    b.Add1(metric::kTemperature, Positive(Field(d, "Temperature")), 1, "sensor",
           device);
  }
}

void AddPools(const Json& items, ScrapeResult& out) {
  SampleBuilder b(out.samples);
  int index = 0;
  bool have_difficulty = false;
  for (const Json& p : items) {
    std::optional<double> n = ToNumber(Field(p, "POOL"));
    std::string pool = std::to_string(n ? static_cast<long long>(*n)
                                        : static_cast<long long>(index));
    ++index;
    if (auto status = json_util::ToStringView(Field(p, "Status"))) {
      b.Add1(metric::kPoolUp, *status == "Alive" ? 1.0 : 0.0, 1, "pool", pool);
    }
    if (!have_difficulty &&
        json_util::ToFlag(Field(p, "Stratum Active")).value_or(false)) {
      std::optional<double> diff = ToNumber(Field(p, "Stratum Difficulty"));
      b.Add(metric::kPoolDifficulty, diff);
      have_difficulty = diff.has_value();
    }
  }
}

void AddStats(const Json& items, ScrapeResult& out) {
  SampleBuilder b(out.samples);
  for (const Json& e : items) {
    if (out.info.model.empty()) {
      if (auto type = json_util::ToStringView(Field(e, "Type"))) {
        out.info.model = std::string(*type);
      }
    }
    bool antminer = false;
    for (int n = 1; n <= 16 && !antminer; ++n) {
      antminer = Field(e, "chain_acn" + std::to_string(n)) != nullptr;
    }
    if (!antminer) continue;  // generic per-device/pool stats, Avalon MM IDs
    Unit rate_scale = kGiga;
    if (auto unit = json_util::ToStringView(Field(e, "rate_unit"))) {
      if (*unit == "MH/s") rate_scale = kMega;
      if (*unit == "TH/s") rate_scale = Unit(1e12);
    }
    // All 16 slots are printed; a slot with chips is a real chain (§2.4).
    for (int n = 1; n <= 16; ++n) {
      const std::string i = std::to_string(n);
      std::optional<double> chips = Positive(Field(e, "chain_acn" + i));
      if (!chips) continue;
      const std::string chain = "chain" + i;
      b.Add1(metric::kChainChips, chips, 1, "chain", i);
      b.Add1(metric::kChainHashrate, ToNumber(Field(e, "chain_rate" + i)),
             rate_scale, "chain", i);
      b.Add1(metric::kTemperature, Positive(Field(e, "temp" + i)), 1, "sensor",
             chain + "_board");
      b.Add1(metric::kTemperature, Positive(Field(e, "temp2_" + i)), 1,
             "sensor", chain + "_chip");
    }
    for (int n = 1; n <= 8; ++n) {
      const std::string i = std::to_string(n);
      b.Add1(metric::kFanSpeed, Positive(Field(e, "fan" + i)), 1, "fan", i);
    }
    b.Add(metric::kFrequency, Positive(Field(e, "frequency")), kMega);
    if (!HasSample(out.samples, metric::kExpectedHashrate)) {
      b.Add(metric::kExpectedHashrate, Positive(Field(e, "total_rateideal")),
            rate_scale);
    }
  }
}

}  // namespace rigwatch::cgminer::internal
