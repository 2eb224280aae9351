#include "agent/common/status.h"

#include <gtest/gtest.h>

namespace rigwatch {
namespace {

Result<int> Half(int x) {
  if (x % 2 != 0) return InvalidArgumentError("odd: " + std::to_string(x));
  return x / 2;
}

Result<int> Quarter(int x) {
  RW_ASSIGN_OR_RETURN(int h, Half(x));
  RW_ASSIGN_OR_RETURN(int q, Half(h));
  return q;
}

Status CheckEven(int x) {
  RW_RETURN_IF_ERROR(Half(x).status());
  return Status::Ok();
}

TEST(StatusTest, OkAndErrors) {
  EXPECT_TRUE(Status::Ok().ok());
  Status s = NotFoundError("no such miner");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.ToString(), "not_found: no such miner");
  EXPECT_EQ(s.WithContext("cgminer rig-17").message(),
            "cgminer rig-17: no such miner");
  EXPECT_EQ(Status::Ok().WithContext("x").ToString(), "ok");
}

TEST(StatusTest, ResultPropagates) {
  EXPECT_EQ(*Quarter(8), 2);
  Result<int> r = Quarter(6);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "odd: 3");
  EXPECT_TRUE(CheckEven(4).ok());
  EXPECT_EQ(CheckEven(5).code(), StatusCode::kInvalidArgument);
}

TEST(StatusTest, ErrnoMapping) {
  EXPECT_EQ(ErrnoToStatus(ENOENT, "open x").code(), StatusCode::kNotFound);
  EXPECT_EQ(ErrnoToStatus(ENOSPC, "write").code(),
            StatusCode::kResourceExhausted);
  EXPECT_EQ(ErrnoToStatus(EACCES, "open").code(),
            StatusCode::kPermissionDenied);
  EXPECT_NE(ErrnoToStatus(ENOENT, "open x").message().find("open x: "),
            std::string::npos);
}

TEST(StatusDeathTest, ValueOfErrorAborts) {
  Result<int> r = InternalError("boom");
  EXPECT_DEATH((void)r.value(), "boom");
}

}  // namespace
}  // namespace rigwatch
