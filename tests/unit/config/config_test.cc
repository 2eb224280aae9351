#include "agent/config/config.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/support/files.h"

namespace rigwatch {
namespace {

namespace fs = std::filesystem;

using test_support::ReadFile;

// Each tests/fixtures/config/bad/X.yaml has X.err beside it: the exact
// errors, one per line. RIGWATCH_UPDATE_GOLDEN=1 rewrites the .err files
// (review the diff before committing it).
TEST(ConfigTest, EveryBadConfigReportsEveryProblemWithItsLocation) {
  const fs::path dir = "tests/fixtures/config/bad";
  int checked = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() != ".yaml") continue;
    std::string rel = (dir / entry.path().filename()).string();
    LoadResult r = LoadConfig(rel);
    EXPECT_FALSE(r.ok()) << rel;
    fs::path err = entry.path();
    err.replace_extension(".err");
    if (std::getenv("RIGWATCH_UPDATE_GOLDEN") != nullptr) {
      std::ofstream(err) << r.ErrorText();
    }
    EXPECT_EQ(r.ErrorText(), ReadFile(err)) << rel;
    ++checked;
  }
  EXPECT_GE(checked, 7);
}

TEST(ConfigTest, GoodConfigsLoad) {
  for (const auto& entry :
       fs::directory_iterator("tests/fixtures/config/good")) {
    LoadResult r = LoadConfig(entry.path().string());
    EXPECT_TRUE(r.ok()) << entry.path() << "\n" << r.ErrorText();
  }
}

TEST(ConfigTest, ShippedDefaultConfigLoads) {
  LoadResult r = LoadConfig("agent/rigwatch.yaml");
  ASSERT_TRUE(r.ok()) << r.ErrorText();
  EXPECT_TRUE(r.config->host.enabled);
  EXPECT_EQ(r.config->http.listen, "0.0.0.0:9842");
}

TEST(ConfigTest, ValuesAndDefaults) {
  LoadResult r = LoadConfig("tests/fixtures/config/good/full.yaml");
  ASSERT_TRUE(r.ok()) << r.ErrorText();
  const Config& c = *r.config;
  EXPECT_EQ(c.http.threads, 8);
  EXPECT_EQ(c.http.read_timeout, std::chrono::seconds(5));
  EXPECT_EQ(c.http.handler_timeout, std::chrono::seconds(10));
  EXPECT_EQ(c.storage.retention, std::chrono::hours(24 * 30));
  EXPECT_EQ(c.scrape.interval, std::chrono::seconds(10));
  ASSERT_EQ(c.miners.size(), 2u);
  EXPECT_EQ(c.miners[1].name, "s9-1");
  EXPECT_EQ(c.miners[1].kind, "cgminer");
  EXPECT_EQ(c.miners[1].address, "10.0.0.12:4028");
  EXPECT_EQ(c.miners[1].location.line, 5);
  EXPECT_EQ(c.backup.keep, 7);
  EXPECT_EQ(c.backup.every, std::chrono::hours(24));
  EXPECT_EQ(c.miner_files, std::vector<std::string>{"targets/*.yaml"});
  // Keys not given keep their defaults.
  EXPECT_EQ(c.storage.min_free_bytes, 100'000'000u);
  EXPECT_EQ(c.storage.sync, "round");
  EXPECT_EQ(c.notify.group_wait, std::chrono::seconds(30));
  EXPECT_DOUBLE_EQ(c.actions.guard_fraction, 0.3);
  EXPECT_EQ(c.actions.guard_min_failed, 3);
  EXPECT_EQ(c.actions.guard_for, 2);
}

TEST(ConfigTest, TlsBecomesGnutlsPriorities) {
  LoadResult r = LoadConfig("tests/fixtures/config/good/tls.yaml");
  ASSERT_TRUE(r.ok()) << r.ErrorText();
  ASSERT_TRUE(r.config->http.tls.has_value());
  const HttpTlsConfig& t = *r.config->http.tls;
  EXPECT_EQ(t.cert_file, "/etc/rigwatch/tls/server.crt");
  EXPECT_EQ(t.client_auth_type, TlsClientAuth::kRequireAndVerifyClientCert);
  EXPECT_EQ(t.priorities,
            "NORMAL:-VERS-ALL:+VERS-TLS1.3:-GROUP-ALL:+GROUP-X25519:"
            "+GROUP-SECP256R1");
  LoadResult plain = LoadConfig("tests/fixtures/config/good/full.yaml");
  ASSERT_TRUE(plain.ok()) << plain.ErrorText();
  EXPECT_FALSE(plain.config->http.tls.has_value());
}

