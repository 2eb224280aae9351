// A small durable key-value space for the side effects that must survive a
// crash: rule states and timers, the restart journal, the mail outbox, mutes.
// The Store implements it on a RocksDB column family (writes synced before
// they return); MemoryKv (below) serves unit tests.
#ifndef RIGWATCH_AGENT_COMMON_KV_H_
#define RIGWATCH_AGENT_COMMON_KV_H_

#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "agent/common/status.h"

namespace rigwatch {

// One write of a batch: a Put, or a Delete when `value` is empty.
struct KvWrite {
  std::string ns;
  std::string key;
  std::optional<std::string> value;
};

// Thread-safe. Keys are grouped in namespaces ("rules", "outbox", ...); List
// returns a namespace's entries in key order. Put/Delete/Write are durable
// when they return ok (a crash right after loses nothing).
class DurableKv {
 public:
  virtual ~DurableKv() = default;
  virtual Status Put(std::string_view ns, std::string_view key,
                     std::string_view value) = 0;
  virtual Status Delete(std::string_view ns, std::string_view key) = 0;
  // Many writes made durable together (one sync where the implementation
  // can). On error some writes may have been made, others not; every one
  // may be retried. This default writes them one by one.
  virtual Status Write(std::span<const KvWrite> writes) {
    for (const KvWrite& w : writes) {
      RW_RETURN_IF_ERROR(w.value ? Put(w.ns, w.key, *w.value)
                                 : Delete(w.ns, w.key));
    }
    return Status::Ok();
  }
  // Ok(nullopt) when the key is absent.
  virtual Result<std::optional<std::string>> Get(std::string_view ns,
                                                 std::string_view key) = 0;
  virtual Result<std::vector<std::pair<std::string, std::string>>> List(
      std::string_view ns) = 0;
};

// In-memory DurableKv for unit tests. FailNextWrites(n) makes the next n
// Put/Delete calls fail with Unavailable, to test error paths.
class MemoryKv final : public DurableKv {
 public:
  Status Put(std::string_view ns, std::string_view key,
             std::string_view value) override {
    std::lock_guard<std::mutex> l(mu_);
    if (fail_writes_ > 0) {
      --fail_writes_;
      return UnavailableError("injected write failure");
    }
    data_[std::string(ns)][std::string(key)] = std::string(value);
    return Status::Ok();
  }
  Status Delete(std::string_view ns, std::string_view key) override {
    std::lock_guard<std::mutex> l(mu_);
    if (fail_writes_ > 0) {
      --fail_writes_;
      return UnavailableError("injected write failure");
    }
    auto it = data_.find(std::string(ns));
    if (it != data_.end()) it->second.erase(std::string(key));
    return Status::Ok();
  }
  Result<std::optional<std::string>> Get(std::string_view ns,
                                         std::string_view key) override {
    std::lock_guard<std::mutex> l(mu_);
    auto it = data_.find(std::string(ns));
    if (it == data_.end()) return std::optional<std::string>();
    auto k = it->second.find(std::string(key));
    if (k == it->second.end()) return std::optional<std::string>();
    return std::optional<std::string>(k->second);
  }
  Result<std::vector<std::pair<std::string, std::string>>> List(
      std::string_view ns) override {
    std::lock_guard<std::mutex> l(mu_);
    std::vector<std::pair<std::string, std::string>> out;
    auto it = data_.find(std::string(ns));
    if (it != data_.end()) {
      for (const auto& [k, v] : it->second) out.emplace_back(k, v);
    }
    return out;
  }
  void FailNextWrites(int n) {
    std::lock_guard<std::mutex> l(mu_);
    fail_writes_ = n;
  }

 private:
  std::mutex mu_;
  int fail_writes_ = 0;
  std::map<std::string, std::map<std::string, std::string>> data_;
};

}  // namespace rigwatch

#endif  // RIGWATCH_AGENT_COMMON_KV_H_
