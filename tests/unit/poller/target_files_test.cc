#include "agent/config/target_files.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "tests/support/files.h"
#include "tests/unit/poller/test_exporter.h"

namespace rigwatch::testing {
namespace {

const TestExporter kExporter;
const ExporterLookup kLookup = [](std::string_view k) -> const Exporter* {
  return k == "test" ? &kExporter : nullptr;
};

TEST(ParseTargetFileTest, GoodFile) {
  auto r = ParseTargetFile(
      "- {name: a, kind: test, address: 10.0.0.1}\n"
      "- name: b\n"
      "  kind: test\n"
      "  address: \"[fd00::2]:8081\"\n",
      "m.yaml", kLookup);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0], (MinerTarget{"a", "test", "10.0.0.1", 0}));
  EXPECT_EQ((*r)[1], (MinerTarget{"b", "test", "fd00::2", 8081}));
  auto empty = ParseTargetFile("", "e.yaml", kLookup);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST(ParseTargetFileTest, TakesEveryKeyOfAnInlineMinerEntry) {
  test_support::TempDir tmp("rigwatch-targets-");
  const std::string pw = tmp.Sub("s19.pw");
  std::ofstream(pw) << "s3cret\n";
  auto r = ParseTargetFile(
      "- {name: a, kind: test, address: \"10.0.0.1:4028\", http_port: 8080,\n"
      "   auth: {username: admin, password_file: \"" +
          pw +
          "\"}}\n"
          "- {name: b, kind: auto, address: 10.0.0.2}\n",
      "m.yaml", kLookup);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 2u);
  MinerTarget a{"a", "test", "10.0.0.1", 4028};
  a.http_port = 8080;
  a.username = "admin";
  a.password_file = pw;
  EXPECT_EQ((*r)[0], a);
  EXPECT_EQ((*r)[1], (MinerTarget{"b", "auto", "10.0.0.2", 0}));
  // The same checks as in the config: a password file that is not there.
  auto missing = ParseTargetFile(
      "- {name: c, kind: test, address: 10.0.0.3,\n"
      "   auth: {password_file: \"" +
          tmp.Sub("none.pw") + "\"}}\n",
      "m.yaml", kLookup);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().message().rfind("m.yaml:2:26: ", 0), 0u)
      << missing.status().message();
}

TEST(ParseTargetFileTest, EveryErrorWithItsPlace) {
  auto r = ParseTargetFile(
      "- {name: a, kind: test, address: 10.0.0.1, port: 4}\n"
      "- {name: b, kind: nope, address: 10.0.0.2}\n"
      "- {name: c, kind: test}\n"
      "- {name: d, kind: test, address: \"10.0.0.4:99999\"}\n"
      "- {name: e, kind: test, address: 10.0.0.5}\n"
      "- {name: e, kind: test, address: 10.0.0.6}\n",
      "m.yaml", kLookup);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(),
            "m.yaml:1:44: unknown key \"port\" in miners entry (allowed: "
            "address, auth, http_port, kind, name)\n"
            "m.yaml:2:19: miners.kind: unknown kind \"nope\" (known kinds: "
            "auto)\n"
            "m.yaml:3:3: miners entry: missing required key \"address\"\n"
            "m.yaml:4:34: miners.address: invalid address \"10.0.0.4:99999\": "
            "port must be 1-65535\n"
            "m.yaml:6:10: miners: duplicate miner name \"e\"");
}

TEST(ParseTargetFileTest, TheHostCollectorsNameIsReserved) {
  auto r = ParseTargetFile(
      "- {name: rig-1, kind: test, address: 10.0.0.1}\n"
      "- {name: host, kind: test, address: 10.0.0.2}\n",
      "fleet/m.yaml", kLookup);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(),
            "fleet/m.yaml:2:10: miners.name: the name \"host\" is reserved "
            "for the host collector; rename the miner");
  // Only the exact name: a miner may be called "host-2" or "Host".
  auto ok = ParseTargetFile(
      "- {name: host-2, kind: test, address: 10.0.0.3}\n"
      "- {name: Host, kind: test, address: 10.0.0.4}\n",
      "m.yaml", kLookup);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->size(), 2u);
}

