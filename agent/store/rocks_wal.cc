// Replaying a RocksDB WAL file into an open database, for the repair
// (rocks_store.cc). RocksDB's repairer replays the WAL itself, but it
// rejects a whole batch when one of its families is unknown, and it keeps
// the batches' sequence numbers, so a record that is also in a table makes
// two level-0 tables with the same numbers, which it refuses. Replayed here
// instead, every write is applied again in WAL order with new sequence
// numbers: the result is the newest value of every key, and only writes to
// families that no longer exist are left out.
//
// The file format (RocksDB's log format, which this relies on): 32 KiB
// blocks of records, each with a 7-byte header (masked CRC-32C of the type
// byte and payload, u32 LE; payload length, u16 LE; type: 1 full, 2 first,
// 3 middle, 4 last fragment) or an 11-byte one for the recyclable types 5-8
// (the same, plus the log number). A block's last < 7 bytes are padding.
// Each full record is a WriteBatch.
#include "agent/store/rocks_wal.h"

#include <array>
#include <cstring>
#include <fstream>
#include <iterator>

namespace rigwatch::store {
namespace {

constexpr size_t kBlockSize = 32768;

uint32_t Crc32c(const char* p, size_t n, uint32_t crc = 0) {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  crc = ~crc;
  for (size_t i = 0; i < n; ++i) {
    crc = table[(crc ^ static_cast<uint8_t>(p[i])) & 0xFF] ^ (crc >> 8);
  }
  return ~crc;
}

uint32_t Unmask(uint32_t masked) {
  uint32_t rot = masked - 0xa282ead8u;
  return (rot >> 17) | (rot << 15);
}

uint32_t Le32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;  // little-endian hosts only (as RocksDB's own files)
}

// Copies each write of a batch to the family with the same id here.
class Copier final : public rocksdb::WriteBatch::Handler {
 public:
  Copier(const std::map<uint32_t, rocksdb::ColumnFamilyHandle*>& by_id,
         rocksdb::WriteBatch& out, WalReplayStats& stats)
      : by_id_(by_id), out_(out), stats_(stats) {}

  rocksdb::Status PutCF(uint32_t id, const rocksdb::Slice& k,
                        const rocksdb::Slice& v) override {
    auto* h = Find(id);
    return h ? out_.Put(h, k, v) : rocksdb::Status::OK();
  }
  rocksdb::Status DeleteCF(uint32_t id, const rocksdb::Slice& k) override {
    auto* h = Find(id);
    return h ? out_.Delete(h, k) : rocksdb::Status::OK();
  }
  rocksdb::Status SingleDeleteCF(uint32_t id,
                                 const rocksdb::Slice& k) override {
    auto* h = Find(id);
    return h ? out_.SingleDelete(h, k) : rocksdb::Status::OK();
  }
  rocksdb::Status DeleteRangeCF(uint32_t id, const rocksdb::Slice& b,
                                const rocksdb::Slice& e) override {
    auto* h = Find(id);
    return h ? out_.DeleteRange(h, b, e) : rocksdb::Status::OK();
  }
  rocksdb::Status MergeCF(uint32_t id, const rocksdb::Slice& k,
                          const rocksdb::Slice& v) override {
    auto* h = Find(id);
    return h ? out_.Merge(h, k, v) : rocksdb::Status::OK();
  }

 private:
  rocksdb::ColumnFamilyHandle* Find(uint32_t id) {
    auto it = by_id_.find(id);
    if (it == by_id_.end()) {
      ++stats_.skipped_writes;  // a family dropped since
      return nullptr;
    }
    ++stats_.writes;
    return it->second;
  }
  const std::map<uint32_t, rocksdb::ColumnFamilyHandle*>& by_id_;
  rocksdb::WriteBatch& out_;
  WalReplayStats& stats_;
};

}  // namespace

Status ReplayWalFile(
    rocksdb::DB* db,
    const std::map<uint32_t, rocksdb::ColumnFamilyHandle*>& families_by_id,
    const std::string& file, WalReplayStats& stats) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return UnavailableError("cannot read " + file);
  const std::string data((std::istreambuf_iterator<char>(in)),
                         std::istreambuf_iterator<char>());
  std::string record;
  bool in_record = false;
  rocksdb::WriteOptions wo;  // the caller syncs once at the end
  size_t pos = 0;
  auto damaged = [&](const char* what) {
    ++stats.bad_records;
    if (stats.first_damage.empty()) {
      stats.first_damage =
          file + " at byte " + std::to_string(pos) + ": " + what;
    }
  };
  auto apply = [&](const std::string& rep) -> Status {
    if (rep.size() < 12) return Status::Ok();  // no batch header
    rocksdb::WriteBatch batch(rep);
    rocksdb::WriteBatch out;
    Copier copier(families_by_id, out, stats);
    rocksdb::Status s = batch.Iterate(&copier);
    if (!s.ok()) {
      damaged("malformed batch");
      return Status::Ok();
    }
    ++stats.batches;
    if (out.Count() == 0) return Status::Ok();
    s = db->Write(wo, &out);
    if (!s.ok()) {
      return UnavailableError("replaying " + file + ": " + s.ToString());
    }
    return Status::Ok();
  };
  while (pos < data.size()) {
    const size_t left = kBlockSize - pos % kBlockSize;
    if (left < 7) {
      pos += left;
      continue;
    }
    if (data.size() - pos < 7) break;
    const char* h = data.data() + pos;
    const uint32_t crc = Unmask(Le32(h));
    const size_t len =
        static_cast<uint8_t>(h[4]) | (size_t{static_cast<uint8_t>(h[5])} << 8);
    uint8_t type = static_cast<uint8_t>(h[6]);
    if (type == 0 && len == 0) {  // preallocated, never written
      pos += left;
      continue;
    }
    const size_t header = (type >= 5 && type <= 8) ? 11 : 7;
    if (header + len > left || data.size() - pos < header + len) {
      damaged("torn record");  // the write never completed
      break;
    }
    if (Crc32c(h + 6, header - 6 + len) != crc) {
      damaged("checksum mismatch");
      break;
    }
    std::string_view payload(h + header, len);
    pos += header + len;
    if (type >= 5 && type <= 8) type -= 4;
    switch (type) {
      case 1:
        in_record = false;
        RW_RETURN_IF_ERROR(apply(std::string(payload)));
        break;
      case 2:
        record.assign(payload);
        in_record = true;
        break;
      case 3:
        if (in_record) record.append(payload);
        break;
      case 4:
        if (in_record) {
          record.append(payload);
          RW_RETURN_IF_ERROR(apply(record));
        }
        in_record = false;
        break;
      default:
        break;  // metadata records (compression type, ...): no writes
    }
  }
  return Status::Ok();
}

}  // namespace rigwatch::store
