#include "agent/actions/smtp.h"

#include <unistd.h>

#include <cstring>

#include "agent/common/curl.h"
#include "agent/common/log.h"
#include "agent/common/secret_file.h"
#include "agent/common/smtp_auth_policy.h"

namespace rigwatch::actions {
namespace {

struct UploadState {
  const std::string* data;
  std::size_t pos = 0;
};

size_t ReadCallback(char* buf, size_t size, size_t nitems, void* user) {
  auto* st = static_cast<UploadState*>(user);
  std::size_t room = size * nitems;
  std::size_t left = st->data->size() - st->pos;
  std::size_t n = std::min(room, left);
  std::memcpy(buf, st->data->data() + st->pos, n);
  st->pos += n;
  return n;
}

}  // namespace

Result<StartTls> ParseStartTls(std::string_view s) {
  if (s == "required") return StartTls::kRequired;
  if (s == "opportunistic") return StartTls::kOpportunistic;
  if (s == "off") return StartTls::kOff;
  return InvalidArgumentError(
      "starttls must be one of required, "
      "opportunistic, off; got \"" +
      std::string(s) + "\"");
}

Status ValidateSmtpOptions(const SmtpOptions& o) {
  std::string problems;
  auto add = [&](const std::string& p) {
    if (!problems.empty()) problems += "; ";
    problems += p;
  };
  if (o.url.rfind("smtp://", 0) != 0 && o.url.rfind("smtps://", 0) != 0) {
    add("url must start with smtp:// or smtps://");
  }
  if (Status s = ValidateAddress(o.from); !s.ok()) add("from: " + s.message());
  if (o.to.empty()) add("to: at least one recipient is required");
  for (const auto& r : o.to) {
    if (Status s = ValidateAddress(r); !s.ok()) add("to: " + s.message());
  }
  if (!o.username.empty() && o.password_file.empty()) {
    add("username needs password_file");
  }
  if (std::string why =
          PlaintextAuthProblem(o.url, o.starttls == StartTls::kRequired,
                               !o.username.empty(), o.allow_plaintext_auth);
      !why.empty()) {
    add(why);
  }
  if (!problems.empty()) return InvalidArgumentError("smtp: " + problems);
  return Status::Ok();
}

SmtpClient::SmtpClient(SmtpOptions options) : opt_(std::move(options)) {
  curl::EnsureGlobalInit();
}

Status SmtpClient::Send(const std::string& formatted,
                        std::stop_token stop) const {
  RW_RETURN_IF_ERROR(ValidateSmtpOptions(opt_));
  curl::Easy easy(curl_easy_init());
  if (!easy) return InternalError("curl_easy_init failed");
  CURL* c = easy.get();
  char errbuf[CURL_ERROR_SIZE] = {0};
  std::string password;
  if (!opt_.username.empty()) {
    RW_ASSIGN_OR_RETURN(
        password, ReadSecretFile(opt_.password_file, "smtp password_file"));
  }
  curl_slist* raw = nullptr;
  for (const auto& r : opt_.to) {
    std::string rcpt = "<" + r + ">";
    curl_slist* next = curl_slist_append(raw, rcpt.c_str());
    if (!next) {
      curl_slist_free_all(raw);
      return InternalError("curl_slist_append failed");
    }
    raw = next;
  }
  curl::Slist rcpts(raw);
  UploadState up{&formatted, 0};
  const std::string mail_from = "<" + opt_.from + ">";
  const long timeout_ms = static_cast<long>(
      std::chrono::duration_cast<std::chrono::milliseconds>(opt_.timeout)
          .count());

  curl_easy_setopt(c, CURLOPT_URL, opt_.url.c_str());
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  curl_easy_setopt(c, CURLOPT_MAIL_FROM, mail_from.c_str());
  curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpts.get());
  curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(c, CURLOPT_READFUNCTION, ReadCallback);
  curl_easy_setopt(c, CURLOPT_READDATA, &up);
  curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE,
                   static_cast<curl_off_t>(formatted.size()));
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
  long use_ssl = CURLUSESSL_TRY;
  switch (opt_.starttls) {
    case StartTls::kRequired:
      use_ssl = CURLUSESSL_ALL;
      break;
    case StartTls::kOpportunistic:
      use_ssl = CURLUSESSL_TRY;
      break;
    case StartTls::kOff:
      use_ssl = CURLUSESSL_NONE;
      break;
  }
  curl_easy_setopt(c, CURLOPT_USE_SSL, use_ssl);
  if (!opt_.ca_file.empty()) {
    curl_easy_setopt(c, CURLOPT_CAINFO, opt_.ca_file.c_str());
  }
  if (opt_.insecure_skip_verify) {
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (!opt_.username.empty()) {
    curl_easy_setopt(c, CURLOPT_USERNAME, opt_.username.c_str());
    curl_easy_setopt(c, CURLOPT_PASSWORD, password.c_str());
  }
  curl::AbortOnStop(c, &stop);
  CURLcode rc = curl_easy_perform(c);
  // curl keeps its own copy of the password; drop ours at once.
  curl_easy_setopt(c, CURLOPT_PASSWORD, "");
  ScrubSecret(password);
  if (rc != CURLE_OK) {
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    std::string what = "smtp " + opt_.url;
    if (code > 0) what += " (last reply " + std::to_string(code) + ")";
    return curl::ToStatus(rc, errbuf, what);
  }
  return Status::Ok();
}

std::string LocalHostName() {
  char buf[256] = {0};
  if (gethostname(buf, sizeof buf - 1) != 0) return "localhost";
  return buf;
}

Status SendTestMail(const SmtpOptions& options, Clock* clock) {
  RW_RETURN_IF_ERROR(ValidateSmtpOptions(options));
  const std::string host =
      options.helo_host.empty() ? LocalHostName() : options.helo_host;
  MailMessage m;
  m.from = options.from;
  m.to = options.to;
  m.date = clock->Now();
  m.message_id = NewMessageId(m.date, host);
  m.subject = "[rigwatch] test mail from " + host;
  m.body = "This is a test mail from rigwatch on " + host +
           ".\nIf you read this, notifications by mail work.\n";
  RW_ASSIGN_OR_RETURN(std::string text, FormatMessage(m));
  Status s = SmtpClient(options).Send(text);
  if (s.ok()) {
    LogInfo("test_mail_sent").Kv("to_count", static_cast<int>(m.to.size()));
  }
  return s;
}

}  // namespace rigwatch::actions
