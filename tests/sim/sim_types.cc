#include "tests/sim/sim_types.h"

#include <charconv>
#include <cmath>
#include <cstdio>

namespace rigwatch::sim {
namespace {

struct VariantRow {
  Variant v;
  std::string_view name;
  Family family;
};

constexpr VariantRow kVariants[] = {
    {Variant::kAxeosV2_0, "axeos-v2.0", Family::kAxeos},
    {Variant::kAxeosV2_9, "axeos-v2.9", Family::kAxeos},
    {Variant::kAxeosV2_12, "axeos-v2.12", Family::kAxeos},
    {Variant::kAxeosV2_15, "axeos-v2.15", Family::kAxeos},
    {Variant::kNerdqaxeV1_0_35, "nerdqaxe-v1.0.35", Family::kAxeos},
    {Variant::kCgminer4_11, "cgminer-4.11", Family::kCgminer},
    {Variant::kAntminerS9, "antminer-s9", Family::kCgminer},
    {Variant::kAntminerS19, "antminer-s19", Family::kCgminer},
    {Variant::kAvalon1366, "avalon-1366", Family::kCgminer},
    {Variant::kLuxosS19, "luxos-s19", Family::kCgminer},
    {Variant::kVnishS19XP, "vnish-s19xp", Family::kCgminer},
    {Variant::kBraiinsS19, "braiins-s19", Family::kCgminer},
    {Variant::kBraiinsS9, "braiins-s9", Family::kCgminer},
    {Variant::kWhatsminerM50, "whatsminer-m50", Family::kCgminer},
};

Result<double> ParseNumber(std::string_view name, std::string_view s) {
  double v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || !std::isfinite(v)) {
    return InvalidArgumentError("fault " + std::string(name) +
                                ": bad number '" + std::string(s) + "'");
  }
  return v;
}

}  // namespace

Family FamilyOf(Variant v) {
  for (const VariantRow& r : kVariants) {
    if (r.v == v) return r.family;
  }
  return Family::kAxeos;
}

std::string_view KindOf(Variant v) {
  switch (v) {
    case Variant::kAntminerS19:
      return "antminer";
    case Variant::kAvalon1366:
      return "avalon";
    case Variant::kLuxosS19:
      return "luxos";
    case Variant::kVnishS19XP:
      return "vnish";
    case Variant::kBraiinsS19:
    case Variant::kBraiinsS9:
      return "braiins";
    case Variant::kWhatsminerM50:
      return "whatsminer";
    default:
      return FamilyOf(v) == Family::kAxeos ? "bitaxe" : "cgminer";
  }
}

std::string_view VariantName(Variant v) {
  for (const VariantRow& r : kVariants) {
    if (r.v == v) return r.name;
  }
  return "unknown";
}

Result<Variant> ParseVariant(std::string_view name) {
  std::string names;
  for (const VariantRow& r : kVariants) {
    if (r.name == name) return r.v;
    names += names.empty() ? "" : ", ";
    names += r.name;
  }
  return InvalidArgumentError("unknown miner variant '" + std::string(name) +
                              "' (known: " + names + ")");
}

std::vector<Variant> VariantsOf(Family f) {
  std::vector<Variant> out;
  for (const VariantRow& r : kVariants) {
    // The vendor kinds on 4028 are asked for by name, not by "cgminer".
    const std::string_view k = KindOf(r.v);
    if (r.family == f && (k == "bitaxe" || k == "cgminer")) out.push_back(r.v);
  }
  return out;
}

bool Faults::Healthy() const { return ActiveFaults(*this).empty(); }

std::string_view FaultNames() {
  return "refuse, blackhole, api_off, trickle[=ms], reset_mid, truncate, "
         "garbage, "
         "huge, http500, http401, code45[=restart|all], temp_ramp[=C/min], "
         "temp_ceiling=C, hashrate_drop[=fraction], ignore_restart, "
         "password=TEXT, "
         "hostname_huge[=bytes], hostname_churn, counter_negative, "
         "counter_spike[=replies], field_overflow";
}

