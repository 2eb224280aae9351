// One check of one host service, run synchronously: a process (by name,
// pidfile or cgroup, read from /proc and the cgroup file system), an HTTP
// endpoint, a command (argv, no shell) or a systemd unit (sd-bus, with
// `systemctl show` when no bus is reachable). docs/config.md describes the
// keys. Every function here is thread-safe (no shared state).
#ifndef RIGWATCH_AGENT_SERVICES_CHECK_H_
#define RIGWATCH_AGENT_SERVICES_CHECK_H_

#include <stop_token>
#include <string>
#include <vector>

#include "agent/common/clock.h"
#include "agent/common/status.h"
#include "agent/config/config.h"

namespace rigwatch::services {

// Where the process checks look, and how systemd is reached; tests point
// these elsewhere.
struct CheckEnv {
  std::string proc_root = "/proc";
  std::string cgroup_root = "/sys/fs/cgroup";
  // The fallback when sd-bus cannot reach the system bus.
  std::string systemctl = "systemctl";
};

struct CheckResult {
  bool up = false;
  std::string error;  // why the service is down; empty when up
  double duration_seconds = 0;
  // Checks of kind "systemd": the unit's ActiveState/SubState and type
  // (the unit name's suffix, "service"); empty when unread.
  std::string active_state;
  std::string sub_state;
  std::string unit_type;
  std::string via;  // systemd: "sd-bus" or "systemctl"
};

// Runs `check` once. Never throws; a check that cannot run is a down
// service whose error says why. A requested `stop` ends an HTTP check
// within about a second and a command check (or the systemctl fallback) at
// once (SIGTERM, SIGKILL a second later); the sd-bus read ends by its
// timeout.
CheckResult RunCheck(const ServiceCheckConfig& check, const CheckEnv& env,
                     std::stop_token stop = {});

// The parts, for tests.
// Pids whose comm, or argv[0]'s base name, is `name` (zombies excluded).
std::vector<int> FindProcesses(const std::string& proc_root,
                               const std::string& name);
// True when `pid` runs (exists and is not a zombie).
bool PidRuns(const std::string& proc_root, int pid);

struct UnitState {
  std::string load_state;  // "loaded", "not-found", ...
  std::string active_state;
  std::string sub_state;
};
// Reads a unit's states over the system bus (DBUS_SYSTEM_BUS_ADDRESS, or
// /run/dbus/system_bus_socket). Unavailable, naming the bus, when no bus
// answers; NotFound when systemd is not on it.
Result<UnitState> ReadUnitOverBus(const std::string& unit, Duration timeout);
// The same through `systemctl show -p LoadState,ActiveState,SubState`.
Result<UnitState> ReadUnitWithSystemctl(const std::string& systemctl,
                                        const std::string& unit,
                                        Duration timeout,
                                        std::stop_token stop = {});

}  // namespace rigwatch::services

#endif  // RIGWATCH_AGENT_SERVICES_CHECK_H_
