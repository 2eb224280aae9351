#include "tests/sim/fleet_plan.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <iterator>

#include "tests/sim/miner_model.h"

namespace rigwatch::sim {
namespace {

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find(sep, start);
    if (end == std::string_view::npos) end = s.size();
    if (end > start) out.push_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

Result<double> ParseWeight(std::string_view what, std::string_view s) {
  double v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || !std::isfinite(v) ||
      v < 0) {
    return InvalidArgumentError(std::string(what) + ": bad number '" +
                                std::string(s) + "'");
  }
  return v;
}

uint64_t HashName(std::string_view s) {
  uint64_t h = 1469598103934665603ULL;
  for (char c : s) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
  return h;
}

}  // namespace

Result<std::vector<MixEntry>> ParseMix(std::string_view s) {
  std::vector<MixEntry> out;
  for (std::string_view item : Split(s, ',')) {
    const size_t eq = item.find('=');
    MixEntry e;
    e.name = std::string(item.substr(0, eq));
    if (eq != std::string_view::npos) {
      RW_ASSIGN_OR_RETURN(e.weight,
                          ParseWeight("--mix " + e.name, item.substr(eq + 1)));
    }
    if (e.name != "axeos" && e.name != "cgminer") {
      RW_RETURN_IF_ERROR(ParseVariant(e.name).status().WithContext("--mix"));
    }
    out.push_back(std::move(e));
  }
  if (out.empty()) return InvalidArgumentError("--mix: empty");
  return out;
}

Result<std::vector<FaultRate>> ParseFaultRates(std::string_view s) {
  std::vector<FaultRate> out;
  for (std::string_view item : Split(s, ',')) {
    const size_t eq = item.find('=');
    if (eq == std::string_view::npos) {
      return InvalidArgumentError("--faults: '" + std::string(item) +
                                  "' needs =rate");
    }
    FaultRate f;
    std::string_view name = item.substr(0, eq);
    const size_t colon = name.find(':');
    f.fault = std::string(name.substr(0, colon));
    if (colon != std::string_view::npos) {
      f.param = std::string(name.substr(colon + 1));
    }
    RW_ASSIGN_OR_RETURN(
        f.rate, ParseWeight("--faults " + f.fault, item.substr(eq + 1)));
    if (f.rate > 1) {
      return InvalidArgumentError("--faults " + f.fault + ": rate above 1");
    }
    if (f.fault != "reboot") {
      Faults probe;
      RW_RETURN_IF_ERROR(ApplyFault(probe, f.fault, f.param, SteadyTime())
                             .WithContext("--faults"));
    }
    out.push_back(std::move(f));
  }
  return out;
}

Status ParseHostPort(std::string_view s, std::string* host, uint16_t* port) {
  const size_t colon = s.rfind(':');
  if (colon == std::string_view::npos) {
    return InvalidArgumentError("'" + std::string(s) + "': want HOST:PORT");
  }
  *host = std::string(s.substr(0, colon));
  in_addr a{};
  if (inet_pton(AF_INET, host->c_str(), &a) != 1) {
    return InvalidArgumentError("'" + *host + "' is not an IPv4 address");
  }
  std::string_view p = s.substr(colon + 1);
  unsigned v = 0;
  auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), v);
  if (ec != std::errc() || end != p.data() + p.size() || v > 65535) {
    return InvalidArgumentError("'" + std::string(p) + "' is not a port");
  }
  *port = static_cast<uint16_t>(v);
  return Status::Ok();
}