Status ApplyFault(Faults& f, std::string_view name, std::string_view param,
                  SteadyTime now) {
  Faults next = f;
  auto no_param = [&]() -> Status {
    if (!param.empty()) {
      return InvalidArgumentError("fault " + std::string(name) +
                                  " takes no parameter");
    }
    return Status::Ok();
  };
  if (name == "refuse") {
    RW_RETURN_IF_ERROR(no_param());
    next.refuse = true;
  } else if (name == "blackhole") {
    RW_RETURN_IF_ERROR(no_param());
    next.blackhole = true;
  } else if (name == "api_off") {
    RW_RETURN_IF_ERROR(no_param());
    next.api_off = true;
  } else if (name == "reset_mid") {
    RW_RETURN_IF_ERROR(no_param());
    next.reset_mid = true;
  } else if (name == "truncate") {
    RW_RETURN_IF_ERROR(no_param());
    next.truncate = true;
  } else if (name == "garbage") {
    RW_RETURN_IF_ERROR(no_param());
    next.garbage = true;
  } else if (name == "huge") {
    RW_RETURN_IF_ERROR(no_param());
    next.huge = true;
  } else if (name == "http500") {
    RW_RETURN_IF_ERROR(no_param());
    next.http_status = 500;
  } else if (name == "http401") {
    RW_RETURN_IF_ERROR(no_param());
    next.http_status = 401;
  } else if (name == "ignore_restart") {
    RW_RETURN_IF_ERROR(no_param());
    next.ignore_restart = true;
  } else if (name == "password") {
    if (param.empty()) {
      return InvalidArgumentError("fault password: needs the new password");
    }
    next.web_password = std::string(param);
    next.api_password = std::string(param);
  } else if (name == "hostname_churn") {
    RW_RETURN_IF_ERROR(no_param());
    next.hostname_churn = true;
  } else if (name == "counter_negative") {
    RW_RETURN_IF_ERROR(no_param());
    next.counter_negative = true;
  } else if (name == "field_overflow") {
    RW_RETURN_IF_ERROR(no_param());
    next.field_overflow = true;
  } else if (name == "hostname_huge") {
    double bytes = 921600;
    if (!param.empty()) {
      RW_ASSIGN_OR_RETURN(bytes, ParseNumber(name, param));
    }
    if (bytes < 1 || bytes > 16 * 1024 * 1024) {
      return InvalidArgumentError(
          "fault hostname_huge: bytes must be in 1..16777216");
    }
    next.hostname_bytes = static_cast<size_t>(bytes);
  } else if (name == "counter_spike") {
    double n = 1;
    if (!param.empty()) {
      RW_ASSIGN_OR_RETURN(n, ParseNumber(name, param));
    }
    if (n < 1 || n > 1000000) {
      return InvalidArgumentError(
          "fault counter_spike: replies must be in 1..1000000");
    }
    next.counter_spike = static_cast<int>(n);
  } else if (name == "trickle") {
    double ms = 200;
    if (!param.empty()) {
      RW_ASSIGN_OR_RETURN(ms, ParseNumber(name, param));
    }
    if (ms < 1 || ms > 60000) {
      return InvalidArgumentError("fault trickle: ms must be in 1..60000");
    }
    next.trickle_ms = static_cast<int>(ms);
  } else if (name == "code45") {
    if (param.empty() || param == "restart") {
      next.code45 = Faults::Deny::kRestart;
    } else if (param == "all") {
      next.code45 = Faults::Deny::kAll;
    } else {
      return InvalidArgumentError("fault code45: parameter is restart or all");
    }
  } else if (name == "temp_ramp") {
    double rate = 2;
    if (!param.empty()) {
      RW_ASSIGN_OR_RETURN(rate, ParseNumber(name, param));
    }
    if (rate <= 0 || rate > 1000) {
      return InvalidArgumentError("fault temp_ramp: C/min must be in (0,1000]");
    }
    next.temp_ramp_c_per_min = rate;
    next.temp_ramp_start = now;
  } else if (name == "temp_ceiling") {
    if (param.empty()) {
      return InvalidArgumentError("fault temp_ceiling needs a value in C");
    }
    RW_ASSIGN_OR_RETURN(next.temp_ceiling_c, ParseNumber(name, param));
  } else if (name == "hashrate_drop") {
    double frac = 0.5;
    if (!param.empty()) {
      RW_ASSIGN_OR_RETURN(frac, ParseNumber(name, param));
    }
    if (frac < 0 || frac > 1) {
      return InvalidArgumentError("fault hashrate_drop: fraction in [0,1]");
    }
    next.hashrate_fraction = frac;
  } else {
    return InvalidArgumentError("unknown fault '" + std::string(name) +
                                "' (known: " + std::string(FaultNames()) + ")");
  }
  f = next;
  return Status::Ok();
}

