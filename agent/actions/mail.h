// Mail formatting: RFC 5322 headers that cannot be injected into, and the
// plain-text bodies rendered from templates. Pure functions, thread-safe.
#ifndef RIGWATCH_AGENT_ACTIONS_MAIL_H_
#define RIGWATCH_AGENT_ACTIONS_MAIL_H_

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "agent/common/clock.h"
#include "agent/common/rfc3339.h"
#include "agent/common/status.h"

namespace rigwatch::actions {

struct MailMessage {
  std::string from;             // bare address: alerts@example.org
  std::vector<std::string> to;  // bare addresses
  std::string subject;          // any text; sanitized when formatted
  std::string body;             // any text; line ends normalized to CRLF
  std::string message_id;       // without <>; also the outbox dedupe key
  WallTime date{};
};

// A header value that cannot break out of its header: every control
// character (CR, LF, NUL, TAB, DEL, ...) becomes a space, the result is
// capped at `max_len` bytes (on a UTF-8 boundary), and text that is not pure
// ASCII is written as RFC 2047 encoded-words (=?UTF-8?B?...?=).
std::string SanitizeHeaderValue(std::string_view value,
                                std::size_t max_len = 240);

// Accepts a bare addr-spec ("local@domain") with no spaces, control
// characters, quotes, angle brackets, commas or semicolons.
Status ValidateAddress(std::string_view address);

// "Sun, 22 Nov 2026 05:40:06 +0000" (RFC 5322 date-time, UTC).
std::string FormatRfc5322Date(WallTime t);

// The complete message: Date, Message-ID, From, To, Subject, MIME-Version,
// Content-Type text/plain; charset=utf-8, Content-Transfer-Encoding 8bit,
// a blank line and the body, every line ending in CRLF. Body control
// characters other than TAB and line ends are dropped; lines longer than
// 990 bytes are wrapped (SMTP's 1000-byte line limit). Dot-stuffing is left
// to the SMTP client. Fails when an address is invalid.
Result<std::string> FormatMessage(const MailMessage& m);

// The Message-ID "rigwatch.<unique>@<host>" (both reduced to letters,
// digits, '.' and '-'): the same inputs give the same ID, so a message
// queued twice is recognised by the outbox.
std::string MessageIdFor(std::string_view unique, std::string_view host);

// A fresh Message-ID ("rigwatch.<ms>.<n>.<random>@<host>"), unique across
// restarts of the agent. Thread-safe.
std::string NewMessageId(WallTime now, std::string_view host);

// Replaces each {{name}} in `tmpl` with vars[name]; an unknown {{name}} is
// replaced by the empty string. No escaping: the output is plain text.
std::string RenderTemplate(std::string_view tmpl,
                           const std::map<std::string, std::string>& vars);

// The default per-alert block of a mail body. Variables: status, rule,
// target, from, to, value (with its unit), threshold, since, severity,
// summary, action (what rigwatch did: "restart sent at T: accepted"),
// last_error (the miner's last poll error), link.
extern const std::string_view kDefaultAlertTemplate;

}  // namespace rigwatch::actions

#endif  // RIGWATCH_AGENT_ACTIONS_MAIL_H_
