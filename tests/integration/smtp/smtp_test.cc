// Integration: rigwatch's mail path against a real SMTP server.
#include "agent/actions/smtp.h"

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <set>
#include <sstream>

#include "agent/actions/mail.h"
#include "agent/actions/outbox.h"
#include "agent/actions/subprocess.h"
#include "agent/common/log.h"
#include "tests/fakes/fake_clock.h"
#include "tests/support/child_process.h"
#include "tests/support/files.h"
#include "tests/support/wait.h"

namespace rigwatch::actions {
namespace {

using std::chrono::seconds;
using test_support::ChildProcess;
using test_support::FreePort;
using test_support::MakeTempDir;
using test_support::ReadFile;
using test_support::WaitFor;

std::string SourceDir() {
  return test_support::SourceDir(RIGWATCH_SOURCE_DIR_DEFAULT);
}

// Names of the *.eml files in dir, sorted.
std::vector<std::string> Messages(const std::string& dir) {
  std::vector<std::string> out;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      std::string n = e->d_name;
      if (n.size() > 4 && n.compare(n.size() - 4, 4, ".eml") == 0) {
        out.push_back(dir + "/" + n);
      }
    }
    closedir(d);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string Meta(const std::string& eml) {
  return ReadFile(eml.substr(0, eml.size() - 4) + ".json");
}

class SmtpTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    tls_dir_ = new std::string(MakeTempDir("rw_smtp_tls_"));
    // A throwaway self-signed certificate valid for 127.0.0.1.
    auto r = RunCommand(
        {"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
         *tls_dir_ + "/key.pem", "-out", *tls_dir_ + "/cert.pem", "-days", "1",
         "-subj", "/CN=localhost", "-addext",
         "subjectAltName=IP:127.0.0.1,DNS:localhost"},
        seconds(60));
    ASSERT_TRUE(r.ok() && r->success()) << (r.ok() ? r->output : "");
  }
  static void TearDownTestSuite() {
    RunCommand({"rm", "-rf", *tls_dir_}, seconds(10))
        .status()
        .IgnoreError("temp dir");
    delete tls_dir_;
  }
  void SetUp() override {
    dir_ = MakeTempDir("rw_smtp_");
    ASSERT_FALSE(dir_.empty());
    port_ = FreePort();
    ASSERT_GT(port_, 0);
  }
  void TearDown() override {
    sink_.Stop();
    RunCommand({"rm", "-rf", dir_}, seconds(10)).status().IgnoreError("tmp");
  }
  // Starts the sink with extra flags and waits until it accepts.
  void StartSink(std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {
        "/usr/bin/python3",
        SourceDir() + "/tests/integration/lib/smtp_sink.py",
        "--port",
        std::to_string(port_),
        "--dir",
        dir_};
    argv.insert(argv.end(), extra.begin(), extra.end());
    ASSERT_TRUE(sink_.Start(argv, dir_ + "/sink.log"));
    ASSERT_TRUE(
        WaitFor([&] { return access((dir_ + "/.ready").c_str(), F_OK) == 0; },
                std::chrono::seconds(20)))
        << ReadFile(dir_ + "/sink.log");
  }
  SmtpOptions Options(const std::string& scheme = "smtp") {
    SmtpOptions o;
    o.url = scheme + "://127.0.0.1:" + std::to_string(port_);
    o.from = "rigwatch@example.org";
    o.to = {"ops@example.org", "oncall@example.net"};
    o.starttls = StartTls::kOff;
    o.timeout = seconds(10);
    o.helo_host = "testhost";
    return o;
  }
  std::string Cert() const { return *tls_dir_ + "/cert.pem"; }
  std::string Key() const { return *tls_dir_ + "/key.pem"; }

  static std::string* tls_dir_;
  std::string dir_;
  int port_ = 0;
  ChildProcess sink_;
};
std::string* SmtpTest::tls_dir_ = nullptr;