TEST(ConfigTest, HostServices) {
  LoadResult r = LoadConfig("tests/fixtures/config/good/services.yaml");
  ASSERT_TRUE(r.ok()) << r.ErrorText();
  const auto& s = r.config->host.services;
  ASSERT_EQ(s.size(), 4u);
  EXPECT_EQ(s[0].check.kind, "http");
  EXPECT_EQ(s[0].check.target, "http://127.0.0.1:8080/health");
  EXPECT_EQ(s[0].check.method, "HEAD");
  EXPECT_EQ(s[0].check.status, 204);
  EXPECT_EQ(s[0].check.body_contains, "ok");
  EXPECT_EQ(s[0].check.timeout, Millis(2000));
  EXPECT_EQ(s[0].interval, Millis(10000));
  EXPECT_EQ(s[0].start_timeout, Millis(20000));
  EXPECT_EQ(s[1].check.kind, "systemd");
  EXPECT_EQ(s[1].check.target, "tuner.service");
  EXPECT_EQ(s[1].interval, Millis(30000));  // the default
  EXPECT_TRUE(s[1].restart.empty());        // watched only
  EXPECT_EQ(s[2].check.kind, "command");    // a bare argv
  EXPECT_EQ(s[2].check.argv,
            (std::vector<std::string>{"pgrep", "-x", "logger"}));
  EXPECT_EQ(s[3].check.kind, "cgroup");
}

TEST(ConfigTest, MissingFileIsAnError) {
  LoadResult r = LoadConfig("tests/fixtures/config/does-not-exist.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.ErrorText().find("does-not-exist.yaml:0:0: config file: cannot "
                               "open: No such file or directory"),
            std::string::npos)
      << r.ErrorText();
}

TEST(ConfigTest, CheckingDoesNotTouchTheDataDir) {
  test_support::TempDir tmp("rigwatch-config-test-");
  fs::path data = fs::path(tmp.path()) / "data";
  LoadResult r = LoadConfigFromString(
      "storage: { path: \"" + data.string() + "\" }\n", "inline.yaml");
  EXPECT_TRUE(r.ok()) << r.ErrorText();
  EXPECT_FALSE(fs::exists(data));  // validated, not created
}

TEST(HostPortTest, Forms) {
  EXPECT_EQ(ParseHostPort("192.168.1.50", 80)->port, 80);
  EXPECT_EQ(ParseHostPort("10.0.0.12:4028", 80)->port, 4028);
  EXPECT_EQ(ParseHostPort("[::1]:4028", 80)->host, "::1");
  EXPECT_EQ(ParseHostPort("[fe80::1]", 80)->port, 80);
  EXPECT_EQ(ParseHostPort("miner.local:8080", 80)->host, "miner.local");
  // A bare IPv6 literal cannot carry a port: it gets the default one.
  EXPECT_EQ(ParseHostPort("::1", 4028)->host, "::1");
  EXPECT_EQ(ParseHostPort("::1", 4028)->port, 4028);
  EXPECT_EQ(ParseHostPort("fd00::1:4028", 80)->host, "fd00::1:4028");
  EXPECT_EQ(ParseHostPort("fd00::1:4028", 80)->port, 80);
  EXPECT_EQ(ParseHostPort("[::1]:4028", 80)->port, 4028);
  // Several colons that are not IPv6: a typo, not a host.
  Result<HostPort> typo = ParseHostPort("10.0.0.5:80:81", 80);
  ASSERT_FALSE(typo.ok());
  EXPECT_NE(typo.status().message().find("[addr]:port"), std::string::npos)
      << typo.status().message();
  EXPECT_FALSE(ParseHostPort("rig::lan", 80).ok());
  EXPECT_FALSE(ParseHostPort("host:0", 80).ok());
  EXPECT_FALSE(ParseHostPort("host:", 80).ok());
  EXPECT_FALSE(ParseHostPort(":80", 80).ok());
  EXPECT_FALSE(ParseHostPort("a b:80", 80).ok());
}

