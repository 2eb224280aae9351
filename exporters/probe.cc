// The kind table of `kind: auto`. See probe.h and docs/protocols.md
// "Auto-detection".
#include "exporters/probe.h"

#include <array>
#include <cctype>

namespace rigwatch::probe {
namespace {

// Where a marker is looked for.
enum class In {
  kApi,            // the version or devdetails reply, upper-cased
  kVersion,        // the version reply only, upper-cased
  kWebBody,        // the body of a web reply below 400, as is
  kRealm,          // a web 401's WWW-Authenticate header, as is
  kHttpsRedirect,  // a web 3xx to https://, its body, as is
};

struct Marker {
  In in;
  std::string_view text;  // empty: unused slot
};

// One entry per kind: any one marker identifies it. Checked in this order:
// firmwares that copy another's strings come before the one they copy
// (LuxOS and Vnish report "Antminer <model>"; Braiins' devdetails says
// "Bitmain Antminer"), the generic cgminer entry comes last.
struct Entry {
  std::string_view kind;
  std::array<Marker, 4> any_of;
};

constexpr std::array kTable = {
    Entry{"braiins",
          {{{In::kApi, "BOSMINER"},
            {In::kApi, "BOSER"},
            {In::kWebBody, "Braiins OS"}}}},
    // Old firmware answers `version` with a flat Code 14 "invalid cmd"
    // (cgminer itself says "Invalid command").
    Entry{"whatsminer",
          {{{In::kApi, "BTMINER"},
            {In::kApi, "BITMICRO"},
            {In::kVersion, "\"MSG\":\"INVALID CMD\""},
            {In::kHttpsRedirect, "/cgi-bin/luci"}}}},
    Entry{"luxos",
          {{{In::kApi, "LUXMINER"}, {In::kWebBody, "Luxor Firmware"}}}},
    Entry{"vnish", {{{In::kApi, "VNISH"}, {In::kWebBody, "AnthillOS"}}}},
    // Not devdetails: Braiins lists "Bitmain Antminer ..." there.
    Entry{"antminer",
          {{{In::kVersion, "ANTMINER"}, {In::kRealm, "realm=\"antMiner"}}}},
    Entry{"avalon", {{{In::kApi, "AVALON"}, {In::kWebBody, "Avalon"}}}},
    // NerdAxe/NerdQAxe titles say "Nerd"; the bitaxe kind reads both.
    Entry{"bitaxe", {{{In::kWebBody, "Nerd"}, {In::kWebBody, "AxeOS"}}}},
    // Any other cgminer-framed reply: the generic kind.
    Entry{"cgminer", {{{In::kApi, "\"STATUS\""}}}},
};

std::string Upper(const std::optional<Response>& r) {
  if (!r || !r->transport.ok()) return {};
  std::string s = r->body;
  for (char& c : s)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

bool Contains(std::string_view hay, std::string_view needle) {
  return hay.find(needle) != std::string_view::npos;
}

// The evidence text when `m` is in the replies, else nullopt.
std::optional<std::string> Match(const Marker& m, const Replies& r,
                                 const std::string& version,
                                 const std::string& devdetails) {
  const Response* web = r.web && r.web->transport.ok() ? &*r.web : nullptr;
  const std::string text(m.text);
  switch (m.in) {
    case In::kApi:
      if (Contains(version, m.text)) return "version contains " + text;
      if (Contains(devdetails, m.text)) return "devdetails contains " + text;
      return std::nullopt;
    case In::kVersion:
      if (Contains(version, m.text)) return "version contains " + text;
      return std::nullopt;
    case In::kWebBody:
      if (web && web->http_status < 400 && Contains(web->body, m.text)) {
        return "web page contains " + text;
      }
      return std::nullopt;
    case In::kRealm:
      if (web && web->http_status == 401 &&
          Contains(web->www_authenticate, m.text)) {
        return "web 401 with " + text;
      }
      return std::nullopt;
    case In::kHttpsRedirect:
      if (web && web->http_status >= 300 && web->http_status < 400 &&
          web->location.rfind("https://", 0) == 0 &&
          Contains(web->body, m.text)) {
        return "web redirect to https:// with " + text;
      }
      return std::nullopt;
  }
  return std::nullopt;
}

std::string Outcome(const Response& r, bool web) {
  if (!r.transport.ok()) return r.transport.message();
  if (web) return "HTTP " + std::to_string(r.http_status) + ", no known marker";
  return "reply without a known marker";
}

}  // namespace

std::string_view SourceName(Source s) {
  switch (s) {
    case Source::kVersion:
      return "version";
    case Source::kDevdetails:
      return "devdetails";
    case Source::kWeb:
      return "web";
  }
  return "?";
}

Request RequestFor(Source s) {
  Request r;
  r.name = "probe " + std::string(SourceName(s));
  switch (s) {
    case Source::kVersion:
      r.payload = R"({"command":"version"})";
      break;
    case Source::kDevdetails:
      r.payload = R"({"command":"devdetails"})";
      break;
    case Source::kWeb:
      r.method = "GET";
      // push_back, not = "/": GCC 12 at -O3 warns falsely (-Wrestrict) on
      // a one-character assignment here.
      r.path.push_back('/');
      r.side = Request::Side::kWeb;
      break;
  }
  return r;
}

std::optional<Decision> Decide(const Replies& replies,
                               const KindFilter& registered) {
  const std::string version = Upper(replies.version);
  const std::string devdetails = Upper(replies.devdetails);
  for (const Entry& e : kTable) {
    if (!registered(e.kind)) continue;
    for (const Marker& m : e.any_of) {
      if (m.text.empty()) continue;
      if (std::optional<std::string> ev =
              Match(m, replies, version, devdetails)) {
        return Decision{std::string(e.kind), std::move(*ev)};
      }
    }
  }
  return std::nullopt;
}

std::optional<Source> NextStep(const Replies& replies,
                               const KindFilter& registered) {
  if (Decide(replies, registered)) return std::nullopt;
  if (!replies.version) return Source::kVersion;
  // devdetails only where something answers on the API port.
  if (!replies.devdetails && replies.version->transport.ok()) {
    return Source::kDevdetails;
  }
  if (!replies.web) return Source::kWeb;
  return std::nullopt;
}

std::string Explain(const Replies& replies) {
  std::string out;
  auto add = [&](std::string_view name, const std::optional<Response>& r,
                 bool web) {
    if (!r) return;
    if (!out.empty()) out += "; ";
    out += std::string(name) + ": " + Outcome(*r, web);
  };
  add("version", replies.version, false);
  add("devdetails", replies.devdetails, false);
  add("web", replies.web, true);
  if (out.empty()) out = "nothing was asked";
  return out;
}

std::vector<std::string_view> TableKinds() {
  std::vector<std::string_view> out;
  for (const Entry& e : kTable) out.push_back(e.kind);
  return out;
}

}  // namespace rigwatch::probe
