// The operational subcommands: export, backup, db check, rules export, miner
// restart, notify test, mute. Each reuses a component's library function;
// none needs the agent to be stopped except where RocksDB's lock says so.
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>

#include "agent/actions/smtp.h"
#include "agent/api/api_util.h"
#include "agent/app/config_map.h"
#include "agent/backup/backup.h"
#include "agent/cli/cli.h"
#include "agent/common/rfc3339.h"
#include "agent/common/secret_file.h"
#include "agent/common/units.h"
#include "agent/config/config.h"
#include "agent/http/server.h"
#include "agent/poller/poller.h"
#include "agent/rules/loader.h"
#include "agent/rules/prometheus_export.h"
#include "agent/store/csv.h"
#include "agent/store/rocks_store.h"
#include "exporters/json_util.h"
#include "exporters/registry.h"

namespace rigwatch {
namespace {

const FlagSpec kConfig{"config", true, "path of the config file (required)"};

void Err(const std::string& s) { std::fputs((s + "\n").c_str(), stderr); }

std::optional<Config> Load(const Flags& f) {
  LoadOptions lo;
  lo.check_writable = false;  // read-only commands work on read-only media
  // The password file is the agent's (often 0600): an operator's export or
  // backup listing must not depend on reading it.
  lo.check_files = false;
  LoadResult r = LoadConfig(f.Get("config"), lo);
  if (!r.ok()) {
    std::fputs(r.ErrorText().c_str(), stderr);
    return std::nullopt;
  }
  return std::move(r.config);
}

store::StoreOptions StoreOpts(const Config& c, store::OpenMode mode) {
  return ToStoreOptions(c.storage, mode, /*repair=*/false);
}

int CmdExport(const Flags& f) {
  std::optional<Config> c = Load(f);
  if (!c) return kExitConfig;
  WallTime now = std::chrono::system_clock::now();
  WallTime from, to = now;
  if (f.Has("hours") && (f.Has("from") || f.Has("to"))) {
    Err("rigwatch export: give either --hours or --from/--to, not both");
    return kExitUsage;
  }
  if (f.Has("from") || f.Has("to")) {
    if (!f.Has("from")) {
      Err("rigwatch export: --to needs --from");
      return kExitUsage;
    }
    Result<WallTime> a = ParseTimeArg(f.Get("from"), now);
    Result<WallTime> b = ParseTimeArg(f.Get("to", "now"), now);
    if (!a.ok() || !b.ok()) {
      Err("rigwatch export: " +
          (a.ok() ? b.status().message() : a.status().message()));
      return kExitUsage;
    }
    from = *a;
    to = *b;
  } else {
    int hours = 24;
    std::string h = f.Get("hours", "24");
    if (std::sscanf(h.c_str(), "%d", &hours) != 1 || hours <= 0) {
      Err("rigwatch export: --hours must be a positive whole number, got \"" +
          h + "\"");
      return kExitUsage;
    }
    from = now - std::chrono::hours(hours);
  }
  if (!(from < to)) {
    Err("rigwatch export: the time range is empty: --from must be before "
        "--to");
    return kExitUsage;
  }
  if (!f.Has("output")) {
    Err("rigwatch export: --output FILE (or - for stdout) is required");
    return kExitUsage;
  }
  // Read-only: works next to a running agent, never writes the store.
  Result<std::unique_ptr<store::Store>> st =
      store::OpenRocksStore(StoreOpts(*c, store::OpenMode::kReadOnly));
  if (!st.ok()) {
    Err("rigwatch export: cannot open the store: " + st.status().message());
    return kExitFailure;
  }
  Result<std::unique_ptr<store::RowIterator>> it = (*st)->Scan(from, to);
  if (!it.ok()) {
    Err("rigwatch export: " + it.status().message());
    return kExitFailure;
  }
  RowFilter filter;
  for (const std::string& m : f.All("miner")) filter.miners.insert(m);
  for (const std::string& m : f.All("metric")) filter.metrics.insert(m);

  std::string out_path = f.Get("output");
  std::ofstream file;
  std::ostream* out = &std::cout;
  std::string tmp_path;
  if (out_path != "-") {
    // Write aside and rename, so a failed export never leaves half a file
    // under the asked name.
    tmp_path = out_path + ".partial";
    file.open(tmp_path, std::ios::binary | std::ios::trunc);
    if (!file) {
      Err("rigwatch export: cannot write " + tmp_path);
      return kExitFailure;
    }
    out = &file;
  }
  bool progress = isatty(STDERR_FILENO) && out_path != "-";
  *out << "timestamp,miner,metric,labels,value\n";
  uint64_t rows = 0;
  auto last = std::chrono::steady_clock::now();
  store::Row row;
  while (true) {
    Result<bool> more = (*it)->Next(row);
    if (!more.ok()) {
      Err("rigwatch export: " + more.status().message());
      if (!tmp_path.empty()) std::remove(tmp_path.c_str());
      return kExitFailure;
    }
    if (!*more) break;
    if (!filter.Match(row)) continue;
    *out << store::CsvLine(row) << '\n';
    ++rows;
    if (progress && (rows & 4095) == 0 &&
        std::chrono::steady_clock::now() - last >
            std::chrono::milliseconds(500)) {
      last = std::chrono::steady_clock::now();
      std::fprintf(stderr, "\rexported %llu rows, at %s",
                   static_cast<unsigned long long>(rows),
                   FormatRfc3339(row.ts).c_str());
    }
  }
  out->flush();
  if (!*out) {
    Err("rigwatch export: write failed (disk full?)");
    if (!tmp_path.empty()) std::remove(tmp_path.c_str());
    return kExitFailure;
  }
  if (!tmp_path.empty()) {
    file.close();
    if (std::rename(tmp_path.c_str(), out_path.c_str()) != 0) {
      Err("rigwatch export: cannot rename " + tmp_path + " to " + out_path);
      return kExitFailure;
    }
  }
  if (progress) std::fputs("\r", stderr);
  std::fprintf(stderr, "exported %llu rows\n",
               static_cast<unsigned long long>(rows));
  return kExitOk;
}

void PrintBackup(const backup::BackupInfo& b) {
  std::printf("%-4u %s  %10.1f MB  %6u files  %12llu samples  %s\n", b.id,
              FormatRfc3339(b.time).c_str(), b.size_bytes / 1e6, b.file_count,
              static_cast<unsigned long long>(b.sample_count),
              !b.verified.has_value() ? "unverified"
              : *b.verified           ? "verified"
                                      : ("FAILED: " + b.verify_error).c_str());
}

int CmdBackupCreate(const Flags& f) {
  std::optional<Config> c = Load(f);
  if (!c) return kExitConfig;
  backup::BackupOptions bo;
  bo.dir = f.Get("dir", c->backup.dir);
  bo.after_command = c->backup.after_command;
  Result<backup::BackupInfo> b =
      backup::CreateBackup(StoreOpts(*c, store::OpenMode::kReadWrite), bo);
  if (!b.ok()) {
    Err("rigwatch backup create: " + b.status().message());
    return kExitFailure;
  }
  PrintBackup(*b);
  return b->verified.value_or(true) ? kExitOk : kExitFailure;
}

int CmdBackupList(const Flags& f) {
  std::optional<Config> c = Load(f);
  if (!c) return kExitConfig;
  Result<std::vector<backup::BackupInfo>> l =
      backup::ListBackups(f.Get("dir", c->backup.dir));
  if (!l.ok()) {
    Err("rigwatch backup list: " + l.status().message());
    return kExitFailure;
  }
  for (const backup::BackupInfo& b : *l) PrintBackup(b);
  return kExitOk;
}

std::optional<uint32_t> IdFlag(const Flags& f, const char* cmd) {
  unsigned id = 0;
  std::string s = f.Get("id", "0");
  if (std::sscanf(s.c_str(), "%u", &id) != 1) {
    Err(std::string(cmd) + ": --id must be a backup number, got \"" + s + "\"");
    return std::nullopt;
  }
  return id;
}

int CmdBackupVerify(const Flags& f) {
  std::optional<Config> c = Load(f);
  if (!c) return kExitConfig;
  std::string dir = f.Get("dir", c->backup.dir);
  std::vector<uint32_t> ids;
  if (f.Has("id")) {
    std::optional<uint32_t> id = IdFlag(f, "rigwatch backup verify");
    if (!id) return kExitUsage;
    ids.push_back(*id);
  } else {
    Result<std::vector<backup::BackupInfo>> l = backup::ListBackups(dir);
    if (!l.ok()) {
      Err("rigwatch backup verify: " + l.status().message());
      return kExitFailure;
    }
    for (const auto& b : *l) ids.push_back(b.id);
  }
  int rc = kExitOk;
  for (uint32_t id : ids) {
    Status s = backup::VerifyBackup(dir, id);
    std::printf("backup %u: %s\n", id, s.ok() ? "ok" : s.ToString().c_str());
    if (!s.ok()) rc = kExitFailure;
  }
  return rc;
}

int CmdBackupRestore(const Flags& f) {
  std::optional<Config> c = Load(f);
  if (!c) return kExitConfig;
  if (!f.Has("to")) {
    Err("rigwatch backup restore: --to DIR is required (a new or empty "
        "directory; the live store is never overwritten)");
    return kExitUsage;
  }
  std::optional<uint32_t> id = IdFlag(f, "rigwatch backup restore");
  if (!id) return kExitUsage;
  Status s =
      backup::RestoreBackup(f.Get("dir", c->backup.dir), *id, f.Get("to"));
  if (!s.ok()) {
    Err("rigwatch backup restore: " + s.ToString());
    return kExitFailure;
  }
  std::printf(
      "restored backup %s into %s; point storage.path at it to use "
      "it\n",
      *id == 0 ? "(newest)" : std::to_string(*id).c_str(), f.Get("to").c_str());
  return kExitOk;
}

int CmdBackupPrune(const Flags& f) {
  std::optional<Config> c = Load(f);
  if (!c) return kExitConfig;
  int keep = c->backup.keep;
  if (f.Has("keep") &&
      (std::sscanf(f.Get("keep").c_str(), "%d", &keep) != 1 || keep < 1)) {
    Err("rigwatch backup prune: --keep must be at least 1");
    return kExitUsage;
  }
  Result<int> n = backup::PruneBackups(f.Get("dir", c->backup.dir), keep);
  if (!n.ok()) {
    Err("rigwatch backup prune: " + n.status().message());
    return kExitFailure;
  }
  std::printf("deleted %d backup(s), kept the newest %d\n", *n, keep);
  return kExitOk;
}

int CmdDbCheck(const Flags& f) {
  std::optional<Config> c = Load(f);
  if (!c) return kExitConfig;
  store::StoreOptions o = StoreOpts(*c, store::OpenMode::kReadOnly);
  o.verify_on_open = false;  // Check() reports corruption itself
  Result<std::unique_ptr<store::Store>> st = store::OpenRocksStore(o);
  if (!st.ok()) {
    // A store that cannot be opened but is one (tables, a WAL or some of
    // its families are there) is damaged: say what to do, so nobody takes
    // it for a stray directory and deletes it.
    std::string hint;
    if (st.status().code() == StatusCode::kDataLoss &&
        st.status().message().find("run rigwatch run --repair") ==
            std::string::npos) {
      hint = " (damaged, run rigwatch run --repair)";
    }
    std::printf("FAIL  open: %s%s\n", st.status().ToString().c_str(),
                hint.c_str());
    return kExitFailure;
  }
  Result<store::CheckReport> r = (*st)->Check(c->scrape.interval, 6);
  if (!r.ok()) {
    std::printf("FAIL  check: %s\n", r.status().ToString().c_str());
    return kExitFailure;
  }
  std::printf("%s  schema version %u\n", "ok  ", r->schema_version);
  std::printf("%s  checksums\n", r->checksums_ok ? "ok  " : "FAIL");
  std::printf(
      "%s  free disk %llu MB (floor %llu MB)\n", r->low_disk ? "FAIL" : "ok  ",
      static_cast<unsigned long long>(r->free_bytes / 1000000),
      static_cast<unsigned long long>(c->storage.min_free_bytes / 1000000));
  std::printf("%s  stale targets: %zu\n",
              r->stale_targets.empty() ? "ok  " : "warn",
              r->stale_targets.size());
  for (const std::string& t : r->stale_targets)
    std::printf("      %s\n", t.c_str());
  for (const std::string& p : r->problems) std::printf("FAIL  %s\n", p.c_str());
  return r->ok() ? kExitOk : kExitFailure;
}

int CmdRulesExport(const Flags& f) {
  std::optional<Config> c = Load(f);
  if (!c) return kExitConfig;
  std::string format = f.Get("format", "prometheus");
  if (format != "prometheus") {
    Err("rigwatch rules export: unknown --format \"" + format +
        "\" (allowed: prometheus)");
    return kExitUsage;
  }
  Result<rules::RuleSet> set = rules::LoadRuleFiles(c->rule_files);
  if (!set.ok()) {
    Err(set.status().message());
    return kExitConfig;
  }
  std::string source;
  for (const std::string& p : c->rule_files)
    source += (source.empty() ? "" : ", ") + p;
  Result<std::string> text = rules::ExportPrometheusRules(*set, source);
  if (!text.ok()) {
    Err("rigwatch rules export: " + text.status().message());
    return kExitFailure;
  }
  std::string out = f.Get("output", "-");
  if (out == "-") {
    std::fputs(text->c_str(), stdout);
  } else {
    std::ofstream o(out, std::ios::binary | std::ios::trunc);
    o << *text;
    if (!o) {
      Err("rigwatch rules export: cannot write " + out);
      return kExitFailure;
    }
  }
  return kExitOk;
}

int CmdRulesCheck(const Flags& f) {
  std::optional<Config> c = Load(f);
  if (!c) return kExitConfig;
  Result<rules::RuleSet> set = rules::LoadRuleFiles(c->rule_files);
  if (!set.ok()) {
    Err(set.status().message());
    return kExitConfig;
  }
  std::printf("rules ok (%zu files)\n", c->rule_files.size());
  return kExitOk;
}

int CmdNotifyTest(const Flags& f) {
  std::optional<Config> c = Load(f);
  if (!c) return kExitConfig;
  const SmtpConfig& m = c->notify.smtp;
  if (m.to.empty()) {
    Err("rigwatch notify test: notify.smtp.to is empty in " + c->file);
    return kExitFailure;
  }
  Result<actions::SmtpOptions> so = ToSmtpOptions(m);
  if (!so.ok()) {
    Err(so.status().message());
    return kExitConfig;
  }
  Status s = actions::SendTestMail(*so);
  if (!s.ok()) {
    Err("rigwatch notify test: " + s.ToString());
    return kExitFailure;
  }
  std::printf("test mail accepted by %s for %zu recipient(s)\n", m.url.c_str(),
              m.to.size());
  return kExitOk;
}

// The name as one URL path segment or query value.
std::string PercentEncode(std::string_view in) {
  std::string out;
  for (unsigned char ch : in) {
    if (std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.') {
      out += static_cast<char>(ch);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", ch);
      out += buf;
    }
  }
  return out;
}

// The secret a --password-file or --token-file flag names
// (agent/common/secret_file.h), its first line. An empty one is an error:
// sending an empty secret would only earn a confusing 401.
Result<std::string> FlagSecret(const Flags& f, const std::string& flag) {
  const std::string path = f.Get(flag);
  if (path.empty()) return InvalidArgumentError("--" + flag + " needs a file");
  RW_ASSIGN_OR_RETURN(std::string s, ReadSecretFile(path, "--" + flag));
  s = s.substr(0, s.find_first_of("\r\n"));
  if (s.empty()) {
    return InvalidArgumentError("--" + flag + " " + path +
                                ": the first line is empty");
  }
  return s;
}

// The Authorization header line for the flags: --user with --password-file
// (Basic), or --token-file (Bearer), or none.
Result<std::string> AgentAuthorization(const Flags& f) {
  if (f.Has("token-file")) {
    if (f.Has("user") || f.Has("password-file")) {
      return InvalidArgumentError(
          "--token-file or --user/--password-file, not both");
    }
    RW_ASSIGN_OR_RETURN(std::string token, FlagSecret(f, "token-file"));
    return "Authorization: Bearer " + token + "\r\n";
  }
  if (f.Has("user") != f.Has("password-file")) {
    return InvalidArgumentError("--user and --password-file go together");
  }
  if (!f.Has("user")) return std::string();
  RW_ASSIGN_OR_RETURN(std::string pass, FlagSecret(f, "password-file"));
  return "Authorization: Basic " + Base64Encode(f.Get("user") + ":" + pass) +
         "\r\n";
}

// One request to the running agent at http.listen (a wildcard address is
// reached on loopback), with the flags' credentials (AgentAuthorization).
// Prints the reason and returns nullopt when there is no usable answer
// (bad credential flags, unreachable, 401); any other status is the
// caller's to judge. `exit_code` says which exit fits the failure.
std::optional<HttpReply> CallAgent(const Config& c, const Flags& f,
                                   const std::string& cmd,
                                   const std::string& method,
                                   const std::string& path,
                                   std::chrono::seconds timeout,
                                   int* exit_code) {
  *exit_code = kExitFailure;
  Result<HostPort> hp = ParseHostPort(c.http.listen, 9842);
  if (!hp.ok()) {
    Err(cmd + ": " + hp.status().message());
    return std::nullopt;
  }
  std::string host = hp->host == "0.0.0.0" ? "127.0.0.1"
                     : hp->host == "::"    ? "::1"
                                           : hp->host;
  Result<std::string> auth = AgentAuthorization(f);
  if (!auth.ok()) {
    Err(cmd + ": " + auth.status().message());
    *exit_code = kExitUsage;
    return std::nullopt;
  }
  Result<HttpReply> r = HttpCall(host, hp->port, method, path, *auth, timeout,
                                 c.http.tls ? &*c.http.tls : nullptr);
  if (!r.ok()) {
    Err(cmd + ": the agent does not answer: " + r.status().message());
    return std::nullopt;
  }
  if (r->status == 401) {
    Err(cmd + ": " +
        (auth->empty() ? "the agent wants credentials: --user NAME "
                         "--password-file FILE, or --token-file FILE"
                       : "the agent refused the credentials") +
        ": " + r->body);
    return std::nullopt;
  }
  return *r;
}

// The restart goes through the running agent: its journal, cooldown, limits
// and fleet guard apply, and it knows the miners of miner_files too.
int CmdMinerRestart(const Flags& f) {
  std::optional<Config> c = Load(f);
  if (!c) return kExitConfig;
  if (f.positional.size() != 1) {
    Err("usage: rigwatch miner restart NAME --config FILE [--force]");
    return kExitUsage;
  }
  const std::string& name = f.positional[0];
  const bool force = f.Has("force");
  // The agent answers after the miner did (at most twice the scrape
  // timeout), so wait a little longer than that.
  const auto wait =
      std::chrono::duration_cast<std::chrono::seconds>(c->scrape.timeout * 2) +
      std::chrono::seconds(5);
  int exit_code = kExitFailure;
  std::optional<HttpReply> r =
      CallAgent(*c, f, "rigwatch miner restart", "POST",
                "/api/v1/miners/" + PercentEncode(name) + "/restart" +
                    (force ? "?force=1" : ""),
                wait, &exit_code);
  if (!r) return exit_code;
  if (r->status != 200) {
    std::string why = std::to_string(r->status) + " " + r->body;
    Result<json_util::Json> j = json_util::ParseLenient(r->body, "reply");
    if (j.ok()) {
      if (auto e = json_util::ToStringView(json_util::Field(*j, "error"))) {
        why = std::string(*e);
      }
    }
    Err("rigwatch miner restart: " + name + ": " + why);
    return kExitFailure;
  }
  std::printf("%s: restart accepted%s\n", name.c_str(),
              force ? " (forced: cooldown and limit skipped)" : "");
  return kExitOk;
}

// Mute talks to the running agent: the store belongs to it.
int CmdMute(const Flags& f) {
  std::optional<Config> c = Load(f);
  if (!c) return kExitConfig;
  if (f.positional.size() != 1) {
    Err("usage: rigwatch mute NAME --for 2h --config FILE (or --off)");
    return kExitUsage;
  }
  std::string dur = f.Get("for", "2h");
  Result<std::chrono::milliseconds> d = ParseDuration(dur);
  if (!d.ok()) {
    Err("rigwatch mute: --for: " + d.status().message());
    return kExitUsage;
  }
  bool off = f.Has("off");
  std::string path = "/api/v1/mute?target=" + PercentEncode(f.positional[0]) +
                     (off ? "" : "&for=" + dur);
  int exit_code = kExitFailure;
  std::optional<HttpReply> r =
      CallAgent(*c, f, "rigwatch mute", off ? "DELETE" : "POST", path,
                std::chrono::seconds(3), &exit_code);
  if (!r) return exit_code;
  if (r->status != 200) {
    Err("rigwatch mute: " + std::to_string(r->status) + " " + r->body);
    return kExitFailure;
  }
  std::printf("%s %s\n", f.positional[0].c_str(),
              off ? "unmuted" : ("muted for " + dur).c_str());
  return kExitOk;
}

// A person acted on a service that reached its restart limit: the running
// agent may restart it again.
int CmdServiceReset(const Flags& f) {
  std::optional<Config> c = Load(f);
  if (!c) return kExitConfig;
  if (f.positional.size() != 1) {
    Err("usage: rigwatch service reset NAME --config FILE");
    return kExitUsage;
  }
  int exit_code = kExitFailure;
  std::optional<HttpReply> r =
      CallAgent(*c, f, "rigwatch service reset", "POST",
                "/api/v1/services/" + PercentEncode(f.positional[0]) + "/reset",
                std::chrono::seconds(3), &exit_code);
  if (!r) return exit_code;
  if (r->status != 200) {
    Err("rigwatch service reset: " + std::to_string(r->status) + " " + r->body);
    return kExitFailure;
  }
  std::printf("%s: restart attempts and limit reset\n",
              f.positional[0].c_str());
  return kExitOk;
}

}  // namespace

std::vector<Command> OperationalCommands() {
  const FlagSpec dir{"dir", true, "backup directory (default: backup.dir)"};
  return {
      {"export",
       "export stored samples as CSV",
       "rigwatch export --config FILE [--hours N | --from T --to T] "
       "[--miner NAME ...] [--metric NAME ...] --output FILE|-",
       {kConfig,
        {"hours", true, "the last N hours (default 24)"},
        {"from", true, "start: RFC 3339, Unix seconds, or -DURATION"},
        {"to", true, "end (default now)"},
        {"miner", true, "only this miner (repeatable; \"host\" for the host)"},
        {"metric", true, "only this metric (repeatable)"},
        {"output", true, "file to write, or - for stdout"}},
       CmdExport},
      {"backup create",
       "back up the store (agent stopped; the running agent "
       "backs up on its own schedule)",
       "rigwatch backup create --config FILE [--dir DIR]",
       {kConfig, dir},
       CmdBackupCreate},
      {"backup list",
       "list backups with time, size, samples, verification",
       "rigwatch backup list --config FILE [--dir DIR]",
       {kConfig, dir},
       CmdBackupList},
      {"backup verify",
       "re-read every file of a backup (all when no --id)",
       "rigwatch backup verify --config FILE [--id N] [--dir DIR]",
       {kConfig, dir, {"id", true, "backup number"}},
       CmdBackupVerify},
      {"backup restore",
       "restore a verified backup into a new directory",
       "rigwatch backup restore --config FILE --to DIR [--id N] [--dir DIR]",
       {kConfig,
        dir,
        {"id", true, "backup number (default newest)"},
        {"to", true, "a new or empty directory"}},
       CmdBackupRestore},
      {"backup prune",
       "delete all but the newest backups",
       "rigwatch backup prune --config FILE [--keep N] [--dir DIR]",
       {kConfig, dir, {"keep", true, "how many to keep (default backup.keep)"}},
       CmdBackupPrune},
      {"db check",
       "check the store: checksums, schema, free disk, stale data",
       "rigwatch db check --config FILE",
       {kConfig},
       CmdDbCheck},
      {"rules export",
       "write Prometheus alerting rules equal to the rule files",
       "rigwatch rules export --config FILE [--format prometheus] [--output F]",
       {kConfig,
        {"format", true, "prometheus"},
        {"output", true, "file (default stdout)"}},
       CmdRulesExport},
      {"rules check",
       "validate the rule files",
       "rigwatch rules check --config FILE",
       {kConfig},
       CmdRulesCheck},
      {"miner restart",
       "ask the running agent to restart one miner (journal, cooldown, "
       "limits and fleet guard apply)",
       "rigwatch miner restart NAME --config FILE [--force]",
       {kConfig,
        {"force", false,
         "skip the cooldown and the attempt limit (journaled as forced)"},
        {"user", true, "basic auth user of the agent"},
        {"password-file", true, "file with that user's password"}},
       CmdMinerRestart},
      {"notify test",
       "send a test mail through notify.smtp",
       "rigwatch notify test --config FILE",
       {kConfig},
       CmdNotifyTest},
      {"mute",
       "mute (or --off: unmute) a target's notifications and actions",
       "rigwatch mute NAME --for 2h --config FILE [--off]",
       {kConfig,
        {"for", true, "how long (default 2h)"},
        {"off", false, "end the mute now"},
        {"user", true, "basic auth user of the agent"},
        {"password-file", true, "file with that user's password"},
        {"token-file", true, "file with a bearer token (http.tokens)"}},
       CmdMute},
      {"service reset",
       "let the agent restart a host service again after its restart limit",
       "rigwatch service reset NAME --config FILE",
       {kConfig,
        {"user", true, "basic auth user of the agent"},
        {"password-file", true, "file with that user's password"}},
       CmdServiceReset},
  };
}

}  // namespace rigwatch