TEST(ParseTargetFileTest, SyntaxErrorAndWrongShape) {
  auto r = ParseTargetFile("- {name: a, kind: [}\n", "s.yaml", kLookup);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message().rfind("s.yaml:1:", 0), 0u)
      << r.status().message();
  auto m = ParseTargetFile("miners: 3\n", "w.yaml", kLookup);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().message(),
            "w.yaml:1:1: miners: expected a list, got a map");
}

class TargetFilesTest : public ::testing::Test {
 protected:
  void Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ + "/" + name) << text;
  }
  test_support::TempDir tmp_{"rigwatch-targets-"};
  const std::string dir_ = tmp_.path();
};

TEST_F(TargetFilesTest, ReloadsOnChangeAndKeepsTheLastGoodList) {
  Write("a.yaml", "- {name: a1, kind: test, address: 10.0.0.1}\n");
  Write("b.yaml", "- {name: b1, kind: test, address: 10.0.0.2:81}\n");
  Write("ignored.txt", "not yaml [");
  TargetFiles tf({dir_ + "/*.yaml"}, kLookup);

  TargetFiles::Update u = tf.Poll();
  EXPECT_TRUE(u.error.ok()) << u.error.ToString();
  EXPECT_TRUE(u.changed);
  ASSERT_EQ(tf.targets().size(), 2u);
  EXPECT_EQ(tf.targets()[1].port, 81);

  u = tf.Poll();  // nothing changed on disk
  EXPECT_FALSE(u.changed);
  EXPECT_TRUE(u.error.ok());

  // A broken edit: reported once, previous list kept.
  Write("b.yaml",
        "- {name: b1, kind: test, address: 10.0.0.2:81}\n"
        "- {name: a1, kind: test, address: 10.0.0.3}\n");
  u = tf.Poll();
  EXPECT_FALSE(u.changed);
  EXPECT_EQ(
      u.error.message(),
      dir_ + "/b.yaml: miner \"a1\" is also listed in " + dir_ + "/a.yaml");
  EXPECT_EQ(tf.targets().size(), 2u);
  u = tf.Poll();
  EXPECT_TRUE(u.error.ok());  // not repeated while the files stay the same

  // Fixed, with a third miner: the new list.
  Write("b.yaml",
        "- {name: b1, kind: test, address: 10.0.0.2:81}\n"
        "- {name: b2, kind: test, address: 10.0.0.3}\n");
  u = tf.Poll();
  EXPECT_TRUE(u.error.ok()) << u.error.ToString();
  EXPECT_TRUE(u.changed);
  EXPECT_EQ(tf.targets().size(), 3u);

  // A file removed is a change too.
  std::filesystem::remove(dir_ + "/a.yaml");
  u = tf.Poll();
  EXPECT_TRUE(u.changed);
  EXPECT_EQ(tf.targets().size(), 2u);
}

TEST_F(TargetFilesTest, MissingPlainPathIsAnErrorEmptyGlobIsNot) {
  TargetFiles empty({dir_ + "/*.yaml"}, kLookup);
  TargetFiles::Update u = empty.Poll();
  EXPECT_TRUE(u.error.ok());
  EXPECT_TRUE(empty.targets().empty());
  TargetFiles missing({dir_ + "/none.yaml"}, kLookup);
  u = missing.Poll();
  EXPECT_EQ(u.error.message(), dir_ + "/none.yaml: no such file");
  // A glob in a directory that is not there (not mounted yet) matches
  // nothing, like an empty directory.
  TargetFiles unmounted({dir_ + "/not-mounted/*.yaml"}, kLookup);
  u = unmounted.Poll();
  EXPECT_TRUE(u.error.ok()) << u.error.ToString();
}

TEST_F(TargetFilesTest, AMinerFileMustBeARegularFile) {
  ASSERT_EQ(mkdir((dir_ + "/a_dir.yaml").c_str(), 0700), 0);
  TargetFiles dir({dir_ + "/a_dir.yaml"}, kLookup);
  TargetFiles::Update u = dir.Poll();
  EXPECT_EQ(u.error.message(), dir_ +
                                   "/a_dir.yaml: miner file: not a regular "
                                   "file (a directory)");
}

}  // namespace
}  // namespace rigwatch::testing