Result<std::vector<MinerPlan>> PlanFleet(const FleetOptions& o,
                                         SteadyTime now) {
  if (o.miners < 1 || o.miners > 100000) {
    return InvalidArgumentError("--miners must be in 1..100000");
  }
  in_addr base{};
  if (inet_pton(AF_INET, o.base_address.c_str(), &base) != 1) {
    return InvalidArgumentError("--base-address '" + o.base_address +
                                "' is not an IPv4 address");
  }
  const uint32_t b = ntohl(base.s_addr);
  if ((b >> 24) != 127 ||
      static_cast<uint64_t>(b) + 4 * 65536 + o.miners + 1 >= (128ULL << 24)) {
    return InvalidArgumentError(
        "--base-address must leave room for the fleet inside 127.0.0.0/8");
  }
  if (o.mix.empty()) return InvalidArgumentError("--mix: empty");

  // Largest-remainder split of N over the mix weights.
  double total = 0;
  for (const MixEntry& e : o.mix) total += e.weight;
  if (total <= 0) return InvalidArgumentError("--mix: weights sum to 0");
  std::vector<int> counts(o.mix.size());
  std::vector<std::pair<double, size_t>> rem;
  int assigned = 0;
  for (size_t i = 0; i < o.mix.size(); ++i) {
    const double exact = o.miners * o.mix[i].weight / total;
    counts[i] = static_cast<int>(std::floor(exact));
    assigned += counts[i];
    rem.push_back({exact - counts[i], i});
  }
  std::stable_sort(rem.begin(), rem.end(),
                   [](auto& a, auto& b) { return a.first > b.first; });
  for (size_t k = 0; assigned < o.miners; ++k, ++assigned) {
    ++counts[rem[k % rem.size()].second];
  }

  std::vector<MinerPlan> plan;
  plan.reserve(o.miners);
  // Per kind: a name sequence and a /16 of its own below the base address.
  constexpr std::string_view kKinds[] = {"bitaxe",  "cgminer",   "antminer",
                                         "avalon",  "luxos",     "vnish",
                                         "braiins", "whatsminer"};
  int seqs[std::size(kKinds)] = {};
  for (size_t i = 0; i < o.mix.size(); ++i) {
    std::vector<Variant> variants;
    if (o.mix[i].name == "axeos") {
      variants = VariantsOf(Family::kAxeos);
    } else if (o.mix[i].name == "cgminer") {
      variants = VariantsOf(Family::kCgminer);
    } else {
      RW_ASSIGN_OR_RETURN(Variant v, ParseVariant(o.mix[i].name));
      variants = {v};
    }
    for (int k = 0; k < counts[i]; ++k) {
      MinerPlan m;
      m.index = static_cast<uint32_t>(plan.size());
      m.variant = variants[k % variants.size()];
      const bool axeos = FamilyOf(m.variant) == Family::kAxeos;
      const std::string_view kind = KindOf(m.variant);
      const size_t kind_i = static_cast<size_t>(
          std::find(std::begin(kKinds), std::end(kKinds), kind) -
          std::begin(kKinds));
      const int seq = ++seqs[kind_i];
      char name[48];
      std::snprintf(name, sizeof name, "sim-%s-%04d",
                    axeos ? "axeos" : std::string(kind).c_str(), seq);
      m.name = name;
      in_addr a{};
      a.s_addr = htonl(b + static_cast<uint32_t>(kind_i) * 65536 +
                       static_cast<uint32_t>(seq));
      char ip[INET_ADDRSTRLEN];
      inet_ntop(AF_INET, &a, ip, sizeof ip);
      m.ip = ip;
      m.port = axeos ? o.http_port : o.cgminer_port;
      plan.push_back(std::move(m));
    }
  }

  // Each fault picks its own deterministic subset: the miners with the
  // smallest hash of (seed, fault, index).
  for (const FaultRate& f : o.faults) {
    const size_t k = static_cast<size_t>(std::llround(f.rate * o.miners));
    std::vector<std::pair<uint64_t, uint32_t>> order;
    order.reserve(plan.size());
    for (const MinerPlan& m : plan) {
      order.push_back(
          {Mix64(o.seed ^ HashName(f.fault) ^ Mix64(m.index)), m.index});
    }
    std::sort(order.begin(), order.end());
    for (size_t j = 0; j < k && j < order.size(); ++j) {
      MinerPlan& m = plan[order[j].second];
      if (f.fault == "reboot") {
        m.reboot_at_start = true;
      } else {
        RW_RETURN_IF_ERROR(ApplyFault(m.faults, f.fault, f.param, now));
      }
    }
  }
  return plan;
}

}  // namespace rigwatch::sim
