#include "agent/actions/mail.h"

#include <gtest/gtest.h>

#include "agent/actions/smtp.h"

namespace rigwatch::actions {
namespace {

MailMessage Sample() {
  MailMessage m;
  m.from = "rigwatch@example.org";
  m.to = {"ops@example.org", "me@example.net"};
  m.subject = "hello";
  m.body = "line one\nline two\n";
  m.message_id = "id1@host";
  m.date = FromUnixMillis(1767225600000);  // 2026-01-01T00:00:00Z
  return m;
}

// Header lines of a formatted message (up to the blank line).
std::vector<std::string> HeaderLines(const std::string& msg) {
  std::vector<std::string> out;
  std::size_t p = 0;
  for (;;) {
    auto e = msg.find("\r\n", p);
    if (e == std::string::npos || e == p) break;
    out.push_back(msg.substr(p, e - p));
    p = e + 2;
  }
  return out;
}

TEST(MailTest, FormatsRfc5322Headers) {
  auto r = FormatMessage(Sample());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(HeaderLines(*r), (std::vector<std::string>{
                                 "Date: Thu, 01 Jan 2026 00:00:00 +0000",
                                 "Message-ID: <id1@host>",
                                 "From: rigwatch@example.org",
                                 "To: ops@example.org, me@example.net",
                                 "Subject: hello",
                                 "MIME-Version: 1.0",
                                 "Content-Type: text/plain; charset=utf-8",
                                 "Content-Transfer-Encoding: 8bit",
                             }));
  EXPECT_NE(r->find("\r\n\r\nline one\r\nline two\r\n"), std::string::npos);
  // No bare LF anywhere.
  for (std::size_t i = 0; i < r->size(); ++i) {
    if ((*r)[i] == '\n') {
      ASSERT_GT(i, 0u);
      ASSERT_EQ((*r)[i - 1], '\r');
    }
  }
}

TEST(MailTest, HostileSubjectCannotInjectHeaders) {
  MailMessage m = Sample();
  m.subject = "rig-1\r\nBcc: victim@example.com\nX-Evil: 1\r\x00\x7f end";
  m.subject += std::string("\0tail", 5);
  auto r = FormatMessage(m);
  ASSERT_TRUE(r.ok());
  auto headers = HeaderLines(*r);
  EXPECT_EQ(headers.size(), 8u);
  for (const auto& h : headers) {
    EXPECT_EQ(h.rfind("Bcc", 0), std::string::npos) << h;
    EXPECT_EQ(h.rfind("X-Evil", 0), std::string::npos) << h;
    for (unsigned char c : h) EXPECT_FALSE(c < 0x20 || c == 0x7f) << h;
  }
  EXPECT_EQ(headers[4].rfind("Subject: rig-1  Bcc: victim@example.com", 0), 0u)
      << headers[4];
}

TEST(MailTest, SanitizeHeaderValue) {
  EXPECT_EQ(SanitizeHeaderValue("a\rb\nc\td"), "a b c d");
  EXPECT_EQ(SanitizeHeaderValue(std::string(500, 'x')).size(), 240u);
  // UTF-8 becomes encoded-words, ASCII-only on the wire.
  std::string enc = SanitizeHeaderValue("Temperatur 81 °C auf rig-ü");
  EXPECT_EQ(enc.rfind("=?UTF-8?B?", 0), 0u) << enc;
  for (unsigned char c : enc) {
    EXPECT_LT(c, 0x80);
  }
  // Long UTF-8 text folds into several words with CRLF SP between them.
  std::string lng =
      SanitizeHeaderValue(std::string(60, 'a') + "é" + std::string(60, 'b'));
  auto fold = lng.find("\r\n ");
  ASSERT_NE(fold, std::string::npos);
  EXPECT_EQ(lng.substr(fold + 3, 10), "=?UTF-8?B?");
}

TEST(MailTest, AddressesAreValidated) {
  EXPECT_TRUE(ValidateAddress("a@b.c").ok());
  EXPECT_FALSE(ValidateAddress("").ok());
  EXPECT_FALSE(ValidateAddress("a@b.c\r\nBcc: x@y").ok());
  EXPECT_FALSE(ValidateAddress("Name <a@b.c>").ok());
  EXPECT_FALSE(ValidateAddress("a@b.c, d@e.f").ok());
  EXPECT_FALSE(ValidateAddress("nobody").ok());
  MailMessage m = Sample();
  m.to = {"ops@example.org\r\nBcc: x@y.z"};
  EXPECT_FALSE(FormatMessage(m).ok());
  m.to.clear();
  EXPECT_FALSE(FormatMessage(m).ok());
}

TEST(MailTest, BodyControlCharactersDroppedLongLinesWrapped) {
  MailMessage m = Sample();
  m.body =
      "a\x01"
      "b\r\nc\rd\n" +
      std::string(2500, 'x');
  auto r = FormatMessage(m);
  ASSERT_TRUE(r.ok());
  auto body = r->substr(r->find("\r\n\r\n") + 4);
  EXPECT_EQ(body.substr(0, 12), "ab\r\nc\r\nd\r\nxx");
  std::size_t p = 0, longest = 0;
  while (p < body.size()) {
    auto e = body.find("\r\n", p);
    longest = std::max(longest, e - p);
    p = e + 2;
  }
  EXPECT_LE(longest, 990u);
}

TEST(MailTest, DatesAndIds) {
  EXPECT_EQ(FormatRfc3339(FromUnixMillis(1767225600123)),
            "2026-01-01T00:00:00.123Z");
  auto a = NewMessageId(FromUnixMillis(1), "host\r\nX: y");
  auto b = NewMessageId(FromUnixMillis(1), "host");
  EXPECT_NE(a, b);
  EXPECT_EQ(a.find('\r'), std::string::npos);
  EXPECT_EQ(a.substr(a.find('@')), "@hostXy");
}

TEST(MailTest, RenderTemplate) {
  EXPECT_EQ(RenderTemplate("{{rule}} on {{ target }}: {{missing}}{{",
                           {{"rule", "temp"}, {"target", "rig-1"}}),
            "temp on rig-1: {{");
}

TEST(SmtpOptionsTest, Validation) {
  SmtpOptions o;
  o.from = "a@b.c";
  o.to = {"d@e.f"};
  EXPECT_TRUE(ValidateSmtpOptions(o).ok());
  o.url = "http://x";
  o.username = "u";
  Status s = ValidateSmtpOptions(o);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("smtp://"), std::string::npos);
  EXPECT_NE(s.message().find("password_file"), std::string::npos);
  EXPECT_TRUE(ParseStartTls("required").ok());
  EXPECT_FALSE(ParseStartTls("yes").ok());
}

TEST(SmtpOptionsTest, AuthNeedsCertainTlsOrTheOverride) {
  SmtpOptions o;
  o.from = "a@b.c";
  o.to = {"d@e.f"};
  o.username = "u";
  o.password_file = "/run/secret";
  o.starttls = StartTls::kOpportunistic;
  Status s = ValidateSmtpOptions(o);
  EXPECT_NE(s.message().find("AUTH would be sent without TLS"),
            std::string::npos)
      << s.ToString();
  o.starttls = StartTls::kRequired;
  EXPECT_TRUE(ValidateSmtpOptions(o).ok());
  o.starttls = StartTls::kOff;
  o.url = "smtps://mail.example:465";
  EXPECT_TRUE(ValidateSmtpOptions(o).ok());
  o.url = "smtp://mail.example:25";
  EXPECT_FALSE(ValidateSmtpOptions(o).ok());
  o.allow_plaintext_auth = true;
  EXPECT_TRUE(ValidateSmtpOptions(o).ok());
}

TEST(SmtpOptionsTest, UnreachableServerIsUnavailable) {
  SmtpOptions o;
  o.url = "smtp://127.0.0.1:1";  // nothing listens on port 1
  o.from = "a@b.c";
  o.to = {"d@e.f"};
  o.timeout = std::chrono::seconds(5);
  Status s = SendTestMail(o);
  EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s.ToString();
}

}  // namespace
}  // namespace rigwatch::actions
