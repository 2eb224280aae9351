#include "agent/services/check.h"

#include <dirent.h>
#include <systemd/sd-bus.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>

#include "agent/actions/subprocess.h"
#include "agent/common/curl.h"
#include "agent/common/units.h"

namespace rigwatch::services {
namespace {

bool ReadFile(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return true;
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' ||
                        s.back() == '\r' || s.back() == '\t')) {
    s.pop_back();
  }
  size_t b = 0;
  while (b < s.size() && (s[b] == ' ' || s[b] == '\t')) ++b;
  return s.substr(b);
}

bool ParsePid(std::string_view s, int* pid) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *pid);
  return ec == std::errc() && p == s.data() + s.size() && *pid > 0;
}

// The state letter of /proc/PID/stat: after the last ')' (comm may hold
// one), "R", "S", "Z", ...; '\0' when the process is gone.
char ProcState(const std::string& proc_root, int pid) {
  std::string stat;
  if (!ReadFile(proc_root + "/" + std::to_string(pid) + "/stat", &stat)) {
    return '\0';
  }
  size_t close = stat.rfind(')');
  if (close == std::string::npos || close + 2 >= stat.size()) return '\0';
  return stat[close + 2];
}

CheckResult CheckProcessName(const std::string& name, const CheckEnv& env) {
  CheckResult r;
  std::vector<int> pids = FindProcesses(env.proc_root, name);
  r.up = !pids.empty();
  if (!r.up) r.error = "no process named \"" + name + "\" is running";
  return r;
}

CheckResult CheckPidfile(const std::string& path, const CheckEnv& env) {
  CheckResult r;
  std::string text;
  if (!ReadFile(path, &text)) {
    r.error = "pidfile " + path + ": " + std::strerror(errno);
    return r;
  }
  int pid = 0;
  const std::string t = Trim(text);
  if (!ParsePid(t, &pid)) {
    r.error =
        "pidfile " + path + ": not a process id: \"" + t.substr(0, 32) + "\"";
    return r;
  }
  r.up = PidRuns(env.proc_root, pid);
  if (!r.up) {
    r.error = "pidfile " + path + ": process " + std::to_string(pid) +
              " is not running";
  }
  return r;
}

CheckResult CheckCgroup(const std::string& cgroup, const CheckEnv& env) {
  CheckResult r;
  std::string rel = cgroup;
  while (!rel.empty() && rel.front() == '/') rel.erase(rel.begin());
  const std::string path = env.cgroup_root + "/" + rel + "/cgroup.procs";
  std::string text;
  if (!ReadFile(path, &text)) {
    r.error = "cgroup " + cgroup + ": cannot read " + path + ": " +
              std::strerror(errno);
    return r;
  }
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    int pid = 0;
    if (ParsePid(Trim(line), &pid) && PidRuns(env.proc_root, pid)) {
      r.up = true;
      return r;
    }
  }
  r.error = "cgroup " + cgroup + " has no running process";
  return r;
}

size_t CollectBody(char* data, size_t size, size_t n, void* user) {
  auto* body = static_cast<std::string*>(user);
  constexpr size_t kMaxBody = 64 * 1024;  // enough for a health answer
  const size_t len = size * n;
  if (body->size() < kMaxBody) {
    body->append(data, std::min(len, kMaxBody - body->size()));
  }
  return len;
}

CheckResult CheckHttp(const ServiceCheckConfig& c,
                      const std::stop_token& stop) {
  CheckResult r;
  curl::EnsureGlobalInit();
  curl::Easy h(curl_easy_init());
  if (!h) {
    r.error = "cannot create an HTTP handle";
    return r;
  }
  std::string body;
  char errbuf[CURL_ERROR_SIZE] = {0};
  CURL* e = h.get();
  curl_easy_setopt(e, CURLOPT_URL, c.target.c_str());
  curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, c.method.c_str());
  if (c.method == "HEAD") curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(c.timeout.count()));
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl::AbortOnStop(e, &stop);
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &CollectBody);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
  CURLcode code = curl_easy_perform(e);
  if (code != CURLE_OK) {
    r.error = curl::ToStatus(code, errbuf, c.method + " " + c.target).message();
    return r;
  }
  long status = 0;
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
  if (status != c.status) {
    r.error = c.method + " " + c.target + ": status " + std::to_string(status) +
              ", expected " + std::to_string(c.status);
    return r;
  }
  if (!c.body_contains.empty() &&
      body.find(c.body_contains) == std::string::npos) {
    r.error = c.method + " " + c.target + ": the body does not contain \"" +
              c.body_contains + "\"";
    return r;
  }
  r.up = true;
  return r;
}

