#include "agent/common/kv.h"

#include <gtest/gtest.h>

namespace rigwatch {
namespace {

TEST(MemoryKvTest, PutGetListDelete) {
  MemoryKv kv;
  ASSERT_TRUE(kv.Put("outbox", "b", "2").ok());
  ASSERT_TRUE(kv.Put("outbox", "a", "1").ok());
  ASSERT_TRUE(kv.Put("rules", "a", "x").ok());
  EXPECT_EQ(**kv.Get("outbox", "a"), "1");
  EXPECT_FALSE(kv.Get("outbox", "zz")->has_value());
  auto list = *kv.List("outbox");
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].first, "a");
  ASSERT_TRUE(kv.Delete("outbox", "a").ok());
  EXPECT_EQ(kv.List("outbox")->size(), 1u);
  kv.FailNextWrites(1);
  EXPECT_EQ(kv.Put("outbox", "c", "3").code(), StatusCode::kUnavailable);
  EXPECT_TRUE(kv.Put("outbox", "c", "3").ok());
}

}  // namespace
}  // namespace rigwatch