Status ClearFault(Faults& f, std::string_view name) {
  if (name == "all") {
    f = Faults();
  } else if (name == "refuse") {
    f.refuse = false;
  } else if (name == "blackhole") {
    f.blackhole = false;
  } else if (name == "api_off") {
    f.api_off = false;
  } else if (name == "reset_mid") {
    f.reset_mid = false;
  } else if (name == "truncate") {
    f.truncate = false;
  } else if (name == "garbage") {
    f.garbage = false;
  } else if (name == "huge") {
    f.huge = false;
  } else if (name == "http500" || name == "http401") {
    f.http_status = 0;
  } else if (name == "ignore_restart") {
    f.ignore_restart = false;
  } else if (name == "trickle") {
    f.trickle_ms = 0;
  } else if (name == "code45") {
    f.code45 = Faults::Deny::kNone;
  } else if (name == "temp_ramp") {
    f.temp_ramp_c_per_min = 0;
  } else if (name == "temp_ceiling") {
    f.temp_ceiling_c = Faults().temp_ceiling_c;
  } else if (name == "hashrate_drop") {
    f.hashrate_fraction = 1.0;
  } else if (name == "hostname_huge") {
    f.hostname_bytes = 0;
  } else if (name == "password") {
    f.web_password = Faults().web_password;
    f.api_password = Faults().api_password;
  } else if (name == "hostname_churn") {
    f.hostname_churn = false;
  } else if (name == "counter_negative") {
    f.counter_negative = false;
  } else if (name == "counter_spike") {
    f.counter_spike = 0;
  } else if (name == "field_overflow") {
    f.field_overflow = false;
  } else {
    return InvalidArgumentError("unknown fault '" + std::string(name) +
                                "' (known: all, " + std::string(FaultNames()) +
                                ")");
  }
  return Status::Ok();
}

std::vector<std::string> ActiveFaults(const Faults& f) {
  std::vector<std::string> out;
  char buf[64];
  if (f.refuse) out.push_back("refuse");
  if (f.blackhole) out.push_back("blackhole");
  if (f.api_off) out.push_back("api_off");
  if (f.trickle_ms > 0)
    out.push_back("trickle=" + std::to_string(f.trickle_ms));
  if (f.reset_mid) out.push_back("reset_mid");
  if (f.truncate) out.push_back("truncate");
  if (f.garbage) out.push_back("garbage");
  if (f.huge) out.push_back("huge");
  if (f.hostname_bytes > 0) {
    out.push_back("hostname_huge=" + std::to_string(f.hostname_bytes));
  }
  if (f.hostname_churn) out.push_back("hostname_churn");
  if (f.counter_negative) out.push_back("counter_negative");
  if (f.counter_spike > 0) {
    out.push_back("counter_spike=" + std::to_string(f.counter_spike));
  }
  if (f.field_overflow) out.push_back("field_overflow");
  if (f.http_status != 0) out.push_back("http" + std::to_string(f.http_status));
  if (f.code45 == Faults::Deny::kRestart) out.push_back("code45=restart");
  if (f.code45 == Faults::Deny::kAll) out.push_back("code45=all");
  if (f.temp_ramp_c_per_min > 0) {
    std::snprintf(buf, sizeof buf, "temp_ramp=%g", f.temp_ramp_c_per_min);
    out.push_back(buf);
  }
  if (f.temp_ceiling_c != Faults().temp_ceiling_c) {
    std::snprintf(buf, sizeof buf, "temp_ceiling=%g", f.temp_ceiling_c);
    out.push_back(buf);
  }
  if (f.hashrate_fraction != 1.0) {
    std::snprintf(buf, sizeof buf, "hashrate_drop=%g", f.hashrate_fraction);
    out.push_back(buf);
  }
  if (f.ignore_restart) out.push_back("ignore_restart");
  if (f.web_password != Faults().web_password) out.push_back("password");
  return out;
}

}  // namespace rigwatch::sim
