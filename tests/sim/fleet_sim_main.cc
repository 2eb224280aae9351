// fleet_sim: serves a simulated mining fleet on loopback until SIGTERM or
// SIGINT. Prints one ready line on stdout once every socket listens:
//   fleet_sim ready miners=20 control=127.0.0.1:PORT
// See docs/simulator.md.
#include <signal.h>

#include <charconv>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

#include "agent/common/log.h"
#include "agent/common/units.h"
#include "tests/fakes/fake_clock.h"
#include "tests/sim/fleet_sim.h"

namespace rigwatch::sim {
namespace {

constexpr char kUsage[] =
    R"(usage: fleet_sim [options]
  --miners N             number of miners (default 20, up to 100000)
  --mix SPEC             weights per family or variant, e.g.
                         axeos=0.5,cgminer=0.5 (default) or
                         axeos-v2.0=1,axeos-v2.9=1,axeos-v2.12=1,axeos-v2.15=1,
                         nerdqaxe-v1.0.35=1,cgminer-4.11=1,antminer-s9=1
  --faults SPEC          fault[:param]=rate,... e.g. blackhole=0.1,refuse=0.02,
                         trickle:100=0.05,code45:all=0.1,reboot=0.01
  --seed N               seed for values and fault subsets (default 1)
  --control HOST:PORT    control API address (default 127.0.0.1:0 = any port)
  --base-address IP      AxeOS miners at IP+1.., cgminer at IP+65536+1..
                         (default 127.1.0.0)
  --http-port N          AxeOS port on every address (default 8080; 0 = any)
  --cgminer-port N       cgminer port on every address (default 4028; 0 = any)
  --reboot-downtime D    unreachable time after a reboot (default 5s)
  --restart-delay D      reply-to-reboot delay of a restart (default 500ms)
  --manual-clock         time stands still until POST /clock/advance
  --targets-out FILE     write the agent's target list (YAML) to FILE
  --help                 this text
faults: )";

bool ParseUint(std::string_view s, uint64_t max, uint64_t* out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size() && *out <= max;
}

int Fail(const std::string& msg) {
  std::fprintf(stderr, "fleet_sim: %s\n(see --help)\n", msg.c_str());
  return 2;
}

int Main(int argc, char** argv) {
  FleetOptions o;
  std::string targets_out;
  bool manual_clock = false;
  for (int k = 1; k < argc; ++k) {
    const std::string_view flag = argv[k];
    if (flag == "--help" || flag == "-h") {
      std::printf("%s%s\n", kUsage, std::string(FaultNames()).c_str());
      return 0;
    }
    if (flag == "--manual-clock") {
      manual_clock = true;
      continue;
    }
    if (k + 1 >= argc) return Fail(std::string(flag) + " needs a value");
    const std::string_view val = argv[++k];
    uint64_t n = 0;
    if (flag == "--miners") {
      if (!ParseUint(val, 100000, &n) || n == 0) {
        return Fail("--miners wants 1..100000");
      }
      o.miners = static_cast<int>(n);
    } else if (flag == "--mix") {
      auto mix = ParseMix(val);
      if (!mix.ok()) return Fail(mix.status().message());
      o.mix = std::move(mix).value();
    } else if (flag == "--faults") {
      auto faults = ParseFaultRates(val);
      if (!faults.ok()) return Fail(faults.status().message());
      o.faults = std::move(faults).value();
    } else if (flag == "--seed") {
      if (!ParseUint(val, UINT64_MAX, &n)) return Fail("--seed wants a number");
      o.seed = n;
    } else if (flag == "--control") {
      o.control = std::string(val);
    } else if (flag == "--base-address") {
      o.base_address = std::string(val);
    } else if (flag == "--http-port" || flag == "--cgminer-port") {
      if (!ParseUint(val, 65535, &n))
        return Fail(std::string(flag) + " wants 0..65535");
      (flag == "--http-port" ? o.http_port : o.cgminer_port) =
          static_cast<uint16_t>(n);
    } else if (flag == "--reboot-downtime" || flag == "--restart-delay") {
      auto d = ParseDuration(val);
      if (!d.ok()) return Fail(std::string(flag) + ": " + d.status().message());
      (flag == "--reboot-downtime" ? o.reboot_downtime : o.restart_delay) = *d;
    } else if (flag == "--targets-out") {
      targets_out = std::string(val);
    } else {
      return Fail("unknown option " + std::string(flag));
    }
  }

  // Signals are taken synchronously by sigwait below; block them before the
  // loop thread starts so it inherits the mask.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);

  FakeClock manual;
  Clock* clock = SystemClock::Default();
  if (manual_clock) {
    manual.SetWall(SystemClock::Default()->Now());
    clock = &manual;
    o.advance_clock = [&manual](Duration d) {
      manual.Advance(d);
      return Status::Ok();
    };
  }
  auto sim = FleetSim::Create(std::move(o), clock);
  if (!sim.ok()) return Fail(sim.status().ToString());
  if (!targets_out.empty()) {
    Status st = (*sim)->WriteTargets(targets_out);
    if (!st.ok()) return Fail(st.ToString());
  }
  Status st = (*sim)->Start();
  if (!st.ok()) return Fail(st.ToString());
  std::printf("fleet_sim ready miners=%zu control=%s\n",
              (*sim)->miners().size(), (*sim)->control_address().c_str());
  std::fflush(stdout);
  int sig = 0;
  sigwait(&sigs, &sig);
  LogInfo("fleet_sim_stop").Kv("signal", sig == SIGTERM ? "TERM" : "INT");
  (*sim)->Stop();
  return 0;
}

}  // namespace
}  // namespace rigwatch::sim

int main(int argc, char** argv) { return rigwatch::sim::Main(argc, argv); }
