// What a backup needs from a store, and nothing more: flush what was
// acknowledged, count what is stored, and add a consistent copy of the open
// database to a backup engine while ingest goes on. agent/backup holds the
// engine (retention, verification, restore); the store keeps its database.
#ifndef RIGWATCH_AGENT_STORE_SNAPSHOT_H_
#define RIGWATCH_AGENT_STORE_SNAPSHOT_H_

#include <cstdint>
#include <string>

#include "agent/common/status.h"

namespace rocksdb {
class BackupEngine;
struct CreateBackupOptions;
}  // namespace rocksdb

namespace rigwatch::store {

class Snapshotter {
 public:
  virtual ~Snapshotter() = default;

  // Writes and syncs everything acknowledged so far (a paused writer is
  // reported, not waited for).
  virtual Status FlushAcknowledged() = 0;
  // Samples stored so far (the backup's metadata).
  virtual uint64_t StoredSamples() const = 0;
  // Adds a backup of the open database to `engine`, tagged `metadata`;
  // `*id` gets its id. FailedPrecondition once the store is closed.
  virtual Status AddBackup(rocksdb::BackupEngine& engine,
                           const rocksdb::CreateBackupOptions& options,
                           const std::string& metadata, uint32_t* id) = 0;
};

}  // namespace rigwatch::store

#endif  // RIGWATCH_AGENT_STORE_SNAPSHOT_H_
