#include "agent/backup/backup.h"

#include <rocksdb/env.h>
#include <rocksdb/utilities/backup_engine.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "agent/common/log.h"
#include "agent/store/rocks_store_impl.h"

extern char** environ;

namespace rigwatch::backup {
namespace {

namespace fs = std::filesystem;
using store::FromRocks;

std::string VerifyPath(const std::string& dir, uint32_t id) {
  return dir + "/rigwatch/" + std::to_string(id) + ".verify";
}

std::string EncodeMeta(int64_t time_ms, uint64_t samples) {
  return "time_ms=" + std::to_string(time_ms) +
         ";samples=" + std::to_string(samples);
}

void DecodeMeta(const std::string& meta, BackupInfo& info) {
  std::istringstream in(meta);
  std::string part;
  while (std::getline(in, part, ';')) {
    size_t eq = part.find('=');
    if (eq == std::string::npos) continue;
    std::string k = part.substr(0, eq);
    uint64_t v = std::strtoull(part.c_str() + eq + 1, nullptr, 10);
    if (k == "time_ms") info.time = FromUnixMillis(static_cast<int64_t>(v));
    if (k == "samples") info.sample_count = v;
  }
}

BackupInfo ToInfo(const std::string& dir, const rocksdb::BackupInfo& b) {
  BackupInfo info;
  info.id = b.backup_id;
  info.time = FromUnixMillis(b.timestamp * 1000);
  info.size_bytes = b.size;
  info.file_count = b.number_files;
  DecodeMeta(b.app_metadata, info);
  std::ifstream v(VerifyPath(dir, b.backup_id));
  std::string line;
  if (v && std::getline(v, line)) {
    info.verified = line == "ok";
    if (line != "ok") info.verify_error = line;
  }
  return info;
}

Result<std::unique_ptr<rocksdb::BackupEngine>> OpenEngine(
    const std::string& dir) {
  rocksdb::BackupEngineOptions bo(dir);
  bo.share_files_with_checksum = true;
  bo.sync = true;
  rocksdb::BackupEngine* be = nullptr;
  RW_RETURN_IF_ERROR(
      FromRocks(rocksdb::BackupEngine::Open(bo, rocksdb::Env::Default(), &be),
                "open backup set " + dir));
  return std::unique_ptr<rocksdb::BackupEngine>(be);
}

// Runs argv without a shell, in its own process group, and waits up to
// `timeout` or until `stop` is requested; then the whole group is killed.
Status RunCommand(const std::vector<std::string>& argv,
                  std::chrono::seconds timeout, const std::stop_token& stop) {
  std::vector<char*> args;
  for (const std::string& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // Its own group: a shell script's children die with it.
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);
  pid_t pid;
  int rc = posix_spawnp(&pid, args[0], nullptr, &attr, args.data(), environ);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return ErrnoToStatus(rc, "after_command " + argv[0]);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  for (;;) {
    pid_t w = waitpid(pid, &status, WNOHANG);
    if (w == pid) break;
    if (w < 0) return ErrnoToStatus(errno, "after_command wait");
    const bool stopped = stop.stop_requested();
    if (stopped || std::chrono::steady_clock::now() > deadline) {
      kill(-pid, SIGKILL);
      waitpid(pid, &status, 0);
      return stopped ? UnavailableError("after_command " + argv[0] +
                                        ": killed, the agent is stopping")
                     : DeadlineExceededError("after_command " + argv[0] +
                                             ": killed after timeout");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return Status::Ok();
  return UnavailableError(
      "after_command " + argv[0] + ": " +
      (WIFEXITED(status)
           ? "exit status " + std::to_string(WEXITSTATUS(status))
           : "killed by signal " + std::to_string(WTERMSIG(status))));
}

Status VerifyWith(rocksdb::BackupEngine& be, uint32_t id) {
  rocksdb::IOStatus s = be.VerifyBackup(id, /*verify_with_checksum=*/true);
  if (s.ok()) return Status::Ok();
  return DataLossError("backup " + std::to_string(id) +
                       " failed verification: " + s.ToString());
}

// An interrupted backup run leaves nothing listed: the backup (when it
// was committed) and its files go.
Status Abandon(rocksdb::BackupEngine& be, const std::string& dir,
               std::optional<uint32_t> id, std::string_view during) {
  if (id) {
    be.DeleteBackup(*id).PermitUncheckedError();
    std::error_code ec;
    fs::remove(VerifyPath(dir, *id), ec);
  }
  be.GarbageCollect().PermitUncheckedError();  // a stopped copy's files
  LogWarn("backup_interrupted").Kv("during", during).Kv("dir", dir);
  return UnavailableError("backup in " + dir + " interrupted during " +
                          std::string(during) +
                          " (the agent is stopping); nothing was kept");
}

}  // namespace

Result<BackupInfo> CreateBackup(store::Snapshotter& st, const BackupOptions& o,
                                std::stop_token stop) {
  if (o.dir.empty()) return InvalidArgumentError("backup: empty dir");
  std::error_code ec;
  fs::create_directories(o.dir + "/rigwatch", ec);
  if (ec) return UnavailableError("mkdir " + o.dir + ": " + ec.message());
  RW_ASSIGN_OR_RETURN(auto be, OpenEngine(o.dir));
  // Everything acknowledged so far goes in; ingest continues meanwhile.
  st.FlushAcknowledged().IgnoreError(
      "a paused writer must not block the backup");
  uint64_t samples = st.StoredSamples();
  rocksdb::CreateBackupOptions co;
  co.flush_before_backup = true;
  co.decrease_background_thread_cpu_priority = true;
  uint32_t id = 0;
  Status created;
  {
    // The engine stops copying at the next file and returns Incomplete.
    std::stop_callback abort(stop, [&be] { be->StopBackup(); });
    created = st.AddBackup(
        *be, co,
        EncodeMeta(ToUnixMillis(SystemClock::Default()->Now()), samples), &id);
  }
  if (stop.stop_requested()) {
    return Abandon(*be, o.dir,
                   created.ok() ? std::optional<uint32_t>(id) : std::nullopt,
                   "the copy");
  }
  if (!created.ok()) {
    return Status(created.code(),
                  "backup in " + o.dir + ": " + created.message());
  }
  std::string verdict = "not verified";
  Status verified = Status::Ok();
  if (o.verify_after_create) {
    verified = VerifyWith(*be, id);
    verdict = verified.ok() ? "ok" : verified.message();
    std::ofstream(VerifyPath(o.dir, id)) << verdict << "\n";
  }
  rocksdb::BackupInfo bi;
  RW_RETURN_IF_ERROR(FromRocks(be->GetBackupInfo(id, &bi), "backup info"));
  BackupInfo info = ToInfo(o.dir, bi);
  if (stop.stop_requested()) return Abandon(*be, o.dir, id, "verification");
  if (!verified.ok()) {
    LogError("backup_verify_failed").Kv("id", int64_t{id}).Kv("err", verified);
    return verified;
  }
  if (!o.after_command.empty()) {
    Status c = RunCommand(o.after_command, o.after_command_timeout, stop);
    if (stop.stop_requested()) {
      return Abandon(*be, o.dir, id, "after_command");
    }
    if (!c.ok()) {
      info.after_command_error = c.message();
      LogError("backup_after_command_failed").Kv("err", c);
    }
  }
  LogInfo("backup_created")
      .Kv("id", int64_t{id})
      .Kv("bytes", info.size_bytes)
      .Kv("samples", info.sample_count);
  return info;
}

Result<BackupInfo> CreateBackup(const store::StoreOptions& so,
                                const BackupOptions& o) {
  store::StoreOptions opts = so;
  opts.mode = store::OpenMode::kReadWrite;
  opts.maintenance_interval = std::chrono::seconds(0);
  store::Snapshotter* snapshots = nullptr;
  RW_ASSIGN_OR_RETURN(std::unique_ptr<store::Store> st,
                      store::OpenRocksStore(opts, &snapshots));
  Result<BackupInfo> r = CreateBackup(*snapshots, o);
  Status c = st->Close();
  if (r.ok() && !c.ok()) return c;
  return r;
}

Result<std::vector<BackupInfo>> ListBackups(const std::string& dir) {
  std::error_code ec;
  if (!fs::exists(dir + "/meta", ec)) {
    return NotFoundError("no backup set in " + dir);
  }
  RW_ASSIGN_OR_RETURN(auto be, OpenEngine(dir));
  std::vector<rocksdb::BackupInfo> infos;
  be->GetBackupInfo(&infos);
  std::vector<BackupInfo> out;
  for (const auto& b : infos) out.push_back(ToInfo(dir, b));
  return out;
}

Status VerifyBackup(const std::string& dir, uint32_t id) {
  RW_ASSIGN_OR_RETURN(auto be, OpenEngine(dir));
  return VerifyWith(*be, id);
}

Status RestoreBackup(const std::string& dir, uint32_t id,
                     const std::string& to_dir) {
  std::error_code ec;
  if (fs::exists(to_dir, ec)) {
    if (!fs::is_directory(to_dir, ec) || !fs::is_empty(to_dir, ec)) {
      return FailedPreconditionError(
          "restore target " + to_dir +
          " exists and is not empty; restore into a new directory");
    }
  }
  RW_ASSIGN_OR_RETURN(auto be, OpenEngine(dir));
  if (id == 0) {
    // Resolve "newest" to an id ourselves: the engine's own "latest" can
    // point at a deleted backup (docs/architecture.md "Store").
    std::vector<rocksdb::BackupInfo> infos;
    be->GetBackupInfo(&infos);
    if (infos.empty()) return NotFoundError("no backups in " + dir);
    id = infos.back().backup_id;
  }
  RW_RETURN_IF_ERROR(VerifyWith(*be, id).WithContext("refusing to restore"));
  fs::create_directories(to_dir, ec);
  if (ec) return UnavailableError("mkdir " + to_dir + ": " + ec.message());
  RW_RETURN_IF_ERROR(FromRocks(be->RestoreDBFromBackup(id, to_dir, to_dir),
                               "restore backup " + std::to_string(id)));
  LogInfo("backup_restored").Kv("id", int64_t{id}).Kv("to", to_dir);
  return Status::Ok();
}

Result<int> PruneBackups(const std::string& dir, int keep) {
  if (keep < 1) return InvalidArgumentError("prune: keep must be >= 1");
  RW_ASSIGN_OR_RETURN(auto be, OpenEngine(dir));
  std::vector<rocksdb::BackupInfo> before;
  be->GetBackupInfo(&before);
  RW_RETURN_IF_ERROR(FromRocks(be->PurgeOldBackups(keep), "prune " + dir));
  std::vector<rocksdb::BackupInfo> after;
  be->GetBackupInfo(&after);
  for (const auto& b : before) {
    bool kept = false;
    for (const auto& a : after) kept |= a.backup_id == b.backup_id;
    std::error_code ec;
    if (!kept) fs::remove(VerifyPath(dir, b.backup_id), ec);
  }
  return static_cast<int>(before.size() - after.size());
}

BackupScheduler::BackupScheduler(store::Snapshotter* store,
                                 BackupOptions options, Duration every,
                                 int keep, Clock* clock)
    : store_(store),
      options_(std::move(options)),
      every_(every),
      keep_(keep),
      clock_(clock ? clock : SystemClock::Default()) {}

BackupScheduler::~BackupScheduler() { Stop(); }

Result<std::optional<BackupInfo>> BackupScheduler::Tick(std::stop_token stop) {
  SteadyTime now = clock_->SteadyNow();
  if (last_ && now - *last_ < every_) return std::optional<BackupInfo>();
  last_ = now;  // a failure waits a full interval too: no retry storm
  Result<BackupInfo> r = CreateBackup(*store_, options_, stop);
  if (stop.stop_requested()) return r.status();  // not a failure: a stop
  if (!r.ok()) {
    failures_.fetch_add(1);
    return r.status();
  }
  if (keep_ > 0) {
    Result<int> p = PruneBackups(options_.dir, keep_);
    if (!p.ok()) LogWarn("backup_prune_failed").Kv("err", p.status());
  }
  {
    std::lock_guard<std::mutex> l(last_mu_);
    last_success_ = *r;
  }
  return std::optional<BackupInfo>(std::move(r).value());
}

std::optional<BackupInfo> BackupScheduler::last_success() const {
  std::lock_guard<std::mutex> l(last_mu_);
  return last_success_;
}

void BackupScheduler::Start(std::chrono::milliseconds poll) {
  // A restarted agent continues the schedule of the backups already there
  // instead of backing up at every start.
  Result<std::vector<BackupInfo>> existing = ListBackups(options_.dir);
  if (existing.ok() && !existing->empty()) {
    const BackupInfo& newest = existing->back();
    {
      std::lock_guard<std::mutex> l(last_mu_);
      last_success_ = newest;
    }
    Duration age = clock_->Now() - newest.time;
    if (age < every_ && age.count() >= 0) last_ = clock_->SteadyNow() - age;
  }
  worker_ = std::make_unique<PeriodicWorker>(
      "backup", [this, poll](std::stop_token st) -> Duration {
        auto r = Tick(st);
        if (!r.ok() && !st.stop_requested()) {
          LogError("backup_failed").Kv("err", r.status());
        }
        return poll;
      });
  // Copying a large store and then after_command take long; only a wedged
  // backup is stuck.
  worker_->SetStallBound(std::chrono::hours(1) +
                         options_.after_command_timeout);
  worker_->Start();
}

void BackupScheduler::Stop() {
  if (worker_) worker_->Stop();
}

}  // namespace rigwatch::backup
