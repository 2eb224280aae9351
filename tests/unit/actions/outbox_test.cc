#include "agent/actions/outbox.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "tests/fakes/fake_clock.h"
#include "tests/unit/actions/test_util.h"

namespace rigwatch::actions {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;
using testing::RecordingChannel;

class OutboxTest : public ::testing::Test {
 protected:
  std::unique_ptr<Outbox> Make(OutboxOptions o = {}) {
    auto ob = std::make_unique<Outbox>(o, &clock_, &kv_, &counters_);
    ob->AddChannel("smtp", &channel_);
    EXPECT_TRUE(ob->Load().ok());
    return ob;
  }
  FakeClock clock_;
  MemoryKv kv_;
  RecordingChannel channel_;
  CounterFamily2 counters_{"rigwatch_notifications_total", "channel", "result"};
};

TEST_F(OutboxTest, WrittenBeforeDeliveryDeletedAfter) {
  auto ob = Make();
  ASSERT_TRUE(ob->Enqueue("smtp", "m1", "hello").ok());
  auto rows = kv_.List(Outbox::kNamespace);
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(rows->size(), 1u);
  EXPECT_EQ(ob->RunDue(), 1);
  EXPECT_EQ(channel_.delivered, std::vector<std::string>{"hello"});
  rows = kv_.List(Outbox::kNamespace);
  EXPECT_TRUE(rows->empty());
  EXPECT_EQ(kv_.List(Outbox::kSentNamespace)->size(), 1u);
  EXPECT_EQ(ob->pending(), 0u);
  EXPECT_EQ(counters_.Get("smtp", "sent"), 1);
}

TEST_F(OutboxTest, RetriesWithExponentialBackoff) {
  auto ob = Make();  // base 30s, cap 30m
  channel_.down = true;
  ASSERT_TRUE(ob->Enqueue("smtp", "m1", "hello").ok());
  EXPECT_EQ(ob->RunDue(), 0);
  EXPECT_EQ(channel_.attempts, 1);
  // Next due in 30s: nothing before.
  clock_.Advance(seconds(29));
  ob->RunDue();
  EXPECT_EQ(channel_.attempts, 1);
  clock_.Advance(seconds(1));
  ob->RunDue();
  EXPECT_EQ(channel_.attempts, 2);
  // Then 60s, 120s.
  clock_.Advance(seconds(59));
  ob->RunDue();
  EXPECT_EQ(channel_.attempts, 2);
  clock_.Advance(seconds(1));
  ob->RunDue();
  EXPECT_EQ(channel_.attempts, 3);
  ASSERT_TRUE(ob->NextDue().has_value());
  EXPECT_EQ(*ob->NextDue() - clock_.Now(), seconds(120));
  // Capped at 30 minutes.
  for (int i = 0; i < 10; ++i) {
    clock_.Advance(minutes(31));
    ob->RunDue();
  }
  EXPECT_EQ(*ob->NextDue() - clock_.Now(), minutes(30));
  channel_.down = false;
  clock_.Advance(minutes(30));
  EXPECT_EQ(ob->RunDue(), 1);
  EXPECT_EQ(channel_.delivered.size(), 1u);
  EXPECT_EQ(counters_.Get("smtp", "failed"), 13);
}

TEST_F(OutboxTest, SurvivesAgentRestartAndDeliversExactlyOnce) {
  channel_.down = true;
  {
    auto ob = Make();
    ASSERT_TRUE(ob->Enqueue("smtp", "m1", "one").ok());
    ASSERT_TRUE(ob->Enqueue("smtp", "m2", "two").ok());
    ob->RunDue();
  }  // the agent stops with both undelivered
  channel_.down = false;
  auto ob = Make();
  EXPECT_EQ(ob->pending(), 2u);
  // The earlier run's backoff is kept.
  EXPECT_EQ(ob->RunDue(), 0);
  clock_.Advance(seconds(30));
  EXPECT_EQ(ob->RunDue(), 2);
  // Re-enqueueing a delivered key (e.g. replayed after a crash) is a no-op.
  ASSERT_TRUE(ob->Enqueue("smtp", "m1", "one").ok());
  EXPECT_EQ(ob->RunDue(), 0);
  clock_.Advance(minutes(5));
  EXPECT_EQ(ob->RunDue(), 0);
  EXPECT_EQ(channel_.delivered, (std::vector<std::string>{"one", "two"}));
  // Also after yet another restart.
  auto ob2 = Make();
  ASSERT_TRUE(ob2->Enqueue("smtp", "m2", "two").ok());
  EXPECT_EQ(ob2->RunDue(), 0);
  EXPECT_EQ(channel_.delivered.size(), 2u);
}

TEST_F(OutboxTest, DuplicatePendingKeyIsIgnoredReplaceOverwrites) {
  auto ob = Make();
  ASSERT_TRUE(ob->Enqueue("smtp", "k", "v1").ok());
  ASSERT_TRUE(ob->Enqueue("smtp", "k", "v2").ok());
  ASSERT_TRUE(ob->Enqueue("smtp", "k", "v3", /*replace=*/true).ok());
  EXPECT_EQ(ob->pending(), 1u);
  EXPECT_EQ(ob->RunDue(), 1);
  EXPECT_EQ(channel_.delivered, std::vector<std::string>{"v3"});
  EXPECT_TRUE(kv_.List(Outbox::kSentNamespace)->empty());
  // With replace, a delivered key can be sent again (a newer state).
  ASSERT_TRUE(ob->Enqueue("smtp", "k", "v4", /*replace=*/true).ok());
  EXPECT_EQ(ob->RunDue(), 1);
  EXPECT_EQ(channel_.delivered.size(), 2u);
}

TEST_F(OutboxTest, BoundedAndWriteFailuresReported) {
  OutboxOptions o;
  o.max_pending = 2;
  auto ob = Make(o);
  ASSERT_TRUE(ob->Enqueue("smtp", "a", "1").ok());
  ASSERT_TRUE(ob->Enqueue("smtp", "b", "2").ok());
  Status s = ob->Enqueue("smtp", "c", "3");
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(counters_.Get("smtp", "dropped"), 1);
  kv_.FailNextWrites(1);
  ASSERT_EQ(ob->RunDue(), 2);
  kv_.FailNextWrites(1);
  EXPECT_FALSE(ob->Enqueue("smtp", "d", "4").ok());
  EXPECT_EQ(ob->pending(), 0u);
}

TEST_F(OutboxTest, ExpiresAfterMaxAge) {
  OutboxOptions o;
  o.max_age = std::chrono::hours(1);
  auto ob = Make(o);
  channel_.down = true;
  ASSERT_TRUE(ob->Enqueue("smtp", "a", "1").ok());
  ob->RunDue();
  clock_.Advance(std::chrono::hours(2));
  ob->RunDue();
  EXPECT_EQ(ob->pending(), 0u);
  EXPECT_EQ(counters_.Get("smtp", "expired"), 1);
  EXPECT_TRUE(kv_.List(Outbox::kNamespace)->empty());
}

TEST_F(OutboxTest, UnknownChannelRetriesLater) {
  auto ob = Make();
  ASSERT_TRUE(ob->Enqueue("pager", "a", "1").ok());
  EXPECT_EQ(ob->RunDue(), 0);
  EXPECT_EQ(ob->pending(), 1u);
  EXPECT_EQ(counters_.Get("pager", "failed"), 1);
}

class BatchingChannel final : public OutboxChannel {
 public:
  Status Deliver(const std::string&, std::stop_token) override {
    return InternalError("batching channel got a single delivery");
  }
  std::size_t max_batch() const override { return 2; }
  Status DeliverBatch(const std::vector<const std::string*>& p,
                      std::stop_token) override {
    std::vector<std::string> batch;
    for (const auto* s : p) batch.push_back(*s);
    batches.push_back(batch);
    return fail ? UnavailableError("down") : Status::Ok();
  }
  std::vector<std::vector<std::string>> batches;
  bool fail = false;
};

TEST_F(OutboxTest, BatchingChannelGetsBatchesInKeyOrder) {
  BatchingChannel am;
  auto ob = Make();
  ob->AddChannel("am", &am);
  for (char c : std::string("edcba")) {
    ASSERT_TRUE(ob->Enqueue("am", std::string(1, c), std::string(1, c)).ok());
  }
  ASSERT_TRUE(ob->Enqueue("smtp", "m", "mail").ok());
  am.fail = true;
  EXPECT_EQ(ob->RunDue(), 1);  // only the mail
  // The lane stopped at its first failed batch and backs off as a whole.
  EXPECT_EQ(counters_.Get("am", "failed"), 2);
  am.fail = false;
  clock_.Advance(seconds(29));
  EXPECT_EQ(ob->RunDue(), 0);
  clock_.Advance(seconds(1));
  EXPECT_EQ(ob->RunDue(), 5);
  ASSERT_EQ(am.batches.size(), 4u);
  EXPECT_EQ(am.batches[0], (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(am.batches[1], (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(am.batches[2], (std::vector<std::string>{"c", "d"}));
  EXPECT_EQ(am.batches[3], (std::vector<std::string>{"e"}));
  EXPECT_EQ(ob->pending(), 0u);
}

TEST_F(OutboxTest, SenderThreadDeliversWithoutRunDue) {
  auto ob = Make();
  ob->Start();
  ASSERT_TRUE(ob->Enqueue("smtp", "a", "1").ok());
  // Poll with a bounded deadline (the sender runs on its own thread).
  auto deadline = std::chrono::steady_clock::now() + seconds(10);
  while (ob->pending() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ob->Stop();
  EXPECT_EQ(ob->pending(), 0u);
  std::lock_guard<std::mutex> l(channel_.mu);
  EXPECT_EQ(channel_.delivered.size(), 1u);
}

// Blocks each delivery until the stop token is requested (a receiver that
// accepted the connection and never answers).
class SilentChannel final : public OutboxChannel {
 public:
  Status Deliver(const std::string&, std::stop_token stop) override {
    std::unique_lock<std::mutex> l(mu);
    ++entered;
    cv.notify_all();
    cv.wait(l, stop, [] { return false; });
    return UnavailableError("interrupted");
  }
  bool WaitEntered() {
    std::unique_lock<std::mutex> l(mu);
    return cv.wait_for(l, seconds(10), [&] { return entered > 0; });
  }
  std::mutex mu;
  std::condition_variable_any cv;
  int entered = 0;
};

TEST_F(OutboxTest, ADeadLaneNeverDelaysAnother) {
  SilentChannel dead;
  auto ob = Make();
  ob->AddChannel("am", &dead);
  ob->Start();
  ASSERT_TRUE(ob->Enqueue("am", "push", "[]").ok());
  ASSERT_TRUE(dead.WaitEntered());
  // The am lane is stuck in its delivery; the mail lane is not.
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(ob->Enqueue("smtp", "m" + std::to_string(i), "mail").ok());
  }
  auto deadline = std::chrono::steady_clock::now() + seconds(10);
  while (ob->pending() > 1 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  {
    std::lock_guard<std::mutex> l(channel_.mu);
    EXPECT_EQ(channel_.delivered.size(), 3u);
  }
  // Stop interrupts the stuck delivery: not an attempt, the entry stays
  // stored and is delivered by the next run.
  const auto t0 = std::chrono::steady_clock::now();
  ob->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, seconds(5));
  EXPECT_EQ(ob->pending(), 1u);
  EXPECT_EQ(counters_.Get("am", "failed"), 0);
  ob.reset();
  RecordingChannel am_back;
  auto again =
      std::make_unique<Outbox>(OutboxOptions{}, &clock_, &kv_, &counters_);
  again->AddChannel("smtp", &channel_);
  again->AddChannel("am", &am_back);
  ASSERT_TRUE(again->Load().ok());
  EXPECT_EQ(again->RunDue(), 1);
  EXPECT_EQ(am_back.delivered, std::vector<std::string>{"[]"});
}

TEST_F(OutboxTest, EntriesOfTheFirstFormatAreDeliveredInTheirChannelsLane) {
  // As version 1 wrote them: the channel names the lane.
  ASSERT_TRUE(kv_.Put(Outbox::kNamespace, "old",
                      "1\nsmtp\n2\n0\n" +
                          std::to_string(ToUnixMillis(clock_.Now())) +
                          "\n0\nold mail")
                  .ok());
  auto ob = Make();
  EXPECT_EQ(ob->pending(), 1u);
  EXPECT_EQ(ob->RunDue(), 1);
  EXPECT_EQ(channel_.delivered, std::vector<std::string>{"old mail"});
}

}  // namespace
}  // namespace rigwatch::actions
