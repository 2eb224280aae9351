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
      cv_.notify_one();
      return;
    }
  }
  dropped_.fetch_add(samples.size());
}

void QueuedStore::SyncRound() {
  Item item;
  item.is_marker = true;
  item.sync = true;
  Enqueue(std::move(item));
}

void QueuedStore::Enqueue(Item item) {
  std::lock_guard<std::mutex> l(mu_);
  if (!running_ || stopping_) return;
  queue_.push_back(std::move(item));
  cv_.notify_one();
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
    cv_.notify_one();
  }
  if (f.wait_for(timeout) != std::future_status::ready) {
    return DeadlineExceededError(
        paused_.load() ? "store flush: writes paused (low disk space)"
                       : "store flush: writer did not catch up in time");
  }
  return f.get();
}

void QueuedStore::StartWriter() {
  std::lock_guard<std::mutex> l(mu_);
  running_ = true;
  writer_ = std::thread([this] { WriterLoop(); });
}

void QueuedStore::StopWriter() {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (!running_) return;
    stopping_ = true;
    cv_.notify_all();
  }
  writer_.join();
  std::lock_guard<std::mutex> l(mu_);
  running_ = false;
}

void QueuedStore::WriterLoop() {
  std::vector<Item> batch;
  std::vector<PollRecord> records;
  std::string last_error;
  for (;;) {
    {
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait(l, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty() && stopping_) return;
      // Low disk: hold the queue (Append keeps counting drops when it is
      // full) and look again at the check interval. Shutdown still drains
      // what fits: a clean close must not lose acknowledged polls.
      while (!stopping_ && !SpaceAvailable()) {
        if (!paused_.exchange(true)) {
          pauses_.fetch_add(1);
          LogWarn("store_writes_paused").Kv("reason", "low disk space");
        }
        cv_.wait_for(l, space_check_);
      }
      if (paused_.exchange(false)) LogInfo("store_writes_resumed");
      batch.clear();
      while (!queue_.empty()) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      queued_samples_ = 0;
    }
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
          if (!last_error.empty()) {
            LogInfo("store_write_recovered").Kv("after", last_error);
            last_error.clear();
          }
        } else {
          dropped_.fetch_add(n);
          if (w.status().message() != last_error) {
            last_error = w.status().message();
            LogError("store_write_failed").Kv("err", w.status());
          }
        }
      }
      if (i < batch.size()) {
        Item& m = batch[i++];
        Status s = m.sync ? SyncWrites() : Status::Ok();
        if (!s.ok() && s.message() != last_error) {
          last_error = s.message();
          LogError("store_sync_failed").Kv("err", s);
        }
        if (m.done) m.done->set_value(s);
      }
    }
  }
}

}  // namespace rigwatch::store
