// Antminer stock firmware: 4028 data with the §6.3 stats mapping, the web
// CGI data fallback and reboot with HTTP Digest. See antminer.h.
#include "exporters/antminer.h"

#include <algorithm>
#include <iterator>
#include <map>
#include <optional>
#include <string>

#include "exporters/cgminer.h"
#include "exporters/json_util.h"
#include "exporters/miner_metrics.h"
#include "exporters/sample_builder.h"

namespace rigwatch::antminer {
namespace {

using json_util::Field;
using json_util::Json;
using json_util::ToNumber;

constexpr int kMaxChains = 16;  // every slot is printed (§6.3)
constexpr int kMaxFans = 8;

std::optional<double> Positive(const Json* v) {
  std::optional<double> d = ToNumber(v);
  if (d && *d > 0) return d;
  return std::nullopt;
}

// "GH", "GH/s", "TH", "MH/s", "H/s" -> the multiplier to H/s. Absent or
// unknown: GH (§6.3).
double RateScale(const Json& e) {
  std::string_view u =
      json_util::ToStringView(Field(e, "rate_unit")).value_or("GH");
  if (u.size() >= 2 && u.substr(u.size() - 2) == "/s") u.remove_suffix(2);
  if (u == "H") return 1;
  if (u == "KH") return 1e3;
  if (u == "MH") return 1e6;
  if (u == "TH") return 1e12;
  if (u == "PH") return 1e15;
  return 1e9;
}

// Running maxima per sensor label, emitted in first-seen order.
class Maxima {
 public:
  void Put(const std::string& sensor, double v) {
    auto [it, fresh] = max_.emplace(sensor, v);
    if (fresh) {
      order_.push_back(sensor);
    } else {
      it->second = std::max(it->second, v);
    }
  }
  void PutAll(const std::string& sensor, const std::vector<double>& vs) {
    for (double v : vs) Put(sensor, v);
  }
  void Emit(SampleBuilder& b) const {
    for (const std::string& s : order_) {
      b.Add1(metric::kTemperature, max_.at(s), 1, "sensor", s);
    }
  }

