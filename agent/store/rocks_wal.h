// Replaying a RocksDB WAL file into an open database (rocks_wal.cc); used
// by the repair. Internal to agent/store.
#ifndef RIGWATCH_AGENT_STORE_ROCKS_WAL_H_
#define RIGWATCH_AGENT_STORE_ROCKS_WAL_H_

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <cstdint>
#include <map>
#include <string>

#include "agent/common/status.h"

namespace rigwatch::store {

struct WalReplayStats {
  uint64_t batches = 0;         // batches read and applied
  uint64_t writes = 0;          // their writes applied
  uint64_t skipped_writes = 0;  // writes to a family that no longer exists
  uint64_t bad_records = 0;     // a torn or damaged record ends its file
  std::string first_damage;     // "FILE at byte N: what", if any
};

// Applies every intact batch of `file` to `db`, mapping each write's
// column family id to the handle in `families_by_id` (writes to other ids
// are counted and left out). Reading stops at the first damaged record, as
// RocksDB's own recovery does for a torn tail. The writes are not synced:
// the caller syncs the WAL before it deletes `file`.
Status ReplayWalFile(
    rocksdb::DB* db,
    const std::map<uint32_t, rocksdb::ColumnFamilyHandle*>& families_by_id,
    const std::string& file, WalReplayStats& stats);

}  // namespace rigwatch::store

#endif  // RIGWATCH_AGENT_STORE_ROCKS_WAL_H_
