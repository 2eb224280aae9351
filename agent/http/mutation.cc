#include "agent/http/mutation.h"

#include <string>

#include "agent/common/json.h"
#include "agent/common/log.h"

namespace rigwatch {
namespace {

// Long enough for any message of ours; a body is not a log line.
constexpr size_t kMaxErrorChars = 300;

// The decoded parameters (query, then form fields) without secrets,
// "k=v&k=v".
std::string Params(const HttpRequest& req) {
  std::string out;
  for (const auto& [k, v] : req.AllParams()) {
    if (k.empty() || k == "csrf_token") continue;
    if (!out.empty()) out += '&';
    out += k + "=" + v;
  }
  return out;
}

// The message of a {"error":"..."} body, as written (escapes kept).
std::string_view ErrorText(std::string_view e) {
  constexpr std::string_view kOpen = "{\"error\":\"";
  while (!e.empty() && (e.back() == '\n' || e.back() == ' '))
    e.remove_suffix(1);
  if (e.size() >= kOpen.size() + 2 && e.substr(0, kOpen.size()) == kOpen &&
      e.substr(e.size() - 2) == "\"}") {
    e = e.substr(kOpen.size(), e.size() - kOpen.size() - 2);
  }
  return e.substr(0, kMaxErrorChars);
}

}  // namespace

void JournalMutation(const HttpRequest& req, int status, std::string_view error,
                     const MutationSink& sink) {
  // Refusals of clients that proved no identity are counted
  // (rigwatch_http_auth_failures_total), not journaled: anyone could fill
  // the log and the store with them.
  if (req.principal.empty() || req.principal == "anonymous") return;
  MutationRecord r;
  r.who = req.principal;
  r.method = req.method;
  r.path = req.path;
  r.target = req.Param("target").value_or("");
  r.params = Params(req);
  r.remote = req.remote_addr;
  r.status = status;
  r.error = std::string(ErrorText(error));
  {
    LogEvent ev(status < 400 ? LogLevel::kInfo : LogLevel::kWarn,
                "http_mutation");
    ev.Kv("who", r.who)
        .Kv("method", r.method)
        .Kv("path", r.path)
        .Kv("target", r.target)
        .Kv("params", r.params)
        .Kv("remote", r.remote)
        .Kv("status", status);
    if (!r.error.empty()) ev.Kv("error", r.error);
  }
  if (sink) sink(r);
}

std::string MutationJson(const MutationRecord& r, int64_t unix_ms) {
  std::string out = "{\"time_ms\":" + std::to_string(unix_ms) + ",\"who\":";
  json::AppendString(&out, r.who);
  out += ",\"method\":";
  json::AppendString(&out, r.method);
  out += ",\"path\":";
  json::AppendString(&out, r.path);
  out += ",\"target\":";
  json::AppendString(&out, r.target);
  out += ",\"params\":";
  json::AppendString(&out, r.params);
  out += ",\"remote\":";
  json::AppendString(&out, r.remote);
  out += ",\"status\":" + std::to_string(r.status) + ",\"error\":";
  json::AppendString(&out, r.error);
  out += "}";
  return out;
}

}  // namespace rigwatch