TEST_F(SmtpTest, PlainDeliveryWithHeadersAndRecipients) {
  StartSink();
  MailMessage m;
  m.from = "rigwatch@example.org";
  m.to = {"ops@example.org", "oncall@example.net"};
  m.subject = "rig-1\r\nBcc: victim@example.com";
  m.body = "first line\n.a line starting with a dot\n.\nlast\n";
  m.message_id = "test-1@testhost";
  m.date = SystemClock::Default()->Now();
  auto text = FormatMessage(m);
  ASSERT_TRUE(text.ok());
  Status s = SmtpClient(Options()).Send(*text);
  ASSERT_TRUE(s.ok()) << s.ToString();
  auto msgs = Messages(dir_);
  ASSERT_EQ(msgs.size(), 1u);
  std::string eml = ReadFile(msgs[0]);
  std::string meta = Meta(msgs[0]);
  EXPECT_NE(meta.find("\"mail_from\": \"rigwatch@example.org\""),
            std::string::npos)
      << meta;
  EXPECT_NE(meta.find("[\"ops@example.org\", \"oncall@example.net\"]"),
            std::string::npos)
      << meta;
  EXPECT_EQ(meta.find("victim"), std::string::npos) << meta;
  EXPECT_NE(meta.find("\"tls\": false"), std::string::npos);
  EXPECT_NE(eml.find("Message-ID: <test-1@testhost>"), std::string::npos);
  EXPECT_NE(eml.find("Subject: rig-1  Bcc: victim@example.com"),
            std::string::npos)
      << eml;
  EXPECT_EQ(eml.find("\nBcc:"), std::string::npos);
  // Dot-stuffing is undone by the server: the body arrives as written.
  EXPECT_NE(eml.find(".a line starting with a dot\r\n.\r\nlast"),
            std::string::npos)
      << eml;
}

