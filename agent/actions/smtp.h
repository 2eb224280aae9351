// Sending mail through libcurl (smtp:// with STARTTLS, or smtps://).
#ifndef RIGWATCH_AGENT_ACTIONS_SMTP_H_
#define RIGWATCH_AGENT_ACTIONS_SMTP_H_

#include <string>
#include <vector>

#include "agent/actions/mail.h"
#include "agent/actions/outbox.h"
#include "agent/common/clock.h"
#include "agent/common/status.h"

namespace rigwatch::actions {

enum class StartTls {
  kRequired,       // fail unless the server upgrades (CURLUSESSL_ALL)
  kOpportunistic,  // upgrade when offered (CURLUSESSL_TRY)
  kOff,            // never (CURLUSESSL_NONE)
};

// Parses "required", "opportunistic", "off".
Result<StartTls> ParseStartTls(std::string_view s);

struct SmtpOptions {
  std::string url = "smtp://127.0.0.1:25";  // smtp://host:port or smtps://
  std::string from;
  std::vector<std::string> to;
  StartTls starttls = StartTls::kOpportunistic;
  std::string username;       // empty: no AUTH
  std::string password_file;  // read at each send; one trailing newline cut
  std::string ca_file;        // empty: the system CA store
  bool insecure_skip_verify = false;  // tests only
  // AUTH without certain TLS (starttls not required, not smtps://) is
  // refused unless this is set (PlaintextAuthProblem).
  bool allow_plaintext_auth = false;
  Duration timeout = std::chrono::seconds(30);
  std::string helo_host;  // host name for Message-ID; empty: gethostname()
};

// Checks url scheme, addresses and auth settings; all problems in one
// message.
Status ValidateSmtpOptions(const SmtpOptions& o);

// Hands one formatted message to the SMTP server. Thread-safe (each Send
// uses its own curl handle); blocks up to options.timeout. Fails with
// Unavailable when the server could not be reached or did not accept the
// message, PermissionDenied on a login failure, InvalidArgument on bad
// options. The password never appears in errors or logs.
class SmtpClient {
 public:
  explicit SmtpClient(SmtpOptions options);
  const SmtpOptions& options() const { return opt_; }
  // `formatted` is FormatMessage's output; the envelope uses options().
  // Ends early (Unavailable) once `stop` is requested.
  Status Send(const std::string& formatted,
              std::stop_token stop = std::stop_token()) const;

 private:
  SmtpOptions opt_;
};

// The outbox channel "smtp": payloads are FormatMessage outputs.
class SmtpMailChannel final : public OutboxChannel {
 public:
  explicit SmtpMailChannel(SmtpOptions options) : client_(std::move(options)) {}
  Status Deliver(const std::string& payload, std::stop_token stop) override {
    return client_.Send(payload, stop);
  }
  Duration attempt_timeout() const override {
    return client_.options().timeout;
  }

 private:
  SmtpClient client_;
};

// Sends one test mail now, without the outbox (`rigwatch notify test`).
Status SendTestMail(const SmtpOptions& options,
                    Clock* clock = SystemClock::Default());

// This machine's host name, for Message-IDs.
std::string LocalHostName();

}  // namespace rigwatch::actions

#endif  // RIGWATCH_AGENT_ACTIONS_SMTP_H_
