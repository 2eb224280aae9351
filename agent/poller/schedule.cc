#include "agent/poller/schedule.h"

#include <algorithm>
#include <cmath>

namespace rigwatch {

uint64_t StableHash(std::string_view s) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

namespace {
// A well-mixed 64-bit value from two inputs (splitmix64 finaliser).
uint64_t Mix(uint64_t a, uint64_t b) {
  uint64_t z = a + 0x9e3779b97f4a7c15ULL * (b + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
}  // namespace

MinerSchedule::MinerSchedule(const PollerOptions& opts, std::string_view name,
                             SteadyTime epoch, SteadyTime now)
    : opts_(opts),
      name_hash_(StableHash(name)),
      epoch_(epoch),
      offset_(Duration(static_cast<int64_t>(
          name_hash_ %
          static_cast<uint64_t>(std::max<int64_t>(
              1, opts.interval.count() -
                     static_cast<int64_t>(
                         opts.jitter *
                         static_cast<double>(opts.interval.count()))))))) {
  // A miner added mid-interval is polled at its first slot from now on.
  next_slot_k_ = SlotIndexAtOrAfter(now);
  next_slot_ = SlotTime(next_slot_k_);
  next_attempt_ = next_slot_;
}

SteadyTime MinerSchedule::SlotTime(int64_t k) const {
  const double frac =
      static_cast<double>(Mix(name_hash_, static_cast<uint64_t>(k)) >> 11) /
      static_cast<double>(1ULL << 53);
  const auto jitter = Duration(static_cast<int64_t>(
      frac * opts_.jitter * static_cast<double>(opts_.interval.count())));
  return epoch_ + opts_.interval * k + offset_ + jitter;
}

int64_t MinerSchedule::SlotIndexAtOrAfter(SteadyTime t) const {
  const int64_t i = opts_.interval.count();
  const int64_t rel = (t - epoch_ - offset_).count();
  int64_t k = rel <= 0 ? 0 : (rel + i - 1) / i;
  // Jitter only moves a slot later, so slot k >= its base >= t; but the slot
  // before may also be >= t thanks to its jitter. Take the earliest.
  while (k > 0 && SlotTime(k - 1) >= t) --k;
  return k;
}

SteadyTime MinerSchedule::SlotAtOrAfter(SteadyTime t) const {
  return SlotTime(SlotIndexAtOrAfter(t));
}

bool MinerSchedule::PassSlots(SteadyTime now) {
  if (now < next_slot_) return false;
  SteadyTime last = next_slot_;
  while (next_slot_ <= now) {
    last = next_slot_;
    ++next_slot_k_;
    next_slot_ = SlotTime(next_slot_k_);
  }
  // No poll is due at this boundary (backing off, or circuit open).
  return next_attempt_ > last;
}

void MinerSchedule::OnSuccess(SteadyTime now) {
  failures_ = 0;
  circuit_open_ = false;
  // Strictly after now: a poll that ends on a slot boundary does not run
  // again at once.
  next_attempt_ = SlotAtOrAfter(now + Duration(1));
}

Duration MinerSchedule::BackoffDelay(int n) const {
  Duration d = opts_.backoff_base;
  for (int i = 1; i < n && d < opts_.backoff_cap; ++i) d *= 2;
  return std::min(d, opts_.backoff_cap);
}

void MinerSchedule::OnFailure(SteadyTime now, double u) {
  const bool was_probe = circuit_open_;
  ++failures_;
  if (was_probe || failures_ >= opts_.breaker_failures) {
    // Open (or re-open after a failed half-open probe): no traffic until
    // breaker_open has passed, then one probe at the next slot.
    circuit_open_ = true;
    next_attempt_ = SlotAtOrAfter(now + opts_.breaker_open);
    return;
  }
  const Duration base = BackoffDelay(failures_);
  // Jitter shortens the delay by up to `jitter` of it, so retries of many
  // miners that failed together spread out.
  const auto delay = Duration(static_cast<int64_t>(
      static_cast<double>(base.count()) * (1.0 - opts_.jitter * u)));
  const SteadyTime t = now + delay;
  // A short delay is a quick retry inside the interval; a long one skips
  // slots until the first slot after it.
  next_attempt_ = t < next_slot_ ? t : SlotAtOrAfter(t);
}

}  // namespace rigwatch
