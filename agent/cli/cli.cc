#include "agent/cli/cli.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <functional>
#include <iostream>
#include <mutex>
#include <thread>

#include "agent/app/agent.h"
#include "agent/common/log.h"
#include "agent/common/memory.h"
#include "agent/common/periodic_worker.h"
#include "agent/common/sd_notify.h"
#include "agent/config/config.h"
#include "agent/config/target_files.h"
#include "agent/rules/loader.h"
#include "agent/version.h"

namespace rigwatch {
namespace {

std::string FlagHelp(const std::vector<FlagSpec>& specs) {
  std::string out;
  for (const FlagSpec& f : specs) {
    std::string left = "  --" + f.name + (f.takes_value ? " VALUE" : "");
    if (left.size() < 26) left.resize(26, ' ');
    out += left + " " + f.help + "\n";
  }
  out += "  --help                   show this help\n";
  return out;
}

void PrintErr(const std::string& s) { std::fputs(s.c_str(), stderr); }

// Problems in the files the config points at, read as `run` reads them:
// the rule files through the rule loader, the miner files through
// TargetFiles. One "FILE:LINE:COL: message" (or "FILE: message") a line.
std::string CheckReferencedFiles(const Config& c) {
  std::string out;
  auto add = [&out](const std::string& text) {
    out += text;
    if (!text.empty() && text.back() != '\n') out += '\n';
  };
  Result<rules::RuleSet> set = rules::LoadRuleFiles(c.rule_files);
  if (!set.ok()) add(set.status().message());
  TargetFiles files(c.miner_files);
  TargetFiles::Update u = files.Poll();
  if (!u.error.ok()) add(u.error.message());
  return out;
}

// Loads the config and checks the files it points at, or prints every
// problem; nullopt on failure. `run` and `check-config` both use it, so
// what one accepts the other starts.
std::optional<Config> LoadOrReport(const std::string& path,
                                   const std::string& outcome) {
  LoadResult r = LoadConfig(path);
  if (!r.ok()) {
    PrintErr(r.ErrorText());
    PrintErr(std::to_string(r.errors.size()) + " problem(s) found" + outcome +
             ".\n");
    return std::nullopt;
  }
  if (std::string files = CheckReferencedFiles(*r.config); !files.empty()) {
    PrintErr(files);
    const auto lines = std::count(files.begin(), files.end(), '\n');
    PrintErr(std::to_string(lines) +
             " problem(s) in files the configuration points at" + outcome +
             ".\n");
    return std::nullopt;
  }
  return std::move(r.config);
}

int CmdRun(const Flags& f) {
  std::string path = f.Get("config");
  std::optional<Config> config =
      LoadOrReport(path, " in the configuration; nothing was started");
  if (!config) return kExitConfig;
  std::string level = f.Get("log-level", config->log.level);
  Result<LogLevel> lv = ParseLogLevel(level);
  if (!lv.ok()) {
    PrintErr(lv.status().message() + "\n");
    return kExitUsage;
  }
  SetLogLevel(*lv);
  ConfigureHeapForDaemon();

  // Block the signals we handle before any thread starts, so every thread
  // inherits the mask and only sigwait below sees them.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);

  AgentOptions options;
  options.repair_store = f.Has("repair");
  Agent agent(std::move(*config), options);
  Status s = agent.Start();
  if (!s.ok()) {
    LogError("start_failed").Kv("err", s);
    return kExitFailure;
  }
  LogInfo("started")
      .Kv("version", kVersion)
      .Kv("config", path)
      .Kv("http", agent.HttpAddress());
  // systemd (Type=notify): READY once serving; WATCHDOG pings at half the
  // interval systemd asked for, while the agent's own loops are alive.
  SdNotifyReady().IgnoreError("not under systemd, or systemd went away");
  std::optional<Duration> watchdog = WatchdogInterval();
  std::optional<PeriodicWorker> wd;
  if (watchdog) {
    wd.emplace("watchdog", *watchdog / 2, [&agent] {
      std::vector<std::string> stuck = agent.StuckLoops();
      if (stuck.empty()) {
        SdNotifyWatchdog().IgnoreError("systemd restarts us if it matters");
        return;
      }
      std::string names;
      for (const std::string& n : stuck)
        names += (names.empty() ? "" : ",") + n;
      LogError("watchdog_withheld").Kv("stuck", names);
    });
    wd->Start(*watchdog / 2);
  }
  auto stop_watchdog = [&wd] {
    if (wd) wd->Stop();
  };
  while (true) {
    int sig = 0;
    if (sigwait(&set, &sig) != 0) continue;
    if (sig == SIGHUP) {
      SdNotifyReloading().IgnoreError("not under systemd");
      LoadResult r = LoadConfig(path);
      if (!r.ok()) {
        for (const ConfigError& e : r.errors) {
          LogError("config_reload_rejected")
              .Kv("at", e.location.ToString())
              .Kv("err", e.message);
        }
        LogWarn("config_reload_kept_old")
            .Kv("problems", static_cast<int64_t>(r.errors.size()));
        SdNotifyReady().IgnoreError("not under systemd");
        continue;
      }
      agent.Reload(std::move(*r.config))
          .IgnoreError("Reload logged why and kept the running config");
      SdNotifyReady().IgnoreError("not under systemd");
      continue;
    }
    LogInfo("stopping").Kv("signal", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    SdNotifyStopping().IgnoreError("not under systemd");
    stop_watchdog();
    auto t0 = std::chrono::steady_clock::now();
    agent.Stop();
    double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
            .count();
    LogInfo("stopped").Kv("seconds", secs);
    return kExitOk;
  }
}

int CmdCheckConfig(const Flags& f) {
  std::string path = f.Get("config");
  std::optional<Config> c = LoadOrReport(path, "");
  if (!c) return kExitConfig;
  std::printf("%s: ok (%zu miners, %zu miner files, %zu rule files)\n",
              path.c_str(), c->miners.size(), c->miner_files.size(),
              c->rule_files.size());
  return kExitOk;
}

int CmdVersion(const Flags&) {
  std::printf("rigwatch %s (revision %s)\n", kVersion, kRevision);
  return kExitOk;
}

int CmdDocsMetrics(const Flags&) {
  std::fputs(MetricsMarkdown().c_str(), stdout);
  return kExitOk;
}

int CmdHealth(const Flags& f) {
  std::string out;
  bool ok = RunHealthChecks(f.Get("config"), f.Has("web"), &out);
  std::fputs(out.c_str(), stdout);
  if (f.Has("exit-code") && !ok) return kExitFailure;
  return kExitOk;
}

const FlagSpec kConfigFlag{"config", true,
                           "path of the config file (required)"};

std::vector<Command> Commands() {
  std::vector<Command> all = {
      {"run",
       "run the agent",
       "rigwatch run --config FILE [--log-level L]",
       {kConfigFlag,
        {"log-level", true, "debug|info|warn|error (overrides log.level)"},
        {"repair", false,
         "repair a store that fails its consistency check (salvages what it "
         "can)"}},
       CmdRun},
      {"check-config",
       "validate a config file and report every problem",
       "rigwatch check-config --config FILE",
       {kConfigFlag},
       CmdCheckConfig},
      {"health",
       "check config, data dir, free disk and (--web) the running agent",
       "rigwatch health --config FILE [--web] [--exit-code]",
       {kConfigFlag,
        {"web", false, "also check that the running agent answers /healthz"},
        {"exit-code", false, "exit 1 when any check fails"}},
       CmdHealth},
      {"version", "print the version", "rigwatch version", {}, CmdVersion},
      {"docs metrics",
       "print the metrics reference (docs/metrics.md)",
       "rigwatch docs metrics",
       {},
       CmdDocsMetrics},
  };
  for (Command& c : OperationalCommands()) all.push_back(std::move(c));
  return all;
}

std::string MainHelp() {
  std::string out =
      "rigwatch: watches a mining fleet and its host.\n\n"
      "usage: rigwatch <command> [flags]   (rigwatch <command> --help)\n\n"
      "commands:\n";
  for (const Command& c : Commands()) {
    std::string left = "  " + c.name;
    if (left.size() < 18) left.resize(18, ' ');
    out += left + c.summary + "\n";
  }
  out +=
      "\nexit codes: 0 ok, 1 failure, 2 usage error, 3 invalid "
      "configuration\n";
  return out;
}

}  // namespace

bool ParseFlags(const std::vector<std::string>& args, size_t from,
                const std::vector<FlagSpec>& specs, Flags* out,
                std::string* error) {
  for (size_t i = from; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a.rfind("--", 0) != 0 || a == "--") {
      out->positional.push_back(a);
      continue;
    }
    std::string name = a.substr(2);
    std::optional<std::string> value;
    size_t eq = name.find('=');
    if (eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    if (name == "help") {
      out->values["help"].push_back("");
      continue;
    }
    auto spec = std::find_if(specs.begin(), specs.end(),
                             [&](const FlagSpec& s) { return s.name == name; });
    if (spec == specs.end()) {
      *error = "unknown flag --" + name;
      return false;
    }
    if (spec->takes_value) {
      if (!value) {
        if (i + 1 >= args.size()) {
          *error = "flag --" + name + " needs a value";
          return false;
        }
        value = args[++i];
      }
      out->values[name].push_back(*value);
    } else {
      if (value) {
        *error = "flag --" + name + " takes no value";
        return false;
      }
      out->values[name].push_back("");
    }
  }
  return true;
}

int RunCli(const std::vector<std::string>& args) {
  if (args.size() < 2 || args[1] == "--help" || args[1] == "-h" ||
      args[1] == "help") {
    std::string help = MainHelp();
    bool asked = args.size() >= 2;
    std::fputs(help.c_str(), asked ? stdout : stderr);
    return asked ? kExitOk : kExitUsage;
  }
  if (args[1] == "--version") return CmdVersion({});
  // Two-word commands ("backup create") match on both words.
  for (const Command& c : Commands()) {
    size_t words =
        static_cast<size_t>(std::count(c.name.begin(), c.name.end(), ' ')) + 1;
    if (args.size() < 1 + words) continue;
    std::string name = args[1];
    for (size_t w = 2; w <= words; ++w) name += " " + args[w];
    if (c.name != name) continue;
    Flags flags;
    std::string error;
    if (!ParseFlags(args, 1 + words, c.flags, &flags, &error)) {
      PrintErr("rigwatch " + c.name + ": " + error + "\nusage: " + c.usage +
               "\n" + FlagHelp(c.flags));
      return kExitUsage;
    }
    if (flags.Has("help")) {
      std::printf("%s\n\nusage: %s\n\nflags:\n%s", c.summary.c_str(),
                  c.usage.c_str(), FlagHelp(c.flags).c_str());
      return kExitOk;
    }
    for (const FlagSpec& s : c.flags) {
      if (s.name == "config" && !flags.Has("config")) {
        PrintErr("rigwatch " + c.name +
                 ": --config FILE is required\nusage: " + c.usage + "\n");
        return kExitUsage;
      }
    }
    return c.run(flags);
  }
  PrintErr("rigwatch: unknown command \"" + args[1] + "\"\n\n" + MainHelp());
  return kExitUsage;
}

}  // namespace rigwatch