CheckResult CheckCommand(const ServiceCheckConfig& c, std::stop_token stop) {
  CheckResult r;
  auto run = actions::RunCommand(c.argv, c.timeout, 512, std::move(stop));
  if (!run.ok()) {
    r.error = c.argv[0] + ": " + run.status().message();
    return r;
  }
  r.up = run->success();
  if (r.up) return r;
  if (run->timed_out) {
    r.error = c.argv[0] + ": no exit within " + FormatDuration(c.timeout);
  } else if (run->term_signal != 0) {
    r.error =
        c.argv[0] + ": killed by signal " + std::to_string(run->term_signal);
  } else {
    r.error = c.argv[0] + ": exit status " + std::to_string(run->exit_code);
  }
  const std::string out = Trim(run->output);
  if (!out.empty()) r.error += ": " + out.substr(0, 200);
  return r;
}

std::string UnitType(const std::string& unit) {
  size_t dot = unit.rfind('.');
  return dot == std::string::npos ? "service" : unit.substr(dot + 1);
}

CheckResult CheckSystemd(const ServiceCheckConfig& c, const CheckEnv& env,
                         std::stop_token stop) {
  CheckResult r;
  r.unit_type = UnitType(c.target);
  Result<UnitState> st = ReadUnitOverBus(c.target, c.timeout);
  r.via = "sd-bus";
  if (!st.ok() && st.status().code() == StatusCode::kUnavailable) {
    // No bus: what systemctl says (it may reach systemd's private socket).
    Result<UnitState> alt =
        ReadUnitWithSystemctl(env.systemctl, c.target, c.timeout, stop);
    if (!alt.ok()) {
      r.error = st.status().message() + "; fallback: " + alt.status().message();
      return r;
    }
    r.via = "systemctl";
    st = std::move(alt);
  }
  if (!st.ok()) {
    r.error = st.status().message();
    return r;
  }
  r.active_state = st->active_state;
  r.sub_state = st->sub_state;
  if (st->load_state == "not-found") {
    r.error = "unit " + c.target + " not found";
    return r;
  }
  r.up = st->active_state == "active";
  if (!r.up) {
    r.error = "unit " + c.target + " is " + st->active_state + " (" +
              st->sub_state + ")";
  }
  return r;
}

struct BusDeleter {
  void operator()(sd_bus* b) const { sd_bus_flush_close_unref(b); }
};

std::string BusErrorText(int rc, const sd_bus_error& err) {
  if (sd_bus_error_is_set(&err) && err.message != nullptr) {
    return std::string(err.name) + ": " + err.message;
  }
  return std::strerror(-rc);
}

}  // namespace

std::vector<int> FindProcesses(const std::string& proc_root,
                               const std::string& name) {
  std::vector<int> out;
  DIR* d = opendir(proc_root.c_str());
  if (d == nullptr) return out;
  while (dirent* de = readdir(d)) {
    int pid = 0;
    if (!ParsePid(de->d_name, &pid)) continue;
    const std::string base = proc_root + "/" + de->d_name;
    std::string comm, cmdline;
    bool match = ReadFile(base + "/comm", &comm) && Trim(comm) == name;
    if (!match && ReadFile(base + "/cmdline", &cmdline) && !cmdline.empty()) {
      std::string argv0 = cmdline.substr(0, cmdline.find('\0'));
      size_t slash = argv0.rfind('/');
      if (slash != std::string::npos) argv0 = argv0.substr(slash + 1);
      match = argv0 == name;
    }
    if (match && PidRuns(proc_root, pid)) out.push_back(pid);
  }
  closedir(d);
  return out;
}

bool PidRuns(const std::string& proc_root, int pid) {
  const char s = ProcState(proc_root, pid);
  return s != '\0' && s != 'Z' && s != 'X';
}

