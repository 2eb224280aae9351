// DurableKv of RocksStore on its own column family; writes are synced.
#include "agent/store/rocks_store_impl.h"

namespace rigwatch::store {
namespace {

std::string KvKey(std::string_view ns, std::string_view key) {
  std::string k(ns);
  k.push_back('\0');
  k.append(key);
  return k;
}

}  // namespace

Status RocksStore::Put(std::string_view ns, std::string_view key,
                       std::string_view value) {
  if (opts_.mode != OpenMode::kReadWrite) {
    return FailedPreconditionError("store opened read-only");
  }
  rocksdb::WriteOptions wo;
  wo.sync = true;
  return FromRocks(db_->Put(wo, kv_, KvKey(ns, key), value), "kv put");
}

Status RocksStore::Delete(std::string_view ns, std::string_view key) {
  if (opts_.mode != OpenMode::kReadWrite) {
    return FailedPreconditionError("store opened read-only");
  }
  rocksdb::WriteOptions wo;
  wo.sync = true;
  return FromRocks(db_->Delete(wo, kv_, KvKey(ns, key)), "kv delete");
}

Status RocksStore::Write(std::span<const KvWrite> writes) {
  if (opts_.mode != OpenMode::kReadWrite) {
    return FailedPreconditionError("store opened read-only");
  }
  if (writes.empty()) return Status::Ok();
  rocksdb::WriteBatch wb;
  for (const KvWrite& w : writes) {
    const std::string k = KvKey(w.ns, w.key);
    RW_RETURN_IF_ERROR(FromRocks(
        w.value ? wb.Put(kv_, k, *w.value) : wb.Delete(kv_, k), "kv batch"));
  }
  rocksdb::WriteOptions wo;
  wo.sync = true;
  return FromRocks(db_->Write(wo, &wb), "kv write");
}

Result<std::optional<std::string>> RocksStore::Get(std::string_view ns,
                                                   std::string_view key) {
  std::string v;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), kv_, KvKey(ns, key), &v);
  if (s.IsNotFound()) return std::optional<std::string>();
  RW_RETURN_IF_ERROR(FromRocks(s, "kv get"));
  return std::optional<std::string>(std::move(v));
}

Result<std::vector<std::pair<std::string, std::string>>> RocksStore::List(
    std::string_view ns) {
  std::vector<std::pair<std::string, std::string>> out;
  std::string prefix = KvKey(ns, "");
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), kv_));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix);
       it->Next()) {
    rocksdb::Slice k = it->key();
    k.remove_prefix(prefix.size());
    out.emplace_back(k.ToString(), it->value().ToString());
  }
  RW_RETURN_IF_ERROR(FromRocks(it->status(), "kv list"));
  return out;
}

}  // namespace rigwatch::store