 private:
  std::map<std::string, double> max_;
  std::vector<std::string> order_;
};

// "Antminer S19j Pro (88 TH)" -> "Antminer S19j Pro" (§6.2).
std::string ModelOf(std::string_view type) {
  return std::string(type.substr(0, type.find(" (")));
}

std::vector<double> DashField(const Json& e, const std::string& key) {
  std::optional<std::string_view> s = json_util::ToStringView(Field(e, key));
  if (!s) return {};
  return DashReadings(*s);
}

// chain_acsN: one char per chip, space-grouped; 'o' is a working chip.
std::optional<bool> ChipsOk(const Json& e, const std::string& i) {
  std::optional<std::string_view> acs =
      json_util::ToStringView(Field(e, "chain_acs" + i));
  if (!acs || acs->empty()) return std::nullopt;
  for (char c : *acs) {
    if (c != 'o' && c != ' ') return false;
  }
  return true;
}

void AddData(const Json& e, ScrapeResult& out) {
  SampleBuilder b(out.samples);
  const double scale = RateScale(e);
  Maxima chains;  // chainN_chip, chainN_board
  Maxima totals;  // chip, board, inlet, outlet
  for (int n = 1; n <= kMaxChains; ++n) {
    const std::string i = std::to_string(n);
    std::optional<double> chips = Positive(Field(e, "chain_acn" + i));
    if (!chips) continue;  // 0 = no board in this slot
    const std::string chain = "chain" + i;
    b.Add1(metric::kChainChips, chips, 1, "chain", i);
    b.Add1(metric::kChainHashrate, ToNumber(Field(e, "chain_rate" + i)), scale,
           "chain", i);
    if (std::optional<bool> ok = ChipsOk(e, i)) {
      b.Add1(metric::kDeviceUp, *ok ? 1.0 : 0.0, 1, "device", chain);
    }
    // Legacy layout: four sensors, inlet 1, inlet 2, outlet 1, outlet 2.
    std::vector<double> chip = DashField(e, "temp_chip" + i);
    std::vector<double> pcb = DashField(e, "temp_pcb" + i);
    std::vector<double> in_pcb, out_pcb;
    if (std::optional<std::string_view> s =
            json_util::ToStringView(Field(e, "temp_pcb" + i))) {
      // Positions matter for inlet/outlet: split the raw entries.
      std::string_view rest = *s;
      for (int pos = 0; !rest.empty(); ++pos) {
        size_t dash = rest.find('-');
        std::vector<double> one = DashReadings(rest.substr(0, dash));
        (pos < 2 ? in_pcb : out_pcb)
            .insert((pos < 2 ? in_pcb : out_pcb).end(), one.begin(), one.end());
        if (dash == std::string_view::npos) break;
        rest.remove_prefix(dash + 1);
      }
    }
    // Builds from about 2023-07: split into intake and exhaust strings.
    for (const char* side : {"in", "out"}) {
      std::vector<double> c =
          DashField(e, std::string("temp_") + side + "_chip_" + i);
      std::vector<double> p =
          DashField(e, std::string("temp_") + side + "_pcb_" + i);
      chip.insert(chip.end(), c.begin(), c.end());
      pcb.insert(pcb.end(), p.begin(), p.end());
      std::vector<double>& dst = side[0] == 'i' ? in_pcb : out_pcb;
      dst.insert(dst.end(), p.begin(), p.end());
    }
    if (chip.empty()) {
      if (std::optional<double> v = Positive(Field(e, "temp2_" + i))) {
        chip.push_back(*v);
      }
    }
    if (pcb.empty()) {
      if (std::optional<double> v = Positive(Field(e, "temp" + i))) {
        pcb.push_back(*v);
      }
    }
    chains.PutAll(chain + "_chip", chip);
    chains.PutAll(chain + "_board", pcb);
    totals.PutAll("chip", chip);
    totals.PutAll("board", pcb);
    totals.PutAll("inlet", in_pcb);
    totals.PutAll("outlet", out_pcb);
  }
  chains.Emit(b);
  totals.Emit(b);
  for (int n = 1; n <= kMaxFans; ++n) {
    const std::string i = std::to_string(n);
    b.Add1(metric::kFanSpeed, Positive(Field(e, "fan" + i)), 1, "fan", i);
  }
  std::optional<double> freq = Positive(Field(e, "total_freqavg"));
  if (!freq) freq = Positive(Field(e, "frequency"));
  b.Add(metric::kFrequency, freq, 1e6);
  b.Add(metric::kExpectedHashrate, Positive(Field(e, "total_rateideal")),
        scale);
  // S21 builds: "chain_power":"3250 W"; L9 `power`, L11 `watt` (§6.3).
  std::optional<double> power;
  if (auto cp = json_util::ToStringView(Field(e, "chain_power"))) {
    std::string_view t = *cp;
    while (!t.empty() && (t.back() == 'W' || t.back() == ' ')) {
      t.remove_suffix(1);
    }
    power = json_util::ParseNumberText(t);
  }
  if (!power) power = Positive(Field(e, "power"));
  if (!power) power = Positive(Field(e, "watt"));
  b.Add(metric::kPower, power);
}

}  // namespace

std::vector<double> DashReadings(std::string_view s) {
  std::vector<double> out;
  while (true) {
    size_t dash = s.find('-', 1);  // a leading '-' is a sign
    std::string_view tok = s.substr(0, dash);
    if (std::optional<double> v = json_util::ParseNumberText(tok)) {
      if (*v != 0 && *v > -273.15) out.push_back(*v);
    }
    if (dash == std::string_view::npos) break;
    s.remove_prefix(dash + 1);
  }
  return out;
}

void AddStats(const Json& stats, ScrapeResult& out) {
  for (const Json& e : stats) {
    if (!e.is_object()) continue;
    if (auto type = json_util::ToStringView(Field(e, "Type"))) {
      if (out.info.model.empty()) out.info.model = ModelOf(*type);
    }
    if (auto ct = json_util::ToStringView(Field(e, "CompileTime"))) {
      out.info.firmware = std::string(*ct);  // the build date (§6.2)
    }
    bool data = false;
    for (int n = 1; n <= kMaxChains && !data; ++n) {
      data = Field(e, "chain_acn" + std::to_string(n)) != nullptr;
    }
    if (data) AddData(e, out);
  }
}

namespace {

// The numbers of a CGI array ("temp_chip":[56,57,70,71]) that are readings,
// by position; 0, non-numbers and values at or below absolute zero are
// nullopt (a board that is down prints 0 or an empty array, §6.5).
std::vector<std::optional<double>> ArrayReadings(const Json* a) {
  std::vector<std::optional<double>> out;
  if (a == nullptr || !a->is_array()) return out;
  for (const Json& v : *a) {
    std::optional<double> d = ToNumber(v);
    if (d && (*d == 0 || *d <= -273.15)) d.reset();
    out.push_back(d);
  }
  return out;
}

void PutReadings(Maxima& m, const std::string& sensor,
                 const std::vector<std::optional<double>>& vs, size_t from,
                 size_t to) {
  for (size_t k = from; k < vs.size() && k < to; ++k) {
    if (vs[k]) m.Put(sensor, *vs[k]);
  }
}

// INFO{type, CompileTime} of a CGI reply: the same identity as the 4028
// stats (model cut at " (", firmware = the build date).
void AddCgiInfo(const Json& doc, ScrapeResult& out) {
  const Json* info = Field(doc, "INFO");
  if (info == nullptr || !info->is_object()) return;
  if (auto type = json_util::ToStringView(Field(*info, "type"))) {
    if (out.info.model.empty()) out.info.model = ModelOf(*type);
  }
  if (auto ct = json_util::ToStringView(Field(*info, "CompileTime"))) {
    out.info.firmware = std::string(*ct);
  }
}

// stats.cgi STATS[0] (§6.5): totals, fan[] and chain[] with 0-based
// `index`; chain N+1 gets the sensors chainN+1_chip / _board so that the
// names match the 4028 stats of the same miner (chains 1..4 on S19).
void AddCgiStats(const Json& e, ScrapeResult& out) {
  SampleBuilder b(out.samples);
  const double scale = RateScale(e);
  b.Add(metric::kHashrate, ToNumber(Field(e, "rate_5s")), scale);
  b.Add1(metric::kHashrateAvg, ToNumber(Field(e, "rate_avg")), scale, "window",
         "av");
  b.Add(metric::kExpectedHashrate, Positive(Field(e, "rate_ideal")), scale);
  b.Add(metric::kUptime, ToNumber(Field(e, "elapsed")));
  out.uptime_seconds = ToNumber(Field(e, "elapsed"));
  Maxima chains;
  Maxima totals;
  double freq_sum = 0;
  int freq_n = 0;
  const Json* list = Field(e, "chain");
  if (list != nullptr && list->is_array()) {
    int pos = 0;
    for (const Json& c : *list) {
      ++pos;
      if (!c.is_object()) continue;
      std::optional<double> chips = Positive(Field(c, "asic_num"));
      if (!chips) continue;  // board down or absent: no sample
      std::optional<double> index = ToNumber(Field(c, "index"));
      const long n = index && *index >= 0 && *index < kMaxChains
                         ? static_cast<long>(*index) + 1
                         : pos;
      const std::string i = std::to_string(n);
      const std::string chain = "chain" + i;
      b.Add1(metric::kChainChips, chips, 1, "chain", i);
      b.Add1(metric::kChainHashrate, ToNumber(Field(c, "rate_real")), scale,
             "chain", i);
      if (std::optional<double> f = Positive(Field(c, "freq_avg"))) {
        freq_sum += *f;
        ++freq_n;
      }
      // The same four-sensor order as the dash strings: inlet 1, inlet 2,
      // outlet 1, outlet 2.
      const auto chip = ArrayReadings(Field(c, "temp_chip"));
      const auto pcb = ArrayReadings(Field(c, "temp_pcb"));
      PutReadings(chains, chain + "_chip", chip, 0, chip.size());
      PutReadings(chains, chain + "_board", pcb, 0, pcb.size());
      PutReadings(totals, "chip", chip, 0, chip.size());
      PutReadings(totals, "board", pcb, 0, pcb.size());
      PutReadings(totals, "inlet", pcb, 0, 2);
      PutReadings(totals, "outlet", pcb, 2, pcb.size());
    }
  }
  chains.Emit(b);
  totals.Emit(b);
  const auto fans = ArrayReadings(Field(e, "fan"));
  for (size_t k = 0; k < fans.size() && k < kMaxFans; ++k) {
    if (fans[k] && *fans[k] > 0) {
      b.Add1(metric::kFanSpeed, fans[k], 1, "fan", std::to_string(k + 1));
    }
  }
  if (freq_n > 0) b.Add(metric::kFrequency, freq_sum / freq_n, 1e6);
}

// summary.cgi SUMMARY[0] (§6.5): what stats.cgi does not carry, the
// hardware errors, best share and the status[] verdicts (a non-"s" entry
// is a fault of that type: rate, network, fans, temp).
void AddCgiSummary(const Json& s, ScrapeResult& out) {
  SampleBuilder b(out.samples);
  b.Add(metric::kHardwareErrors, ToNumber(Field(s, "hw_all")));
  b.Add(metric::kBestSessionDifficulty,
        json_util::ToDifficulty(Field(s, "bestshare")));
  const Json* st = Field(s, "status");
  if (st == nullptr || !st->is_array()) return;
  for (const Json& v : *st) {
    if (!v.is_object()) continue;
    auto type = json_util::ToStringView(Field(v, "type"));
    auto letter = json_util::ToStringView(Field(v, "status"));
    if (!type || !letter || type->empty() || type->size() > 32) continue;
    b.Add1(metric::kFault, *letter == "s" ? 0.0 : 1.0, 1, "fault",
           std::string(*type));
  }
}

// A CGI reply: JSON with STATUS as an object (or, on one build, an array
// of one), E/F is the miner refusing.
Result<Json> DecodeCgi(std::string_view body, std::string_view what) {
  RW_ASSIGN_OR_RETURN(Json doc, json_util::ParseLenient(body, what));
  if (!doc.is_object()) {
    return InvalidArgumentError(std::string(what) + ": not a JSON object");
  }
  const Json* st = Field(doc, "STATUS");
  if (st != nullptr && st->is_array() && !st->empty()) st = &(*st)[0];
  if (st != nullptr && st->is_object()) {
    std::string_view letter =
        json_util::ToStringView(Field(*st, "STATUS")).value_or("S");
    if (letter == "E" || letter == "F") {
      std::string msg(json_util::ToStringView(Field(*st, "Msg"))
                          .value_or("")
                          .substr(0, 160));
      return FailedPreconditionError(std::string(what) + ": STATUS " +
                                     std::string(letter) + " \"" + msg + "\"");
    }
  }
  return doc;
}

Status ParseCgi(std::string_view command, std::string_view body,
                ScrapeResult& out) {
  const bool stats = command == "stats.cgi";
  RW_ASSIGN_OR_RETURN(Json doc, DecodeCgi(body, command));
  const Json* list = Field(doc, stats ? "STATS" : "SUMMARY");
  if (list == nullptr || !list->is_array() || list->empty() ||
      !(*list)[0].is_object()) {
    return InvalidArgumentError(std::string(command) + ": no " +
                                (stats ? "STATS" : "SUMMARY") +
                                "[0] object in the reply");
  }
  AddCgiInfo(doc, out);
  if (stats) {
    AddCgiStats((*list)[0], out);
  } else {
    AddCgiSummary((*list)[0], out);
  }
  return Status::Ok();
}

}  // namespace

Status ParseReply(std::string_view command, std::string_view body,
                  ScrapeResult& out) {
  if (command == "stats.cgi" || command == "summary.cgi") {
    return ParseCgi(command, body, out);
  }
  if (command == "summary") {
    return cgminer::ParseSection(cgminer::Section::kSummary, body, out);
  }
  if (command == "pools") {
    return cgminer::ParseSection(cgminer::Section::kPools, body, out);
  }
  if (command != "stats") {
    return InvalidArgumentError("antminer: no parser for \"" +
                                std::string(command) + "\"");
  }
  RW_ASSIGN_OR_RETURN(Json doc, cgminer::DecodeReply(body, "stats"));
  const Json* stats = Field(doc, "STATS");
  if (stats == nullptr || !stats->is_array()) {
    return InvalidArgumentError("stats: no STATS array in the reply");
  }
  AddStats(*stats, out);
  return Status::Ok();
}

namespace {

constexpr std::string_view kOrder[] = {"summary", "pools", "stats"};
// The web-side fallback, asked only when `summary` failed in transport:
// stats.cgi required, summary.cgi optional.
constexpr std::string_view kCgi[] = {"stats.cgi", "summary.cgi"};
constexpr size_t kApiCount = std::size(kOrder);

// 401/403 on the web side: the miner refused the login. `what` names the
// page (and, for the data fallback, the 4028 failure before it).
Status LoginRefused(const std::string& what, const Response& r) {
  std::string text = json_util::MinerWords(r.body);
  return PermissionDeniedError(
      what + ": HTTP " + std::to_string(r.http_status) +
      ": the miner refused the login (wrong auth.username/password_file?)" +
      (text.empty() ? std::string() : ": miner says \"" + text + "\""));
}

class AntminerExporter final : public Exporter {
 public:
  std::string_view Kind() const override { return "antminer"; }
  Protocol GetProtocol() const override { return Protocol::kCgminerTcp; }
  uint16_t DefaultPort() const override { return 4028; }
  uint16_t DefaultHttpPort() const override { return 80; }
  Credentials DefaultCredentials() const override { return {"root", "root"}; }

