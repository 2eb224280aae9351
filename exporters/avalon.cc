// Avalon: the MM ID token string and the ascset reboot. See avalon.h.
#include "exporters/avalon.h"

#include <cctype>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "exporters/cgminer.h"
#include "exporters/json_util.h"
#include "exporters/miner_metrics.h"
#include "exporters/sample_builder.h"

namespace rigwatch::avalon {
namespace {

using json_util::Field;
using json_util::Json;

constexpr Unit kGiga{1e9};

bool HasSample(const Samples& s, std::string_view name) {
  for (const Sample& x : s) {
    if (x.name == name) return true;
  }
  return false;
}

// Key[value] tokens (§9.2): a key is [A-Za-z0-9_]+ right before '['; the
// value runs to the next ']'. A later duplicate key keeps the first.
std::map<std::string, std::string, std::less<>> Tokens(std::string_view s) {
  std::map<std::string, std::string, std::less<>> out;
  size_t i = 0;
  while (true) {
    size_t open = s.find('[', i);
    if (open == std::string_view::npos) break;
    size_t k = open;
    while (k > 0 && (std::isalnum(static_cast<unsigned char>(s[k - 1])) ||
                     s[k - 1] == '_')) {
      --k;
    }
    size_t close = s.find(']', open + 1);
    if (close == std::string_view::npos) break;
    if (k < open) {
      out.emplace(std::string(s.substr(k, open - k)),
                  std::string(s.substr(open + 1, close - open - 1)));
    }
    i = close + 1;
  }
  return out;
}

// Whitespace-separated numbers; a trailing '%' is stripped (FanR[71%]).
std::vector<std::optional<double>> List(std::string_view v) {
  std::vector<std::optional<double>> out;
  size_t i = 0;
  while (i < v.size()) {
    while (i < v.size() && std::isspace(static_cast<unsigned char>(v[i]))) ++i;
    size_t j = i;
    while (j < v.size() && !std::isspace(static_cast<unsigned char>(v[j]))) ++j;
    if (j > i) {
      std::string_view t = v.substr(i, j - i);
      if (t.back() == '%') t.remove_suffix(1);
      out.push_back(json_util::ParseNumberText(t));
    }
    i = j;
  }
  return out;
}

using TokenMap = std::map<std::string, std::string, std::less<>>;

std::optional<double> One(const TokenMap& t, std::string_view key) {
  auto it = t.find(key);
  if (it == t.end()) return std::nullopt;
  std::vector<std::optional<double>> l = List(it->second);
  if (l.empty()) return std::nullopt;
  return l[0];
}

std::optional<double> Temp(std::optional<double> v) {
  if (v && *v > -273 && *v != 0) return v;  // -273 = no sensor, 0 = idle
  return std::nullopt;
}

// The first of `keys` that holds a temperature reading.
std::optional<double> AnyOf(const TokenMap& t,
                            std::initializer_list<std::string_view> keys) {
  for (std::string_view k : keys) {
    if (std::optional<double> v = Temp(One(t, k))) return v;
  }
  return std::nullopt;
}

}  // namespace

void AddMmId(std::string_view mm, ScrapeResult& out) {
  const TokenMap t = Tokens(mm);
  SampleBuilder b(out.samples);
  b.Add1(metric::kTemperature, Temp(AnyOf(t, {"ITemp", "Temp"})), 1, "sensor",
         "inlet");
  b.Add1(metric::kTemperature, Temp(One(t, "OTemp")), 1, "sensor", "outlet");
  b.Add1(metric::kTemperature, Temp(AnyOf(t, {"TMax", "Tmax"})), 1, "sensor",
         "chip");
  b.Add1(metric::kTemperature, Temp(AnyOf(t, {"TAvg", "Tavg"})), 1, "sensor",
         "chip_avg");
  for (auto [key, suffix] :
       {std::pair{"MTmax", "_chip"}, std::pair{"HBITemp", "_inlet"},
        std::pair{"HBOTemp", "_outlet"}}) {
    auto it = t.find(key);
    if (it == t.end()) continue;
    std::vector<std::optional<double>> l = List(it->second);
    for (size_t n = 0; n < l.size(); ++n) {
      b.Add1(metric::kTemperature, Temp(l[n]), 1, "sensor",
             "chain" + std::to_string(n) + suffix);
    }
  }
  for (int n = 1; n <= 4; ++n) {
    const std::string i = std::to_string(n);
    b.Add1(metric::kFanSpeed, One(t, "Fan" + i), 1, "fan", i);
  }
  b.Add1(metric::kFanDuty, One(t, "FanR"), Unit(1, 100), "fan", "all");
  if (!HasSample(out.samples, metric::kHashrate)) {
    b.Add(metric::kHashrate, One(t, "GHSspd"), kGiga);
  }
  b.Add(metric::kExpectedHashrate, One(t, "GHSmm"), kGiga);
  if (auto it = t.find("MGHS"); it != t.end()) {
    std::vector<std::optional<double>> l = List(it->second);
    for (size_t n = 0; n < l.size(); ++n) {
      b.Add1(metric::kChainHashrate, l[n], kGiga, "chain", std::to_string(n));
    }
  }
  for (int n = 0; n < 16; ++n) {
    auto it = t.find("PVT_T" + std::to_string(n));
    if (it == t.end()) continue;
    double chips = 0;
    for (const std::optional<double>& v : List(it->second)) {
      if (v && *v != 0) ++chips;
    }
    b.Add1(metric::kChainChips, chips, 1, "chain", std::to_string(n));
  }
  std::optional<double> power = One(t, "WALLPOWER");
  if (!power) {
    if (auto it = t.find("PS"); it != t.end()) {
      std::vector<std::optional<double>> ps = List(it->second);
      if (ps.size() >= 7) {
        power = ps[6];
      } else if (ps.size() >= 5) {
        power = ps[4];
      }
    }
  }
  if (power && *power > 0) b.Add(metric::kPower, power);
  if (!out.uptime_seconds) {
    out.uptime_seconds = One(t, "Elapsed");
    b.Add(metric::kUptime, out.uptime_seconds);
  }
}

Status ParseReply(std::string_view command, std::string_view body,
                  ScrapeResult& out) {
  if (command == "summary") {
    return cgminer::ParseSection(cgminer::Section::kSummary, body, out);
  }
  if (command == "pools") {
    return cgminer::ParseSection(cgminer::Section::kPools, body, out);
  }
  const std::string what(command);
  if (command != "stats" && command != "version") {
    return InvalidArgumentError("avalon: no parser for \"" + what + "\"");
  }
  RW_ASSIGN_OR_RETURN(Json doc, cgminer::DecodeReply(body, what));
  const Json* items = Field(doc, command == "stats" ? "STATS" : "VERSION");
  if (items == nullptr || !items->is_array()) {
    return InvalidArgumentError(what + ": no " +
                                (command == "stats" ? "STATS" : "VERSION") +
                                " array in the reply");
  }
  for (const Json& e : *items) {
    if (!e.is_object()) continue;
    if (command == "version") {
      // PROD upper-cased and cut at '-'; generic names fall back to MODEL.
      std::string prod(json_util::ToStringView(Field(e, "PROD")).value_or(""));
      for (char& c : prod) c = static_cast<char>(std::toupper(c));
      if (size_t dash = prod.find('-'); dash != std::string::npos) {
        prod.resize(dash);
      }
      while (!prod.empty() && prod.back() == ' ') prod.pop_back();
      if (prod.empty() || prod == "AVALONNANO" || prod == "AVALON0O" ||
          prod == "AVALONMINER 15") {
        if (auto m = json_util::ToStringView(Field(e, "MODEL"))) {
          prod = std::string(*m);
        }
      }
      if (!prod.empty()) out.info.model = prod;
      if (auto v = json_util::ToStringView(Field(e, "VERSION"))) {
        out.info.firmware = std::string(*v);
      }
      continue;
    }
    for (auto it = e.begin(); it != e.end(); ++it) {
      if (it.key().rfind("MM ID", 0) == 0 && it->is_string()) {
        AddMmId(it->get_ref<const std::string&>(), out);
        break;  // one controller string per entry
      }
    }
  }
  return Status::Ok();
}

namespace {

constexpr std::string_view kOrder[] = {"summary", "pools", "stats", "version"};

class AvalonExporter final : public Exporter {
 public:
  std::string_view Kind() const override { return "avalon"; }
  Protocol GetProtocol() const override { return Protocol::kCgminerTcp; }
  uint16_t DefaultPort() const override { return 4028; }

  std::vector<Request> PollRequests() const override {
    return cgminer::CommandRequests(kOrder);
  }

  Result<ScrapeResult> Parse(
      std::span<const Response> responses) const override {
    return cgminer::ParseReplies(kOrder, responses, &ParseReply);
  }

  Request RestartRequest() const override {
    return Request{
        .name = "ascset reboot",
        .payload = R"({"command":"ascset","parameter":"0,reboot,0"})"};
  }

  Status ParseRestartReply(const Response& r) const override {
    return cgminer::CheckCommandReply(r, "ascset reboot");
  }
};

}  // namespace

const Exporter& GetExporter() {
  static const AvalonExporter kExporter;
  return kExporter;
}

}  // namespace rigwatch::avalon