// Miner files use the same parser with port 0 (the exporter's default).
TEST(HostPortTest, MinerFileForms) {
  struct Case {
    const char* in;
    const char* host;
    uint16_t port;
  } ok[] = {
      {"10.0.0.5", "10.0.0.5", 0},         {"10.0.0.5:4028", "10.0.0.5", 4028},
      {"rig.lan", "rig.lan", 0},           {"rig.lan:80", "rig.lan", 80},
      {"[fd00::1]:4028", "fd00::1", 4028}, {"[::1]", "::1", 0},
      {"fd00::1", "fd00::1", 0},           {"::1", "::1", 0},
  };
  for (const Case& c : ok) {
    Result<HostPort> r = ParseHostPort(c.in, 0);
    ASSERT_TRUE(r.ok()) << c.in << ": " << r.status().ToString();
    EXPECT_EQ(r->host, c.host) << c.in;
    EXPECT_EQ(r->port, c.port) << c.in;
  }
  for (const char* bad : {"", ":80", "h:", "h:0", "h:65536", "h:8x", "[::1",
                          "[::1]x", "[]:1", "[::1]:"}) {
    Result<HostPort> r = ParseHostPort(bad, 0);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.status().message().find(std::string("\"") + bad + "\""),
              std::string::npos)
        << "error names the address: " << r.status().message();
  }
}

TEST(ListenAddressTest, OnlyAnIpLiteralAndAPort) {
  for (const char* ok :
       {"0.0.0.0:9842", "127.0.0.1:1", "[::]:9842", "[::1]:65535"}) {
    EXPECT_TRUE(ValidateListenAddress(ok).ok()) << ok;
  }
  for (const char* bad : {"999.1.1.1:99999", "999.1.1.1:80", "localhost:80",
                          "0.0.0.0", "0.0.0.0:0", "[::1]"}) {
    Status s = ValidateListenAddress(bad);
    EXPECT_FALSE(s.ok()) << bad;
    EXPECT_NE(s.message().find(std::string("\"") + bad + "\""),
              std::string::npos)
        << s.message();
  }
}

TEST(ConfigTest, PlaintextAuthNeedsTheExplicitOverride) {
  test_support::TempDir dir;
  std::ofstream(dir.Sub("pw")) << "secret\n";
  const std::string base =
      "notify:\n  smtp:\n    url: \"smtp://127.0.0.1:2525\"\n"
      "    from: a@example.com\n    to: [b@example.com]\n"
      "    username: rigwatch\n    password_file: " +
      dir.Sub("pw") + "\n";
  LoadOptions lo;
  lo.check_writable = false;
  LoadResult refused = LoadConfigFromString(base, "c.yaml", lo);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.ErrorText().find("c.yaml:6:15: notify.smtp.username: AUTH "
                                     "would be sent without TLS"),
            std::string::npos)
      << refused.ErrorText();
  for (const char* fix :
       {"    allow_plaintext_auth: true\n", "    starttls: required\n"}) {
    LoadResult r = LoadConfigFromString(base + fix, "c.yaml", lo);
    EXPECT_TRUE(r.ok()) << fix << r.ErrorText();
  }
  std::string smtps = base;
  smtps.replace(smtps.find("smtp://"), 7, "smtps://");
  EXPECT_TRUE(LoadConfigFromString(smtps, "c.yaml", lo).ok());
  // No username, no AUTH: nothing to protect.
  std::string anonymous =
      "notify:\n  smtp:\n    from: a@example.com\n    to: [b@example.com]\n";
  EXPECT_TRUE(LoadConfigFromString(anonymous, "c.yaml", lo).ok());
}

TEST(ConfigTest, MarksAnEmptyFileAndAnExplicitMinerList) {
  LoadOptions lo;
  lo.check_writable = false;
  LoadResult empty = LoadConfigFromString("# nothing yet\n", "c.yaml", lo);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty.config->empty);
  EXPECT_FALSE(empty.config->miners_listed);
  LoadResult none = LoadConfigFromString("miners: []\n", "c.yaml", lo);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none.config->empty);
  EXPECT_TRUE(none.config->miners_listed);
  LoadResult log_only =
      LoadConfigFromString("log: {level: info}\n", "c.yaml", lo);
  ASSERT_TRUE(log_only.ok());
  EXPECT_FALSE(log_only.config->miners_listed);
}

}  // namespace
}  // namespace rigwatch