Result<UnitState> ReadUnitOverBus(const std::string& unit, Duration timeout) {
  const char* env = std::getenv("DBUS_SYSTEM_BUS_ADDRESS");
  const std::string where = env != nullptr
                                ? std::string(env)
                                : "unix:path=/run/dbus/system_bus_socket";
  sd_bus* raw = nullptr;
  int rc = sd_bus_open_system(&raw);
  std::unique_ptr<sd_bus, BusDeleter> bus(raw);
  if (rc < 0) {
    return UnavailableError("no system bus at " + where + ": " +
                            std::strerror(-rc));
  }
  sd_bus_set_method_call_timeout(
      bus.get(),
      static_cast<uint64_t>(
          std::chrono::duration_cast<std::chrono::microseconds>(timeout)
              .count()));
  char* path_raw = nullptr;
  rc = sd_bus_path_encode("/org/freedesktop/systemd1/unit", unit.c_str(),
                          &path_raw);
  if (rc < 0) return InvalidArgumentError("unit name \"" + unit + "\"");
  std::unique_ptr<char, decltype(&free)> path(path_raw, &free);
  UnitState st;
  for (auto [prop, out] : {std::pair{"LoadState", &st.load_state},
                           std::pair{"ActiveState", &st.active_state},
                           std::pair{"SubState", &st.sub_state}}) {
    sd_bus_error err = SD_BUS_ERROR_NULL;
    char* value = nullptr;
    rc = sd_bus_get_property_string(bus.get(), "org.freedesktop.systemd1",
                                    path.get(), "org.freedesktop.systemd1.Unit",
                                    prop, &err, &value);
    if (rc < 0) {
      std::string text = BusErrorText(rc, err);
      // Nobody owns systemd's name, and the bus could not start it.
      const bool no_systemd =
          sd_bus_error_has_name(&err, SD_BUS_ERROR_SERVICE_UNKNOWN) ||
          sd_bus_error_has_name(&err, SD_BUS_ERROR_NAME_HAS_NO_OWNER) ||
          (err.name != nullptr && std::string_view(err.name).starts_with(
                                      "org.freedesktop.DBus.Error.Spawn."));
      sd_bus_error_free(&err);
      // A refused connection shows up at the first call.
      if (rc == -ENOENT || rc == -ECONNREFUSED || rc == -ENOTCONN ||
          rc == -ECONNRESET) {
        return UnavailableError("no system bus at " + where + ": " + text);
      }
      if (no_systemd) {
        return NotFoundError("systemd is not on the system bus at " + where +
                             ": " + text);
      }
      return UnavailableError("reading " + unit + " " + prop + " over " +
                              where + ": " + text);
    }
    *out = value;
    free(value);
    sd_bus_error_free(&err);
  }
  return st;
}

Result<UnitState> ReadUnitWithSystemctl(const std::string& systemctl,
                                        const std::string& unit,
                                        Duration timeout,
                                        std::stop_token stop) {
  auto run = actions::RunCommand(
      {systemctl, "show", "-p", "LoadState,ActiveState,SubState", "--", unit},
      timeout, 4096, std::move(stop));
  if (!run.ok()) {
    return UnavailableError(systemctl + ": " + run.status().message());
  }
  if (!run->success()) {
    return UnavailableError(systemctl + " show " + unit + ": exit status " +
                            std::to_string(run->exit_code) + ": " +
                            Trim(run->output).substr(0, 200));
  }
  UnitState st;
  std::istringstream in(run->output);
  std::string line;
  while (std::getline(in, line)) {
    size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    const std::string key = line.substr(0, eq);
    const std::string value = Trim(line.substr(eq + 1));
    if (key == "LoadState") st.load_state = value;
    if (key == "ActiveState") st.active_state = value;
    if (key == "SubState") st.sub_state = value;
  }
  if (st.active_state.empty()) {
    return UnavailableError(systemctl + " show " + unit +
                            ": no ActiveState in its output");
  }
  return st;
}

CheckResult RunCheck(const ServiceCheckConfig& check, const CheckEnv& env,
                     std::stop_token stop) {
  const auto t0 = std::chrono::steady_clock::now();
  CheckResult r;
  if (check.kind == "process") {
    r = CheckProcessName(check.target, env);
  } else if (check.kind == "pidfile") {
    r = CheckPidfile(check.target, env);
  } else if (check.kind == "cgroup") {
    r = CheckCgroup(check.target, env);
  } else if (check.kind == "http") {
    r = CheckHttp(check, stop);
  } else if (check.kind == "command") {
    r = CheckCommand(check, stop);
  } else if (check.kind == "systemd") {
    r = CheckSystemd(check, env, stop);
  } else {
    r.error = "no check configured";
  }
  r.duration_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
          .count();
  return r;
}

}  // namespace rigwatch::services
