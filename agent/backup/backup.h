// Backups of the store: create, list, verify, restore, prune, and a
// scheduler the agent runs.
//
// Why RocksDB's BackupEngine rather than Checkpoint + packing: backups are
// incremental (SST files are shared between backups by content checksum, so
// a daily backup of a 30-day store copies about one day), every file is
// checksummed and VerifyBackup(id, true) re-reads it, and the engine takes a
// consistent view of a live database (flush + live file list) while the
// writer keeps ingesting. A Checkpoint would be instant but full-size per
// copy and has no verification of its own.
//
// Per backup we record, as BackupEngine app metadata: creation time and the
// store's sample count; the size comes from the engine. The verification
// result of the check run right after creation is kept beside it in
// `<dir>/rigwatch/<id>.verify` (the engine's metadata is fixed at creation).
//
// Thread safety: the free functions may run concurrently with ingest. Two
// operations on the same backup directory must not run at once (the CLI
// and the agent's scheduler share it only when the agent is stopped).
#ifndef RIGWATCH_AGENT_BACKUP_BACKUP_H_
#define RIGWATCH_AGENT_BACKUP_BACKUP_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "agent/common/clock.h"
#include "agent/common/periodic_worker.h"
#include "agent/common/status.h"
#include "agent/store/snapshot.h"
#include "agent/store/store.h"

namespace rigwatch::backup {

struct BackupOptions {
  std::string dir;  // the backup set (created if missing)
  // Run after a successful, verified backup: argv[0] is looked up in PATH,
  // no shell. Its failure is reported in BackupInfo, the backup stays.
  std::vector<std::string> after_command;
  std::chrono::seconds after_command_timeout{300};
  bool verify_after_create = true;  // full checksum pass over the new backup
};

struct BackupInfo {
  uint32_t id = 0;
  WallTime time;
  uint64_t size_bytes = 0;  // bytes of all its files (shared ones included)
  uint32_t file_count = 0;
  uint64_t sample_count = 0;     // samples in the store when it was taken
  std::optional<bool> verified;  // nullopt: not verified at creation
  std::string verify_error;      // when verified == false
  std::optional<std::string> after_command_error;  // set when it failed
};

// Backs up the running agent's store through its snapshot side
// (OpenRocksStore gives it). Consistent while ingest continues. Once `stop`
// is requested the copy ends at the next file and after_command's process
// group is killed; the run then fails with Unavailable and leaves no
// backup listed (verification itself runs to its end).
Result<BackupInfo> CreateBackup(store::Snapshotter& store,
                                const BackupOptions& options,
                                std::stop_token stop = std::stop_token());
// Opens the store at store_options.path itself (for `rigwatch backup` with
// the agent stopped); FailedPrecondition when a running agent holds it.
Result<BackupInfo> CreateBackup(const store::StoreOptions& store_options,
                                const BackupOptions& options);

// Oldest first. NotFound when `dir` holds no backup set.
Result<std::vector<BackupInfo>> ListBackups(const std::string& dir);

// Re-reads every file of backup `id` against its checksums. DataLoss with
// the engine's message on mismatch or a missing/truncated file.
Status VerifyBackup(const std::string& dir, uint32_t id);

// Restores backup `id` (0 = newest) into `to_dir`, which must not exist or
// be an empty directory (never a live store). Verifies first and refuses
// (DataLoss) a backup that fails verification.
Status RestoreBackup(const std::string& dir, uint32_t id,
                     const std::string& to_dir);

// Deletes all but the newest `keep` backups (keep >= 1). Returns how many
// were deleted.
Result<int> PruneBackups(const std::string& dir, int keep);

// Runs CreateBackup every `every` (and PruneBackups to `keep`) for the
// agent. Tick() does one step at the clock's time (tests call it with a
// FakeClock); Start() runs ticks on a thread every `poll`, Stop() joins.
// The store must outlive the scheduler.
class BackupScheduler {
 public:
  BackupScheduler(store::Snapshotter* store, BackupOptions options,
                  Duration every, int keep, Clock* clock);
  ~BackupScheduler();
  BackupScheduler(const BackupScheduler&) = delete;
  BackupScheduler& operator=(const BackupScheduler&) = delete;

  // Creates a backup when one is due (first tick, then every `every`).
  // Ok(nullopt) when none was due. `stop` interrupts it (CreateBackup).
  Result<std::optional<BackupInfo>> Tick(
      std::stop_token stop = std::stop_token());
  void Start(std::chrono::milliseconds poll = std::chrono::seconds(30));
  void Stop();
  uint64_t failures() const { return failures_.load(); }
  // The newest successful backup (made by this scheduler, or found in the
  // directory when Start() ran); nullopt when there is none.
  std::optional<BackupInfo> last_success() const;

 private:
  store::Snapshotter* store_;
  BackupOptions options_;
  Duration every_;
  int keep_;
  Clock* clock_;
  std::optional<SteadyTime> last_;
  std::atomic<uint64_t> failures_{0};
  mutable std::mutex last_mu_;
  std::optional<BackupInfo> last_success_;
  std::unique_ptr<PeriodicWorker> worker_;  // made by Start
};

}  // namespace rigwatch::backup

#endif  // RIGWATCH_AGENT_BACKUP_BACKUP_H_
