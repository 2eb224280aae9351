#include "agent/common/file_read.h"

#include <gtest/gtest.h>

#include <fstream>

#include "tests/support/files.h"

namespace rigwatch {
namespace {

TEST(FileReadTest, ReadsARegularFile) {
  test_support::TempDir dir;
  std::ofstream(dir.Sub("a.yaml")) << "miners: []\n";
  Result<std::string> r = ReadCappedFile(dir.Sub("a.yaml"), 100, "rule file");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, "miners: []\n");
}

TEST(FileReadTest, RefusesWhatIsNotARegularFileBeforeReading) {
  test_support::TempDir dir;
  Result<std::string> d = ReadCappedFile(dir.path(), 100, "rule file");
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().message(),
            dir.path() + ": rule file: not a regular file (a directory)");
  // /dev/zero never ends: it must be refused without reading it.
  Result<std::string> z = ReadCappedFile("/dev/zero", 100, "password file");
  ASSERT_FALSE(z.ok());
  EXPECT_EQ(z.status().message(),
            "/dev/zero: password file: not a regular file (a character "
            "device)");
}

TEST(FileReadTest, RefusesAFileOverTheCap) {
  test_support::TempDir dir;
  std::ofstream(dir.Sub("big")) << std::string(101, 'x');
  Result<std::string> r = ReadCappedFile(dir.Sub("big"), 100, "miner file");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            dir.Sub("big") +
                ": miner file: 101 bytes, more than the limit "
                "of 100");
  EXPECT_TRUE(ReadCappedFile(dir.Sub("big"), 101, "miner file").ok());
}

TEST(FileReadTest, MissingFileNamesThePathAndTheReason) {
  Result<std::string> r =
      ReadCappedFile("/nonexistent/x.yaml", 100, "rule file");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(r.status().message(),
            "/nonexistent/x.yaml: rule file: cannot open: No such file or "
            "directory");
}

TEST(FileReadTest, FindsALoneCarriageReturn) {
  EXPECT_FALSE(FindLoneCarriageReturn("a: 1\nb: 2\n"));
  EXPECT_FALSE(FindLoneCarriageReturn("a: 1\r\nb: 2\r\n"));
  std::optional<TextPosition> p = FindLoneCarriageReturn("a: 1\nbb: 2\rc: 3");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->line, 2);
  EXPECT_EQ(p->column, 6);
  p = FindLoneCarriageReturn("x\r");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->line, 1);
  EXPECT_EQ(p->column, 2);
}

TEST(FileReadTest, ConfigTextRefusesOldMacLineEndingsWithALocation) {
  test_support::TempDir dir;
  std::ofstream(dir.Sub("r.yaml"), std::ios::binary) << "groups:\r  - x\r";
  Result<std::string> r = ReadConfigText(dir.Sub("r.yaml"), "rule file");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message().rfind(dir.Sub("r.yaml") + ":1:8: carriage "
                                                           "return without",
                                       0),
            0u)
      << r.status().message();
}

}  // namespace
}  // namespace rigwatch
