// The ingest half shared by every Store implementation: a bounded queue and
// one writer thread that hands batches of polls to the implementation.
// Implementations derive from QueuedStore, call StartWriter() at the end of
// their open and StopWriter() first thing in Close().
#ifndef RIGWATCH_AGENT_STORE_QUEUED_STORE_H_
#define RIGWATCH_AGENT_STORE_QUEUED_STORE_H_

#include <atomic>
#include <deque>
#include <future>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "agent/common/periodic_worker.h"
#include "agent/store/store.h"

namespace rigwatch::store {

// One Append: a target's samples at one instant.
struct PollRecord {
  std::string target;
  int64_t ts_ms = 0;
  Samples samples;
};

class QueuedStore : public Store {
 public:
  void Append(std::string_view target, WallTime ts,
              const Samples& samples) override;
  void SyncRound() override;
  Status Flush(std::chrono::milliseconds timeout) override;
  uint64_t dropped_samples() const override { return dropped_.load(); }
  bool writes_paused() const override { return paused_.load(); }

 protected:
  QueuedStore(size_t capacity_samples, std::chrono::milliseconds space_check)
      : capacity_(capacity_samples), space_check_(space_check) {}

  // Writes polls in order; called on the writer thread only (and by
  // StopWriter once that thread is gone). Returns how
  // many samples were stored (the rest count as dropped: late data). An
  // error drops the batch (counted); the first error of a failing period
  // is logged, and the recovery once a sync succeeds again.
  virtual Result<uint64_t> WriteRecords(std::span<PollRecord> records) = 0;
  // Makes everything written so far durable (WAL fsync).
  virtual Status SyncWrites() = 0;
  // False while free disk is below the minimum; checked by the writer.
  virtual bool SpaceAvailable() = 0;

  void StartWriter();
  void StopWriter();  // drains the queue first; idempotent
  void CountDropped(uint64_t n) { dropped_.fetch_add(n); }
  void CountLate(uint64_t n) { late_.fetch_add(n); }
  uint64_t written() const { return written_.load(); }
  uint64_t late() const { return late_.load(); }
  uint64_t pauses() const { return pauses_.load(); }

 private:
  struct Item {
    PollRecord rec;
    bool is_marker = false;
    bool sync = false;
    std::shared_ptr<std::promise<Status>> done;  // flush markers
  };
  // One run of the writer: takes the whole queue and writes it. Returns
  // how long to sleep (until a Wake when idle; the space check interval
  // while writes are paused for low disk).
  Duration WriterTick();
  void WriteBatch(std::vector<Item>& batch);
  void Enqueue(Item item);

  const size_t capacity_;
  const std::chrono::milliseconds space_check_;
  std::mutex mu_;
  std::deque<Item> queue_;
  size_t queued_samples_ = 0;
  bool running_ = false;
  bool stopping_ = false;
  // Writes failing since the first error, and what it was. Writer thread
  // only (then StopWriter's drain).
  void NoteFailure(const Status& s);
  void NoteRecovered();
  bool failing_ = false;
  std::string failing_reason_;
  uint64_t dropped_at_failure_ = 0;
  std::atomic<uint64_t> dropped_{0};
  std::atomic<uint64_t> late_{0};
  std::atomic<uint64_t> written_{0};
  std::atomic<uint64_t> pauses_{0};
  std::atomic<bool> paused_{false};
  PeriodicWorker writer_{"store-writer",
                         [this](std::stop_token) { return WriterTick(); }};
};

}  // namespace rigwatch::store

#endif  // RIGWATCH_AGENT_STORE_QUEUED_STORE_H_
