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
  channels_[std::move(name)] = channel;
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
  }
  Wake();
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
  std::lock_guard<std::mutex> run(run_mu_);
  const WallTime now = clock_->Now();
  struct Job {
    std::string key;
    Entry entry;
    OutboxChannel* channel;
  };
  std::vector<Job> jobs;
  {
    std::lock_guard<std::mutex> l(mu_);
    PruneMarkersLocked(now);
    for (auto it = entries_.begin(); it != entries_.end();) {
      Entry& e = it->second;
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
      if (e.next <= now) {
        auto ch = channels_.find(e.channel);
        jobs.push_back(
            {it->first, e, ch == channels_.end() ? nullptr : ch->second});
      }
      ++it;
    }
  }
  int delivered = 0;
  // Called with mu_ held for each job once its delivery was attempted.
  auto finish = [&](Job& job, const Status& s) {
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
    e.next = now + Backoff(e.attempts);
    LogWarn("notification_failed")
        .Kv("channel", e.channel)
        .Kv("key", job.key)
        .Kv("attempts", e.attempts)
        .Kv("retry_in_s", static_cast<int64_t>(
                              std::chrono::duration_cast<std::chrono::seconds>(
                                  Backoff(e.attempts))
                                  .count()))
        .Kv("err", s);
    kv_->Put(kNamespace, job.key, Encode(e))
        .IgnoreError("the attempt count is advisory; the entry stays");
  };
  // Jobs of one channel go out in batches of its max_batch, in key order.
  std::map<std::string, std::vector<Job*>> by_channel;
  for (auto& job : jobs) by_channel[job.entry.channel].push_back(&job);
  for (auto& [name, list] : by_channel) {
    OutboxChannel* ch = list.front()->channel;
    const std::size_t batch =
        ch ? std::max<std::size_t>(1, ch->max_batch()) : 1;
    for (std::size_t i = 0; i < list.size(); i += batch) {
      const std::size_t end = std::min(list.size(), i + batch);
      Status s;
      if (!ch) {
        s = UnavailableError("no channel named \"" + name + "\"");
      } else if (batch == 1) {
        s = ch->Deliver(list[i]->entry.payload);
      } else {
        std::vector<const std::string*> payloads;
        for (std::size_t j = i; j < end; ++j) {
          payloads.push_back(&list[j]->entry.payload);
        }
        s = ch->DeliverBatch(payloads);
      }
      std::lock_guard<std::mutex> l(mu_);
      for (std::size_t j = i; j < end; ++j) finish(*list[j], s);
    }
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

void Outbox::Start() { sender_.Start(); }

void Outbox::Stop() { sender_.Stop(); }

void Outbox::Wake() { sender_.Wake(); }

Duration Outbox::Tick() {
  RunDue();
  // Sleep until the next entry is due, at most 1 s (the clock may be
  // moved by the system, and Wake() covers new entries).
  std::lock_guard<std::mutex> l(mu_);
  Duration wait = std::chrono::seconds(1);
  const WallTime now = clock_->Now();
  for (const auto& [k, e] : entries_) {
    Duration d = e.next > now ? Duration(e.next - now) : Duration(0);
    wait = std::min(wait, d);
  }
  return wait;
}

}  // namespace rigwatch::actions