TEST_F(SmtpTest, StartTlsRequiredWithAuthAndVerifiedCertificate) {
  StartSink({"--starttls", Cert(), Key(), "--require-starttls", "--auth",
             "rigwatch", "s3cret-Pa55"});
  const std::string pw_file = dir_ + "/password";
  std::ofstream(pw_file) << "s3cret-Pa55\n";
  const std::string log_file = dir_ + "/agent.log";
  int log_fd = open(log_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  ASSERT_GE(log_fd, 0);
  SetLogFd(log_fd);

  SmtpOptions o = Options();
  o.starttls = StartTls::kRequired;
  o.username = "rigwatch";
  o.password_file = pw_file;
  o.ca_file = Cert();
  Status s = SendTestMail(o);
  EXPECT_TRUE(s.ok()) << s.ToString();

  // Without our CA the self-signed certificate must be refused.
  SmtpOptions no_ca = o;
  no_ca.ca_file = "";
  Status refused = SendTestMail(no_ca);
  EXPECT_FALSE(refused.ok());

  // A wrong password is a login failure, and no secret leaks into errors.
  std::ofstream(pw_file) << "wrong-password\n";
  Status denied = SendTestMail(o);
  EXPECT_EQ(denied.code(), StatusCode::kPermissionDenied) << denied.ToString();
  SetLogFd(2);
  close(log_fd);

  auto msgs = Messages(dir_);
  ASSERT_EQ(msgs.size(), 1u);
  std::string meta = Meta(msgs[0]);
  EXPECT_NE(meta.find("\"tls\": true"), std::string::npos) << meta;
  EXPECT_NE(meta.find("\"login\": \"rigwatch\""), std::string::npos) << meta;
  std::string logs = ReadFile(log_file) + refused.message() + denied.message();
  EXPECT_EQ(logs.find("s3cret"), std::string::npos) << logs;
  EXPECT_EQ(logs.find("wrong-password"), std::string::npos) << logs;
}

// A server without STARTTLS that takes AUTH in cleartext: rigwatch refuses
// to send the password there unless allow_plaintext_auth says so.
TEST_F(SmtpTest, AuthWithoutTlsIsRefusedUnlessAllowed) {
  StartSink({"--auth", "rigwatch", "s3cret-Pa55"});
  const std::string pw_file = dir_ + "/password";
  std::ofstream(pw_file) << "s3cret-Pa55\n";
  SmtpOptions o = Options();
  o.username = "rigwatch";
  o.password_file = pw_file;
  for (StartTls mode : {StartTls::kOpportunistic, StartTls::kOff}) {
    o.starttls = mode;
    Status s = SendTestMail(o);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
    EXPECT_NE(s.message().find("AUTH would be sent without TLS"),
              std::string::npos)
        << s.message();
    EXPECT_EQ(s.message().find("s3cret"), std::string::npos);
  }
  EXPECT_TRUE(Messages(dir_).empty());

  o.starttls = StartTls::kOpportunistic;
  o.allow_plaintext_auth = true;
  Status s = SendTestMail(o);
  ASSERT_TRUE(s.ok()) << s.ToString();
  auto msgs = Messages(dir_);
  ASSERT_EQ(msgs.size(), 1u);
  std::string meta = Meta(msgs[0]);
  EXPECT_NE(meta.find("\"tls\": false"), std::string::npos) << meta;
  EXPECT_NE(meta.find("\"login\": \"rigwatch\""), std::string::npos) << meta;
}

TEST_F(SmtpTest, StartTlsRequiredFailsAgainstPlainServer) {
  StartSink();
  SmtpOptions o = Options();
  o.starttls = StartTls::kRequired;
  o.insecure_skip_verify = true;
  Status s = SendTestMail(o);
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(Messages(dir_).empty());
}

TEST_F(SmtpTest, OpportunisticUpgradesWhenOffered) {
  StartSink({"--starttls", Cert(), Key()});
  SmtpOptions o = Options();
  o.starttls = StartTls::kOpportunistic;
  o.insecure_skip_verify = true;
  ASSERT_TRUE(SendTestMail(o).ok());
  auto msgs = Messages(dir_);
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_NE(Meta(msgs[0]).find("\"tls\": true"), std::string::npos);
}

TEST_F(SmtpTest, Smtps) {
  StartSink({"--smtps", Cert(), Key()});
  SmtpOptions o = Options("smtps");
  o.ca_file = Cert();
  Status s = SendTestMail(o);
  ASSERT_TRUE(s.ok()) << s.ToString();
  auto msgs = Messages(dir_);
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_NE(Meta(msgs[0]).find("\"tls\": true"), std::string::npos);
}

// The server is down for the whole episode, including an agent restart;
// when it comes up every mail arrives exactly once.
TEST_F(SmtpTest, OutageThenRecoveryDeliversEveryMailExactlyOnce) {
  FakeClock clock;
  MemoryKv kv;  // outlives the "agent restarts" below, as the store does
  CounterFamily2 counters("rigwatch_notifications_total", "channel", "result");
  SmtpMailChannel channel(Options());
  std::set<std::string> ids;
  {
    Outbox ob({}, &clock, &kv, &counters);
    ob.AddChannel("smtp", &channel);
    ASSERT_TRUE(ob.Load().ok());
    for (int i = 0; i < 5; ++i) {
      MailMessage m;
      m.from = "rigwatch@example.org";
      m.to = {"ops@example.org"};
      m.subject = "alert " + std::to_string(i);
      m.body = "body " + std::to_string(i) + "\n";
      m.date = clock.Now();
      m.message_id = NewMessageId(m.date, "testhost");
      ids.insert(m.message_id);
      auto text = FormatMessage(m);
      ASSERT_TRUE(text.ok());
      ASSERT_TRUE(ob.Enqueue("smtp", m.message_id, *text).ok());
    }
    EXPECT_EQ(ob.RunDue(), 0);
    clock.Advance(seconds(30));
    EXPECT_EQ(ob.RunDue(), 0);
  }
  // The lane stops at its first failure: one attempt per run, and the four
  // other mails wait with it instead of each timing out.
  EXPECT_EQ(counters.Get("smtp", "failed"), 2);
  // The agent restarts; the server is still down.
  Outbox ob({}, &clock, &kv, &counters);
  ob.AddChannel("smtp", &channel);
  ASSERT_TRUE(ob.Load().ok());
  EXPECT_EQ(ob.pending(), 5u);
  clock.Advance(seconds(60));
  EXPECT_EQ(ob.RunDue(), 0);

  StartSink();
  EXPECT_EQ(ob.RunDue(), 0);  // still backing off: nothing sent early
  clock.Advance(std::chrono::minutes(2));
  EXPECT_EQ(ob.RunDue(), 5);
  EXPECT_EQ(ob.pending(), 0u);
  // Later runs, another restart, and re-enqueued keys send nothing more.
  clock.Advance(std::chrono::hours(1));
  EXPECT_EQ(ob.RunDue(), 0);
  Outbox again({}, &clock, &kv, &counters);
  again.AddChannel("smtp", &channel);
  ASSERT_TRUE(again.Load().ok());
  for (const auto& id : ids) {
    ASSERT_TRUE(again.Enqueue("smtp", id, "duplicate").ok());
  }
  EXPECT_EQ(again.RunDue(), 0);

  auto msgs = Messages(dir_);
  ASSERT_EQ(msgs.size(), 5u);
  std::set<std::string> seen;
  for (const auto& path : msgs) {
    std::string eml = ReadFile(path);
    auto p = eml.find("Message-ID: <");
    ASSERT_NE(p, std::string::npos);
    p += 13;
    seen.insert(eml.substr(p, eml.find('>', p) - p));
  }
  EXPECT_EQ(seen, ids);
  EXPECT_EQ(counters.Get("smtp", "sent"), 5);
}

}  // namespace
}  // namespace rigwatch::actions
