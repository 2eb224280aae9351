#include "agent/store/queued_store.h"

#include <utility>
#include <vector>

#include "agent/common/log.h"

namespace rigwatch::store {

void QueuedStore::Append(std::string_view target, WallTime ts,
                         const Samples& samples) {
  if (samples.empty()) return;
  // Copy outside the lock so the writer thread is never kept waiting.
  Item item;
  item.rec.target.assign(target);
  item.rec.ts_ms = ToUnixMillis(ts);
  item.rec.samples = samples;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (running_ && !stopping_ &&
        queued_samples_ + samples.size() <= capacity_) {
      queued_samples_ += samples.size();
      queue_.push_back(std::move(item));
    } else {
      dropped_.fetch_add(samples.size());
      return;
    }
  }
  writer_.Wake();
}

void QueuedStore::SyncRound() {
  Item item;
  item.is_marker = true;
  item.sync = true;
  Enqueue(std::move(item));
}

void QueuedStore::Enqueue(Item item) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (!running_ || stopping_) return;
    queue_.push_back(std::move(item));
  }
  writer_.Wake();
}

Status QueuedStore::Flush(std::chrono::milliseconds timeout) {
  auto done = std::make_shared<std::promise<Status>>();
  std::future<Status> f = done->get_future();
  {
    std::lock_guard<std::mutex> l(mu_);
    if (!running_ || stopping_) return Status::Ok();  // nothing can be queued
    Item item;
    item.is_marker = true;
    item.sync = true;
    item.done = done;
    queue_.push_back(std::move(item));
  }
  writer_.Wake();
  if (f.wait_for(timeout) != std::future_status::ready) {
    return DeadlineExceededError(
        paused_.load() ? "store flush: writes paused (low disk space)"
                       : "store flush: writer did not catch up in time");
  }
  return f.get();
}

void QueuedStore::StartWriter() {
  {
    std::lock_guard<std::mutex> l(mu_);
    running_ = true;
  }
  writer_.Start();
}

void QueuedStore::StopWriter() {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (!running_) return;
    stopping_ = true;  // nothing new is queued from here on
  }
  writer_.Stop();
  // What the writer had not taken yet, whatever the disk space: a clean
  // close must not lose acknowledged polls.
  WriterTick();
  std::lock_guard<std::mutex> l(mu_);
  running_ = false;
}

Duration QueuedStore::WriterTick() {
  // Idle: sleep until Append, SyncRound or Flush wakes the writer.
  constexpr Duration kIdle = std::chrono::hours(1);
  std::vector<Item> batch;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (queue_.empty()) return kIdle;
    // Low disk: hold the queue (Append keeps counting drops when it is
    // full) and look again at the check interval. Shutdown still drains
    // what fits.
    if (!stopping_ && !SpaceAvailable()) {
      if (!paused_.exchange(true)) {
        pauses_.fetch_add(1);
        LogWarn("store_writes_paused").Kv("reason", "low disk space");
      }
      return space_check_;
    }
    if (paused_.exchange(false)) LogInfo("store_writes_resumed");
    batch.reserve(queue_.size());
    while (!queue_.empty()) {
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    queued_samples_ = 0;
  }
  WriteBatch(batch);
  return kIdle;
}

void QueuedStore::WriteBatch(std::vector<Item>& batch) {
  std::vector<PollRecord> records;
  // Runs of records between markers go down as one write.
  size_t i = 0;
  while (i < batch.size()) {
    records.clear();
    uint64_t n = 0;
    while (i < batch.size() && !batch[i].is_marker) {
      n += batch[i].rec.samples.size();
      records.push_back(std::move(batch[i].rec));
      ++i;
    }
    if (!records.empty()) {
      Result<uint64_t> w = WriteRecords(records);
      if (w.ok()) {
        written_.fetch_add(*w);
        dropped_.fetch_add(n - *w);
      } else {
        dropped_.fetch_add(n);
        NoteFailure(w.status());
      }
    }
    if (i < batch.size()) {
      Item& m = batch[i++];
      Status s = m.sync ? SyncWrites() : Status::Ok();
      if (!s.ok()) {
        NoteFailure(s);
      } else if (m.sync) {
        NoteRecovered();
      }
      if (m.done) m.done->set_value(s);
    }
  }
}

// One line when writes start failing, with the first error (the cause: a
// full disk, say); later errors while failing are consequences (the WAL
// cannot be synced, RocksDB is still recovering) and are not logged.
void QueuedStore::NoteFailure(const Status& s) {
  if (failing_) return;
  failing_ = true;
  failing_reason_ = s.message();
  dropped_at_failure_ = dropped_.load();
  LogError("store_writes_failing").Kv("reason", failing_reason_);
}

// Writes are durable again once a sync succeeds (a write alone may still
// be followed by a failing sync).
void QueuedStore::NoteRecovered() {
  if (!failing_) return;
  failing_ = false;
  LogInfo("store_writes_recovered")
      .Kv("reason", failing_reason_)
      .Kv("dropped_samples", dropped_.load() - dropped_at_failure_);
  failing_reason_.clear();
}

}  // namespace rigwatch::store
