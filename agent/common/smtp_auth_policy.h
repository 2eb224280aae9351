// The one rule for SMTP AUTH and encryption, shared by the config loader
// (which points at the offending key) and the SMTP client (which refuses
// to send): a password goes out only over TLS, unless the operator said
// otherwise.
#ifndef RIGWATCH_AGENT_COMMON_SMTP_AUTH_POLICY_H_
#define RIGWATCH_AGENT_COMMON_SMTP_AUTH_POLICY_H_

#include <string>
#include <string_view>

namespace rigwatch {

// Empty when the settings are safe; otherwise why AUTH could be sent in
// cleartext and how to fix it. TLS is certain with smtps:// or with
// STARTTLS required; "opportunistic" STARTTLS is skipped by a server (or a
// man in the middle) that does not offer it, and "off" never encrypts.
inline std::string PlaintextAuthProblem(std::string_view url,
                                        bool starttls_required,
                                        bool has_username,
                                        bool allow_plaintext_auth) {
  if (!has_username || allow_plaintext_auth) return "";
  if (url.rfind("smtps://", 0) == 0 || starttls_required) return "";
  return "AUTH would be sent without TLS (starttls is not \"required\" and "
         "the url is not smtps://), exposing the password to anyone on the "
         "path; use starttls: required or an smtps:// url, or set "
         "allow_plaintext_auth: true to accept the risk";
}

}  // namespace rigwatch

#endif  // RIGWATCH_AGENT_COMMON_SMTP_AUTH_POLICY_H_
