// Service checks against the real /proc, real processes, a real cgroup-like
// tree and, for systemd, the real system bus where one exists, a private
// dbus-daemon without systemd on it, and no bus at all.
#include "agent/services/check.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "agent/services/monitor.h"
#include "tests/support/child_process.h"
#include "tests/support/files.h"
#include "tests/support/require.h"
#include "tests/support/wait.h"

namespace rigwatch::services {
namespace {

void Write(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

ServiceCheckConfig Check(std::string kind, std::string target) {
  ServiceCheckConfig c;
  c.kind = std::move(kind);
  c.target = std::move(target);
  c.timeout = std::chrono::seconds(2);
  return c;
}

// Sets an environment variable for one test.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old_) {
      setenv(name_, old_->c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

TEST(ServiceCheck, PidfileOfARunningAndOfAReapedProcess) {
  test_support::TempDir dir("rw_svc_");
  const std::string pidfile = dir.Sub("w.pid");
  Write(pidfile, std::to_string(getpid()) + "\n");
  CheckResult up = RunCheck(Check("pidfile", pidfile), {});
  EXPECT_TRUE(up.up) << up.error;
  EXPECT_GE(up.duration_seconds, 0);

  pid_t child = fork();
  if (child == 0) _exit(0);
  ASSERT_GT(child, 0);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  Write(pidfile, std::to_string(child));
  CheckResult down = RunCheck(Check("pidfile", pidfile), {});
  EXPECT_FALSE(down.up);
  EXPECT_EQ(down.error, "pidfile " + pidfile + ": process " +
                            std::to_string(child) + " is not running");

  Write(pidfile, "garbage");
  EXPECT_NE(RunCheck(Check("pidfile", pidfile), {})
                .error.find("not a process id: \"garbage\""),
            std::string::npos);
  CheckResult missing = RunCheck(Check("pidfile", dir.Sub("none")), {});
  EXPECT_FALSE(missing.up);
  EXPECT_NE(missing.error.find("No such file"), std::string::npos)
      << missing.error;
}

TEST(ServiceCheck, ZombieIsNotRunning) {
  pid_t child = fork();
  if (child == 0) _exit(0);
  ASSERT_GT(child, 0);
  // Not reaped yet: a zombie once it exited.
  EXPECT_TRUE(test_support::WaitFor([&] { return !PidRuns("/proc", child); },
                                    std::chrono::seconds(5)));
  int status = 0;
  waitpid(child, &status, 0);
}

TEST(ServiceCheck, ProcessByNameFromProc) {
  test_support::ChildProcess sleeper;
  test_support::TempDir dir("rw_svc_");
  ASSERT_TRUE(sleeper.Start({"/bin/sleep", "30"}, dir.Sub("log")));
  ASSERT_TRUE(test_support::WaitFor(
      [] { return !FindProcesses("/proc", "sleep").empty(); },
      std::chrono::seconds(5)));
  EXPECT_TRUE(RunCheck(Check("process", "sleep"), {}).up);
  CheckResult none = RunCheck(Check("process", "no-such-proc-xyz"), {});
  EXPECT_FALSE(none.up);
  EXPECT_EQ(none.error, "no process named \"no-such-proc-xyz\" is running");
}

TEST(ServiceCheck, CgroupProcsOfATree) {
  test_support::TempDir dir("rw_svc_");
  ASSERT_EQ(system(("mkdir -p " + dir.Sub("system.slice/w.service")).c_str()),
            0);
  CheckEnv env;
  env.cgroup_root = dir.path();
  const std::string procs = dir.Sub("system.slice/w.service/cgroup.procs");
  Write(procs, "");
  CheckResult empty = RunCheck(Check("cgroup", "/system.slice/w.service"), env);
  EXPECT_FALSE(empty.up);
  EXPECT_EQ(empty.error,
            "cgroup /system.slice/w.service has no running process");
  Write(procs, "999999999\n" + std::to_string(getpid()) + "\n");
  EXPECT_TRUE(RunCheck(Check("cgroup", "system.slice/w.service"), env).up);
  EXPECT_NE(RunCheck(Check("cgroup", "nope"), env).error.find("cannot read"),
            std::string::npos);
}

TEST(ServiceCheck, CommandExitStatusIsTheCheck) {
  ServiceCheckConfig c;
  c.kind = "command";
  c.argv = {"sh", "-c", "echo broken >&2; exit 3"};
  CheckResult r = RunCheck(c, {});
  EXPECT_FALSE(r.up);
  EXPECT_EQ(r.error, "sh: exit status 3: broken");
  c.argv = {"true"};
  EXPECT_TRUE(RunCheck(c, {}).up);
  c.argv = {"sleep", "5"};
  c.timeout = std::chrono::milliseconds(200);
  r = RunCheck(c, {});
  EXPECT_FALSE(r.up);
  EXPECT_EQ(r.error, "sleep: no exit within 200ms");
  EXPECT_LT(r.duration_seconds, 3);
}

TEST(ServiceCheck, SamplesCarryTheServiceAndSystemdStates) {
  HostServiceConfig svc;
  svc.name = "tuner";
  svc.check = Check("systemd", "tuner.service");
  CheckResult r;
  r.up = true;
  r.duration_seconds = 0.25;
  r.active_state = "active";
  r.unit_type = "service";
  Samples s = ServiceMonitor::ToSamples(svc, r);
  ASSERT_EQ(s.size(), 7u);
  EXPECT_EQ(s[0].name, "rigwatch_service_up");
  EXPECT_EQ(s[0].labels, (Labels{{"service", "tuner"}}));
  EXPECT_EQ(s[0].value, 1);
  EXPECT_EQ(s[1].value, 0.25);
  double active = -1, failed = -1;
  for (const Sample& x : s) {
    if (x.name != "node_systemd_unit_state") continue;
    EXPECT_EQ(x.labels[0], (Label{"name", "tuner.service"}));
    EXPECT_EQ(x.labels[2], (Label{"type", "service"}));
    if (x.labels[1].value == "active") active = x.value;
    if (x.labels[1].value == "failed") failed = x.value;
  }
  EXPECT_EQ(active, 1);
  EXPECT_EQ(failed, 0);
}

// No bus at the address: a clear error naming it, then systemctl's answer
// (which on a host without systemd is an error too, quoted). Never a crash.
TEST(SystemdCheck, NoBusIsReportedWithTheFallbacksAnswer) {
  test_support::TempDir dir("rw_svc_");
  ScopedEnv env("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=" + dir.Sub("no-bus"));
  Result<UnitState> bus =
      ReadUnitOverBus("dbus.service", std::chrono::seconds(2));
  ASSERT_FALSE(bus.ok());
  EXPECT_EQ(bus.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(bus.status().message().find("no system bus at unix:path=" +
                                        dir.Sub("no-bus")),
            std::string::npos)
      << bus.status().message();

  CheckEnv ce;
  ce.systemctl = dir.Sub("no-systemctl");  // the fallback cannot run either
  CheckResult r = RunCheck(Check("systemd", "dbus.service"), ce);
  EXPECT_FALSE(r.up);
  EXPECT_NE(r.error.find("no system bus at"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("; fallback: " + ce.systemctl), std::string::npos)
      << r.error;

  // The real systemctl: it answers (systemd reachable another way) or its
  // own error is quoted.
  r = RunCheck(Check("systemd", "dbus.service"), {});
  if (r.via == "systemctl") {
    EXPECT_FALSE(r.active_state.empty());
  } else {
    EXPECT_FALSE(r.up);
    EXPECT_NE(r.error.find("; fallback: systemctl"), std::string::npos)
        << r.error;
  }
}

// A real bus without systemd on it (a private dbus-daemon): sd-bus
// connects, systemd's name has no owner, and that is what the error says.
TEST(SystemdCheck, BusWithoutSystemd) {
  RIGWATCH_REQUIRE_TOOL("/usr/bin/dbus-daemon");
  test_support::TempDir dir("rw_svc_");
  const std::string sock = dir.Sub("bus");
  // No service directories: nothing on this bus can be activated.
  Write(dir.Sub("bus.conf"),
        "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus "
        "Configuration 1.0//EN\" "
        "\"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
        "<busconfig><type>session</type><listen>unix:path=" +
            sock +
            "</listen><auth>EXTERNAL</auth><policy context=\"default\">"
            "<allow send_destination=\"*\"/><allow receive_sender=\"*\"/>"
            "<allow own=\"*\"/></policy>"
            "</busconfig>\n");
  test_support::ChildProcess daemon;
  ASSERT_TRUE(daemon.Start(
      {"/usr/bin/dbus-daemon", "--config-file=" + dir.Sub("bus.conf"),
       "--nofork", "--nopidfile"},
      dir.Sub("dbus.log")));
  ASSERT_TRUE(
      test_support::WaitFor([&] { return access(sock.c_str(), F_OK) == 0; },
                            std::chrono::seconds(10)));
  ScopedEnv env("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=" + sock);
  Result<UnitState> st =
      ReadUnitOverBus("dbus.service", std::chrono::seconds(2));
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.status().code(), StatusCode::kNotFound) << st.status().message();
  EXPECT_NE(st.status().message().find("systemd is not on the system bus at "
                                       "unix:path=" +
                                       sock),
            std::string::npos)
      << st.status().message();
  CheckResult r = RunCheck(Check("systemd", "dbus.service"), {});
  EXPECT_FALSE(r.up);
  EXPECT_EQ(r.via, "sd-bus");
  EXPECT_NE(r.error.find("systemd is not on the system bus"),
            std::string::npos);
}

// The system bus of this machine, where one exists: systemd answers with a
// unit state, or the bus says systemd is not there. In CI without a system
// bus the two tests above are the absence path; this one says so.
TEST(SystemdCheck, SystemBusWhereOneExists) {
  if (access("/run/dbus/system_bus_socket", F_OK) != 0 &&
      std::getenv("DBUS_SYSTEM_BUS_ADDRESS") == nullptr) {
    Result<UnitState> st =
        ReadUnitOverBus("dbus.service", std::chrono::seconds(2));
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.status().code(), StatusCode::kUnavailable);
    EXPECT_NE(st.status().message().find(
                  "no system bus at unix:path=/run/dbus/system_bus_socket"),
              std::string::npos)
        << st.status().message();
    return;
  }
  Result<UnitState> st =
      ReadUnitOverBus("dbus.service", std::chrono::seconds(5));
  if (st.ok()) {
    EXPECT_FALSE(st->active_state.empty());
    EXPECT_FALSE(st->load_state.empty());
  } else {
    EXPECT_EQ(st.status().code(), StatusCode::kNotFound)
        << st.status().message();
  }
}

}  // namespace
}  // namespace rigwatch::services
