// The durable outbox: every notification (mail, Alertmanager push) is
// written to DurableKv namespace "outbox" first and deleted only after its
// channel accepted it. Failed deliveries are retried with exponential
// backoff, across outages and agent restarts.
//
// Lanes: each channel (SMTP, each Alertmanager) is one lane with its own
// sender thread (PeriodicWorker "outbox-<channel>") and its own backoff: a
// failed attempt pauses that lane only, so a dead receiver never delays
// another. An entry's lane is its channel, which every stored entry names
// (also those of older versions), so the storage format is unchanged.
//
// Shutdown: Stop() interrupts a delivery in progress (channels abort their
// transfer when the stop token is requested, within about a second); an
// interrupted entry is not counted as an attempt and stays stored, so it is
// sent after the restart.
//
// Exactly once: each entry has a dedupe key (a mail's Message-ID). Enqueueing
// a key that is pending, or that was delivered within max_age (a marker is
// kept in namespace "outbox_sent"), does nothing. The one window left is a
// crash after the server accepted a message and before the marker was
// written; then the message is sent again with the same Message-ID.
#ifndef RIGWATCH_AGENT_ACTIONS_OUTBOX_H_
#define RIGWATCH_AGENT_ACTIONS_OUTBOX_H_

#include <condition_variable>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "agent/actions/counters.h"
#include "agent/common/clock.h"
#include "agent/common/kv.h"
#include "agent/common/periodic_worker.h"
#include "agent/common/status.h"

namespace rigwatch::actions {

// A destination. Deliver is called from its lane's sender thread (or a
// RunDue caller), one call at a time.
class OutboxChannel {
 public:
  virtual ~OutboxChannel() = default;
  // Ok once the receiver accepted the payload; any error means "retry later".
  // Once `stop` is requested the attempt should end soon (the agent is
  // shutting down); its result is then ignored and the entry kept.
  virtual Status Deliver(const std::string& payload, std::stop_token stop) = 0;
  // Channels that can take several payloads in one request say how many
  // (the outbox then calls DeliverBatch with up to that many); the outcome
  // applies to all of them.
  virtual std::size_t max_batch() const { return 1; }
  virtual Status DeliverBatch(const std::vector<const std::string*>& payloads,
                              std::stop_token stop) {
    for (const std::string* p : payloads) RW_RETURN_IF_ERROR(Deliver(*p, stop));
    return Status::Ok();
  }
  // The longest one attempt can take (its timeouts): the lane's heartbeat
  // bound is derived from it.
  virtual Duration attempt_timeout() const { return std::chrono::seconds(30); }
};

struct OutboxOptions {
  Duration backoff_base = std::chrono::seconds(30);
  Duration backoff_cap = std::chrono::minutes(30);
  // Older entries are dropped (counted as "expired"); delivered markers are
  // kept this long.
  Duration max_age = std::chrono::hours(72);
  std::size_t max_pending = 10000;  // Enqueue beyond: ResourceExhausted
};

class Outbox {
 public:
  static constexpr std::string_view kNamespace = "outbox";
  static constexpr std::string_view kSentNamespace = "outbox_sent";

  // Pointers must outlive the Outbox. `counters` receives
  // rigwatch_notifications_total{channel,result} with result sent, failed
  // (one per failed attempt), expired, dropped.
  Outbox(OutboxOptions options, Clock* clock, DurableKv* kv,
         CounterFamily2* counters);
  ~Outbox();  // Stop()s

  // Registers a channel by name ("smtp", "alertmanager"), and its lane;
  // before Load() and Start().
  void AddChannel(std::string name, OutboxChannel* channel);

  // Reads pending entries and delivered markers left by an earlier run.
  Status Load();

  // Durably queues `payload` for `channel` under `key`, due now. With
  // `replace` a pending entry of the same key is overwritten (the newest
  // state wins, e.g. an alert turned resolved); markers are neither checked
  // nor written for it.
  // Returns ok without doing anything for a duplicate key; fails when the
  // write failed or the outbox holds max_pending entries. Thread-safe.
  Status Enqueue(const std::string& channel, const std::string& key,
                 const std::string& payload, bool replace = false);

  // Runs every lane once on the calling thread: each attempts its due
  // entries in key order and stops at its first failure (the lane then
  // backs off). Returns how many were delivered. Thread-safe (one run per
  // lane at a time).
  int RunDue();

  // Entries waiting, and the earliest time one is due (nullopt when empty).
  std::size_t pending() const;
  std::optional<WallTime> NextDue() const;

  // The background senders, one per lane: each runs its lane whenever an
  // entry of it is due or Wake() is called. Start/Stop from the owner only;
  // Stop interrupts deliveries in progress.
  void Start();
  void Stop();
  void Wake();

 private:
  struct Entry {
    std::string channel;
    int attempts = 0;
    WallTime next{};
    WallTime created{};
    std::string payload;
    bool replaceable = false;  // enqueued with replace: no delivered marker
    uint64_t generation = 0;   // bumped by a replace during delivery
  };
  // One channel's queue runner. Lanes are made on first sight of a channel
  // name (AddChannel, Load, Enqueue; an entry of an unregistered channel
  // fails and backs off in its own lane) and live as long as the outbox.
  struct Lane {
    std::string name;
    OutboxChannel* channel = nullptr;  // null: no such channel registered
    int failures = 0;                  // consecutive failed attempts; mu_
    std::mutex run_mu;                 // one run of the lane at a time
    std::unique_ptr<PeriodicWorker> worker;
  };
  static std::string Encode(const Entry& e);
  static bool Decode(std::string_view s, Entry* e);
  Duration Backoff(int attempts) const;
  void PruneMarkersLocked(WallTime now);
  Lane& LaneLocked(const std::string& channel);
  // One pass over a lane's due entries; how many were delivered.
  int RunLane(Lane& lane, std::stop_token stop);
  // One run of a lane's sender thread: RunLane, then how long to sleep.
  Duration LaneTick(Lane& lane, std::stop_token stop);

  const OutboxOptions opt_;
  Clock* clock_;
  DurableKv* kv_;
  CounterFamily2* counters_;

  mutable std::mutex mu_;
  std::map<std::string, Entry> entries_;
  std::map<std::string, WallTime> sent_;  // delivered markers
  uint64_t next_generation_ = 1;
  bool running_ = false;  // mu_; lanes made while running start at once
  // Last: the lanes' threads are stopped (by ~Outbox) before the state
  // above goes away.
  std::map<std::string, std::unique_ptr<Lane>> lanes_;  // mu_
};

}  // namespace rigwatch::actions

#endif  // RIGWATCH_AGENT_ACTIONS_OUTBOX_H_
