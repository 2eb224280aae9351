#include "agent/actions/mail.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <random>

namespace rigwatch::actions {
namespace {

bool IsControl(unsigned char c) { return c < 0x20 || c == 0x7f; }

// Cuts s to at most n bytes without splitting a UTF-8 sequence.
void TruncateUtf8(std::string& s, std::size_t n) {
  if (s.size() <= n) return;
  std::size_t cut = n;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  s.resize(cut);
}

std::string Base64(std::string_view in) {
  static constexpr char kTable[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  while (i + 2 < in.size()) {
    uint32_t v = (static_cast<unsigned char>(in[i]) << 16) |
                 (static_cast<unsigned char>(in[i + 1]) << 8) |
                 static_cast<unsigned char>(in[i + 2]);
    out += kTable[(v >> 18) & 63];
    out += kTable[(v >> 12) & 63];
    out += kTable[(v >> 6) & 63];
    out += kTable[v & 63];
    i += 3;
  }
  if (i + 1 == in.size()) {
    uint32_t v = static_cast<unsigned char>(in[i]) << 16;
    out += kTable[(v >> 18) & 63];
    out += kTable[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    uint32_t v = (static_cast<unsigned char>(in[i]) << 16) |
                 (static_cast<unsigned char>(in[i + 1]) << 8);
    out += kTable[(v >> 18) & 63];
    out += kTable[(v >> 12) & 63];
    out += kTable[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

// Length of the UTF-8 sequence starting with byte c (1 for invalid bytes).
std::size_t Utf8Len(unsigned char c) {
  if (c >= 0xF0) return 4;
  if (c >= 0xE0) return 3;
  if (c >= 0xC0) return 2;
  return 1;
}

}  // namespace

std::string SanitizeHeaderValue(std::string_view value, std::size_t max_len) {
  std::string s;
  s.reserve(value.size());
  bool ascii = true;
  for (unsigned char c : value) {
    if (IsControl(c)) {
      s += ' ';
    } else {
      if (c >= 0x80) ascii = false;
      s += static_cast<char>(c);
    }
  }
  TruncateUtf8(s, max_len);
  if (ascii) return s;
  // Encoded-words of at most 75 chars: 45 bytes of text -> 60 of base64,
  // split on character boundaries, joined by folding whitespace.
  std::string out;
  std::size_t i = 0;
  while (i < s.size()) {
    std::size_t j = i;
    while (j < s.size()) {
      std::size_t n = Utf8Len(static_cast<unsigned char>(s[j]));
      if (j + n - i > 45) break;
      j += n;
    }
    if (j == i) j = std::min(s.size(), i + 4);  // malformed tail
    if (!out.empty()) out += "\r\n ";
    out += "=?UTF-8?B?" + Base64(std::string_view(s).substr(i, j - i)) + "?=";
    i = j;
  }
  return out;
}

Status ValidateAddress(std::string_view a) {
  if (a.empty()) return InvalidArgumentError("empty mail address");
  for (unsigned char c : a) {
    if (IsControl(c) || c == ' ' || c == '<' || c == '>' || c == ',' ||
        c == ';' || c == '"' || c == '(' || c == ')' || c == '\\') {
      return InvalidArgumentError(
          "mail address contains a forbidden "
          "character: use a bare local@domain");
    }
  }
  auto at = a.find('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == a.size() ||
      a.find('@', at + 1) != std::string_view::npos) {
    return InvalidArgumentError("mail address is not local@domain");
  }
  return Status::Ok();
}

std::string FormatRfc5322Date(WallTime t) {
  std::time_t secs = static_cast<std::time_t>(ToUnixMillis(t) / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed",
                                          "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr",
                                            "May", "Jun", "Jul", "Aug",
                                            "Sep", "Oct", "Nov", "Dec"};
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d +0000",
                kDays[tm.tm_wday], tm.tm_mday, kMonths[tm.tm_mon],
                tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

Result<std::string> FormatMessage(const MailMessage& m) {
  RW_RETURN_IF_ERROR(ValidateAddress(m.from).WithContext("from"));
  if (m.to.empty()) return InvalidArgumentError("no recipients");
  std::string to;
  for (const auto& r : m.to) {
    RW_RETURN_IF_ERROR(ValidateAddress(r).WithContext("to"));
    if (!to.empty()) to += ", ";
    to += r;
  }
  std::string id = SanitizeHeaderValue(m.message_id, 200);
  for (char& c : id) {
    if (c == ' ' || c == '<' || c == '>') c = '_';
  }
  std::string out;
  out += "Date: " + FormatRfc5322Date(m.date) + "\r\n";
  out += "Message-ID: <" + id + ">\r\n";
  out += "From: " + m.from + "\r\n";
  out += "To: " + to + "\r\n";
  out += "Subject: " + SanitizeHeaderValue(m.subject) + "\r\n";
  out += "MIME-Version: 1.0\r\n";
  out += "Content-Type: text/plain; charset=utf-8\r\n";
  out += "Content-Transfer-Encoding: 8bit\r\n";
  out += "\r\n";
  std::string line;
  auto flush = [&] {
    out += line;
    out += "\r\n";
    line.clear();
  };
  for (std::size_t i = 0; i < m.body.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(m.body[i]);
    if (c == '\r') {
      if (i + 1 < m.body.size() && m.body[i + 1] == '\n') ++i;
      flush();
    } else if (c == '\n') {
      flush();
    } else if (c == '\t' || !IsControl(c)) {
      line += static_cast<char>(c);
      if (line.size() >= 990) flush();
    }
  }
  if (!line.empty()) flush();
  return out;
}

std::string MessageIdFor(std::string_view unique, std::string_view host) {
  std::string id = "rigwatch.";
  for (char c : unique) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-') {
      id += c;
    }
  }
  id += '@';
  std::string h;
  for (char c : host) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-') {
      h += c;
    }
  }
  return id + (h.empty() ? std::string("localhost") : h);
}

std::string NewMessageId(WallTime now, std::string_view host) {
  static std::atomic<uint64_t> counter{0};
  static const uint64_t salt = [] {
    std::random_device rd;
    return (static_cast<uint64_t>(rd()) << 32) | rd();
  }();
  char buf[96];
  std::snprintf(buf, sizeof buf, "%lld.%llu.%016llx",
                static_cast<long long>(ToUnixMillis(now)),
                static_cast<unsigned long long>(counter.fetch_add(1)),
                static_cast<unsigned long long>(salt));
  return MessageIdFor(buf, host);
}

std::string RenderTemplate(std::string_view tmpl,
                           const std::map<std::string, std::string>& vars) {
  std::string out;
  std::size_t i = 0;
  while (i < tmpl.size()) {
    auto open = tmpl.find("{{", i);
    if (open == std::string_view::npos) break;
    auto close = tmpl.find("}}", open + 2);
    if (close == std::string_view::npos) break;
    out.append(tmpl.substr(i, open - i));
    std::string name(tmpl.substr(open + 2, close - open - 2));
    while (!name.empty() && name.front() == ' ') name.erase(0, 1);
    while (!name.empty() && name.back() == ' ') name.pop_back();
    auto it = vars.find(name);
    if (it != vars.end()) out += it->second;
    i = close + 2;
  }
  out.append(tmpl.substr(i));
  return out;
}

const std::string_view kDefaultAlertTemplate =
    "[{{status}}] {{rule}} on {{target}}\n"
    "  level:      {{from}} -> {{to}}\n"
    "  value:      {{value}}\n"
    "  threshold:  {{threshold}}\n"
    "  since:      {{since}}\n"
    "  severity:   {{severity}}\n"
    "  summary:    {{summary}}\n"
    "  action:     {{action}}\n"
    "  last error: {{last_error}}\n"
    "  link:       {{link}}\n";

}  // namespace rigwatch::actions