  std::vector<Request> PollRequests() const override {
    std::vector<Request> out = cgminer::CommandRequests(kOrder);
    for (std::string_view page : kCgi) {
      out.push_back(Request{.name = std::string(page),
                            .method = "GET",
                            .path = "/cgi-bin/" + std::string(page),
                            .optional = page != kCgi[0],
                            .fallback = true,
                            .side = Request::Side::kWeb,
                            .authenticate = true});
    }
    return out;
  }

  Result<ScrapeResult> Parse(
      std::span<const Response> responses) const override {
    if (responses.size() != kApiCount + std::size(kCgi)) {
      return InvalidArgumentError(
          "expected " + std::to_string(kApiCount + std::size(kCgi)) +
          " responses, got " + std::to_string(responses.size()));
    }
    const std::span<const Response> api = responses.first(kApiCount);
    const std::span<const Response> cgi = responses.subspan(kApiCount);
    if (api[0].transport.ok() || cgi[0].not_sent ||
        api[0].transport.code() == StatusCode::kResourceExhausted) {
      return cgminer::ParseReplies(kOrder, api, &ParseReply);
    }
    // The 4028 API is down or closed to us: the web CGI instead.
    const std::string api_error = "summary: " + api[0].transport.ToString();
    ScrapeResult out;
    for (size_t k = 0; k < cgi.size(); ++k) {
      const Response& r = cgi[k];
      const bool required = k == 0;
      const std::string what(kCgi[k]);
      if (r.http_status == 401 || r.http_status == 403) {
        return LoginRefused(api_error + "; " + what, r);
      }
      Status st = r.transport;
      if (st.ok() && (r.http_status < 200 || r.http_status > 299)) {
        st = UnavailableError("HTTP " + std::to_string(r.http_status));
      }
      if (st.ok()) st = ParseReply(kCgi[k], r.body, out);
      if (st.ok()) continue;
      if (!required && (st.code() == StatusCode::kUnavailable ||
                        st.code() == StatusCode::kDeadlineExceeded ||
                        st.code() == StatusCode::kFailedPrecondition)) {
        continue;  // summary.cgi missing or refused: stats.cgi is enough
      }
      if (st.code() == StatusCode::kResourceExhausted) {
        return DataLossError(api_error + "; " + what +
                             ": reply cut at the size cap: " + st.message());
      }
      return Status(st.code(), api_error + "; " + what + ": " + st.message());
    }
    return out;
  }

  Request RestartRequest() const override {
    return Request{.name = "reboot.cgi",
                   .method = "GET",
                   .path = "/cgi-bin/reboot.cgi",
                   .side = Request::Side::kWeb,
                   .authenticate = true};
  }

  Status ParseRestartReply(const Response& r) const override {
    if (DroppedAfterSend(r)) return Status::Ok();  // rebooting already
    if (!r.transport.ok()) {
      return UnavailableError("reboot.cgi: " + r.transport.ToString());
    }
    if (r.http_status == 401 || r.http_status == 403) {
      return LoginRefused("reboot.cgi", r);
    }
    if (r.http_status == 404) {
      return FailedPreconditionError(
          "reboot.cgi: HTTP 404: this firmware has no /cgi-bin/reboot.cgi");
    }
    if (r.http_status < 200 || r.http_status > 299) {
      return UnavailableError("reboot.cgi: HTTP " +
                              std::to_string(r.http_status));
    }
    return Status::Ok();  // 200 with an empty or non-JSON body (§6.6)
  }
};

}  // namespace

const Exporter& GetExporter() {
  static const AntminerExporter kExporter;
  return kExporter;
}

}  // namespace rigwatch::antminer
