#include "agent/actions/outbox.h"

#include <algorithm>
#include <charconv>
#include <vector>

#include "agent/common/log.h"

namespace rigwatch::actions {
namespace {

bool NextLine(std::string_view& s, std::string_view* line) {
  auto nl = s.find('\n');
  if (nl == std::string_view::npos) return false;
  *line = s.substr(0, nl);
  s.remove_prefix(nl + 1);
  return true;
}

template <typename T>
bool ParseInt(std::string_view s, T* out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

Outbox::Outbox(OutboxOptions options, Clock* clock, DurableKv* kv,
               CounterFamily2* counters)
    : opt_(options), clock_(clock), kv_(kv), counters_(counters) {}

Outbox::~Outbox() { Stop(); }

void Outbox::AddChannel(std::string name, OutboxChannel* channel) {
  std::lock_guard<std::mutex> l(mu_);
  Lane& lane = LaneLocked(name);
  lane.channel = channel;
  // One attempt may take the channel's timeout; the lane beats between
  // attempts.
  lane.worker->SetStallBound(channel->attempt_timeout() +
                             std::chrono::seconds(30));
}

Outbox::Lane& Outbox::LaneLocked(const std::string& channel) {
  std::unique_ptr<Lane>& slot = lanes_[channel];
  if (!slot) {
    slot = std::make_unique<Lane>();
    slot->name = channel;
    Lane* lane = slot.get();
    slot->worker = std::make_unique<PeriodicWorker>(
        "outbox-" + channel,
        [this, lane](std::stop_token st) { return LaneTick(*lane, st); });
    if (running_) slot->worker->Start();
  }
  return *slot;
}

// Format (version 1): "1\n<channel>\n<attempts>\n<next ms>\n<created ms>\n
// <replaceable 0|1>\n" followed by the payload bytes as they are.
std::string Outbox::Encode(const Entry& e) {
  std::string s = "1\n" + e.channel + "\n" + std::to_string(e.attempts) + "\n" +
                  std::to_string(ToUnixMillis(e.next)) + "\n" +
                  std::to_string(ToUnixMillis(e.created)) + "\n" +
                  (e.replaceable ? "1" : "0") + "\n";
  s += e.payload;
  return s;
}

bool Outbox::Decode(std::string_view s, Entry* e) {
  std::string_view version, channel, attempts, next, created, replaceable;
  if (!NextLine(s, &version) || version != "1") return false;
  if (!NextLine(s, &channel) || !NextLine(s, &attempts) ||
      !NextLine(s, &next) || !NextLine(s, &created) ||
      !NextLine(s, &replaceable) ||
      (replaceable != "0" && replaceable != "1")) {
    return false;
  }
  int64_t next_ms = 0, created_ms = 0;
  if (!ParseInt(attempts, &e->attempts) || !ParseInt(next, &next_ms) ||
      !ParseInt(created, &created_ms)) {
    return false;
  }
  e->channel = std::string(channel);
  e->next = FromUnixMillis(next_ms);
  e->created = FromUnixMillis(created_ms);
  e->replaceable = replaceable == "1";
  e->payload = std::string(s);
  return true;
}

Status Outbox::Load() {
  RW_ASSIGN_OR_RETURN(auto rows, kv_->List(kNamespace));
  RW_ASSIGN_OR_RETURN(auto sent, kv_->List(kSentNamespace));
  std::lock_guard<std::mutex> l(mu_);
  for (const auto& [key, value] : rows) {
    Entry e;
    if (!Decode(value, &e)) {
      LogError("outbox_entry_corrupt").Kv("key", key);
      continue;
    }
    e.generation = next_generation_++;
    LaneLocked(e.channel);
    entries_[key] = std::move(e);
  }
  for (const auto& [key, value] : sent) {
    int64_t ms = 0;
    if (ParseInt(std::string_view(value), &ms)) sent_[key] = FromUnixMillis(ms);
  }
  PruneMarkersLocked(clock_->Now());
  if (!entries_.empty()) {
    LogInfo("outbox_loaded")
        .Kv("pending", static_cast<uint64_t>(entries_.size()));
  }
  return Status::Ok();
}

Status Outbox::Enqueue(const std::string& channel, const std::string& key,
                       const std::string& payload, bool replace) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (!replace && (entries_.count(key) || sent_.count(key))) {
      return Status::Ok();  // a duplicate: already queued or delivered
    }
    if (!entries_.count(key) && entries_.size() >= opt_.max_pending) {
      if (counters_) counters_->Inc(channel, "dropped");
      LogError("outbox_full").Kv("channel", channel).Kv("key", key);
      return ResourceExhaustedError(
          "outbox full (" + std::to_string(opt_.max_pending) + " pending)");
    }
    Entry e;
    e.channel = channel;
    e.created = clock_->Now();
    e.next = e.created;
    e.payload = payload;
    e.replaceable = replace;
    e.generation = next_generation_++;
    // Written before it is visible to the sender: what is in memory is
    // always on disk too.
    RW_RETURN_IF_ERROR(kv_->Put(kNamespace, key, Encode(e)));
    entries_[key] = std::move(e);
    LaneLocked(channel).worker->Wake();
  }
  return Status::Ok();
}

Duration Outbox::Backoff(int attempts) const {
  Duration d = opt_.backoff_base;
  for (int i = 1; i < attempts && d < opt_.backoff_cap; ++i) d *= 2;
  return std::min(d, opt_.backoff_cap);
}

void Outbox::PruneMarkersLocked(WallTime now) {
  for (auto it = sent_.begin(); it != sent_.end();) {
    if (now - it->second > opt_.max_age) {
      kv_->Delete(kSentNamespace, it->first)
          .IgnoreError("a stale marker only blocks a duplicate key");
      it = sent_.erase(it);
    } else {
      ++it;
    }
  }
}

int Outbox::RunDue() {
  std::vector<Lane*> lanes;
  {
    std::lock_guard<std::mutex> l(mu_);
    for (auto& [name, lane] : lanes_) lanes.push_back(lane.get());
  }
  int delivered = 0;
  for (Lane* lane : lanes) delivered += RunLane(*lane, std::stop_token());
  return delivered;
}

int Outbox::RunLane(Lane& lane, std::stop_token stop) {
  std::lock_guard<std::mutex> run(lane.run_mu);
  const WallTime now = clock_->Now();
  struct Job {
    std::string key;
    Entry entry;
  };
  std::vector<Job> jobs;
  {
    std::lock_guard<std::mutex> l(mu_);
    PruneMarkersLocked(now);
    for (auto it = entries_.begin(); it != entries_.end();) {
      Entry& e = it->second;
      if (e.channel != lane.name) {
        ++it;
        continue;
      }
      if (now - e.created > opt_.max_age) {
        LogError("outbox_expired")
            .Kv("channel", e.channel)
            .Kv("key", it->first)
            .Kv("attempts", e.attempts);
        if (counters_) counters_->Inc(e.channel, "expired");
        kv_->Delete(kNamespace, it->first)
            .IgnoreError("retried at the next run");
        it = entries_.erase(it);
        continue;
      }
      if (e.next <= now) jobs.push_back({it->first, e});
      ++it;
    }
  }
  int delivered = 0;
  // Called with mu_ held for each job once its delivery was attempted.
  auto finish = [&](Job& job, const Status& s, WallTime retry_at) {
    auto it = entries_.find(job.key);
    const bool replaced =
        it == entries_.end() || it->second.generation != job.entry.generation;
    if (s.ok()) {
      ++delivered;
      if (counters_) counters_->Inc(job.entry.channel, "sent");
      LogInfo("notification_sent")
          .Kv("channel", job.entry.channel)
          .Kv("key", job.key)
          .Kv("attempts", job.entry.attempts + 1);
      if (replaced) return;  // a newer version waits; keep it
      // Marker first: if we die between the two writes the entry is seen as
      // delivered, never sent twice. Replaceable entries (state updates
      // such as Alertmanager pushes) need none: sending one twice is
      // harmless, and they are sent often.
      if (!job.entry.replaceable) {
        sent_[job.key] = now;
        kv_->Put(kSentNamespace, job.key, std::to_string(ToUnixMillis(now)))
            .IgnoreError("without the marker only re-enqueueing dedupes less");
      }
      Status del = kv_->Delete(kNamespace, job.key);
      if (!del.ok()) {
        LogError("outbox_delete_failed").Kv("key", job.key).Kv("err", del);
      }
      entries_.erase(it);
      return;
    }
    if (counters_) counters_->Inc(job.entry.channel, "failed");
    if (replaced) return;
    Entry& e = it->second;
    ++e.attempts;
    e.next = retry_at;
    LogWarn("notification_failed")
        .Kv("channel", e.channel)
        .Kv("key", job.key)
        .Kv("attempts", e.attempts)
        .Kv("retry_in_s",
            static_cast<int64_t>(
                std::chrono::duration_cast<std::chrono::seconds>(retry_at - now)
                    .count()))
        .Kv("err", s);
    kv_->Put(kNamespace, job.key, Encode(e))
        .IgnoreError("the attempt count is advisory; the entry stays");
  };
  // In batches of the channel's max_batch, in key order, until the first
  // failure: then the whole lane waits out its backoff.
  OutboxChannel* ch = lane.channel;
  const std::size_t batch = ch ? std::max<std::size_t>(1, ch->max_batch()) : 1;
  for (std::size_t i = 0; i < jobs.size(); i += batch) {
    if (stop.stop_requested()) break;
    const std::size_t end = std::min(jobs.size(), i + batch);
    Status s;
    if (!ch) {
      s = UnavailableError("no channel named \"" + lane.name + "\"");
    } else if (batch == 1) {
      s = ch->Deliver(jobs[i].entry.payload, stop);
    } else {
      std::vector<const std::string*> payloads;
      for (std::size_t j = i; j < end; ++j) {
        payloads.push_back(&jobs[j].entry.payload);
      }
      s = ch->DeliverBatch(payloads, stop);
    }
    if (!s.ok() && stop.stop_requested()) {
      // Shutting down: not an attempt. The entries stay stored as they
      // were and go out after the restart.
      LogInfo("notification_interrupted")
          .Kv("channel", lane.name)
          .Kv("entries", static_cast<uint64_t>(end - i));
      break;
    }
    std::lock_guard<std::mutex> l(mu_);
    if (s.ok()) {
      lane.failures = 0;
      for (std::size_t j = i; j < end; ++j) finish(jobs[j], s, now);
      if (lane.worker->OnWorkerThread()) lane.worker->Beat();
      continue;
    }
    ++lane.failures;
    const WallTime retry_at = clock_->Now() + Backoff(lane.failures);
    for (std::size_t j = i; j < end; ++j) finish(jobs[j], s, retry_at);
    // The rest of the lane waits too (and keeps waiting across a restart);
    // it was not attempted, so its attempt counts stay.
    for (std::size_t j = end; j < jobs.size(); ++j) {
      auto it = entries_.find(jobs[j].key);
      if (it == entries_.end() ||
          it->second.generation != jobs[j].entry.generation ||
          it->second.next >= retry_at) {
        continue;
      }
      it->second.next = retry_at;
      kv_->Put(kNamespace, it->first, Encode(it->second))
          .IgnoreError("then it is tried at once after a restart");
    }
    break;
  }
  return delivered;
}

std::size_t Outbox::pending() const {
  std::lock_guard<std::mutex> l(mu_);
  return entries_.size();
}

std::optional<WallTime> Outbox::NextDue() const {
  std::lock_guard<std::mutex> l(mu_);
  std::optional<WallTime> best;
  for (const auto& [k, e] : entries_) {
    if (!best || e.next < *best) best = e.next;
  }
  return best;
}

void Outbox::Start() {
  std::lock_guard<std::mutex> l(mu_);
  running_ = true;
  for (auto& [name, lane] : lanes_) lane->worker->Start();
}

void Outbox::Stop() {
  std::vector<PeriodicWorker*> workers;
  {
    std::lock_guard<std::mutex> l(mu_);
    running_ = false;
    for (auto& [name, lane] : lanes_) workers.push_back(lane->worker.get());
  }
  // Every lane is told first, so their deliveries abort together; then
  // each is joined.
  for (PeriodicWorker* w : workers) w->RequestStop();
  for (PeriodicWorker* w : workers) w->Stop();
}

void Outbox::Wake() {
  std::lock_guard<std::mutex> l(mu_);
  for (auto& [name, lane] : lanes_) lane->worker->Wake();
}

Duration Outbox::LaneTick(Lane& lane, std::stop_token stop) {
  RunLane(lane, stop);
  // Sleep until the lane's next entry is due, at most 1 s (the clock may be
  // moved by the system, and Enqueue wakes the lane for new entries).
  std::lock_guard<std::mutex> l(mu_);
  Duration wait = std::chrono::seconds(1);
  const WallTime now = clock_->Now();
  for (const auto& [k, e] : entries_) {
    if (e.channel != lane.name) continue;
    Duration d = e.next > now ? Duration(e.next - now) : Duration(0);
    wait = std::min(wait, d);
  }
  return wait;
}

}  // namespace rigwatch::actions
