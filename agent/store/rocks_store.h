// The production Store on RocksDB (see DESIGN.md "Store"):
//   meta CF       label sets <-> ids, per-target schemas, schema version,
//                 per-hour sample counts, chunked-hour markers
//   kv CF         DurableKv (synced writes)
//   h<YYYYMMDDHH> hot rows of one hour: key [target_id u32 BE][ms into the
//                 hour u32 BE] -> varint schema id + the poll's doubles
//   c<YYYYMMDD>   chunks of closed hours: key [hour u32 BE][series u32 BE]
//                 -> codec.h chunk (delta-of-delta ts, scaled-int/XOR values)
//   r<YYYYMM>     hourly rollups: key [series u32 BE][hour u32 BE] -> min,
//                 max, sum (doubles), count (u64)
// Retention and max_bytes drop whole column families (no tombstones).
#ifndef RIGWATCH_AGENT_STORE_ROCKS_STORE_H_
#define RIGWATCH_AGENT_STORE_ROCKS_STORE_H_

#include <memory>

#include "agent/store/snapshot.h"
#include "agent/store/store.h"

namespace rigwatch::store {

// The on-disk schema this build writes. Older versions are migrated on a
// read-write open; newer ones are refused (FailedPrecondition).
inline constexpr uint32_t kSchemaVersion = 2;

// Opens (creating if needed, in kReadWrite) the store at options.path.
// Fails with FailedPrecondition on a newer schema or a store locked by a
// running agent, DataLoss when verify_on_open finds corruption (message
// names the repair option), Unavailable/Internal on I/O errors.
// When `snapshots` is given it gets the store's snapshot side (for backups),
// valid as long as the store.
Result<std::unique_ptr<Store>> OpenRocksStore(
    const StoreOptions& options, Snapshotter** snapshots = nullptr);

}  // namespace rigwatch::store

#endif  // RIGWATCH_AGENT_STORE_ROCKS_STORE_H_
