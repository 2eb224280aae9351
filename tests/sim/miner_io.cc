// Request handling of the simulated miners: routing, firmware framing and
// fault injection. Runs on the loop thread only.
#include <algorithm>
#include <vector>

#include "tests/sim/braiins_replies.h"
#include "tests/sim/cgminer_replies.h"
#include "tests/sim/fleet_sim.h"
#include "tests/sim/hostile_fields.h"

namespace rigwatch::sim {
namespace {

constexpr size_t kHugeBytes = 10 * 1000 * 1000;

std::shared_ptr<const std::string> MakeHuge(bool with_nul) {
  auto s = std::make_shared<std::string>();
  s->reserve(kHugeBytes + 1);
  *s = "{\"pad\":\"";
  s->append(kHugeBytes - s->size() - 2, 'x');
  *s += "\"}";
  if (with_nul) *s += '\0';
  return s;
}

}  // namespace

std::shared_ptr<const std::string> FleetSim::HugeBody(bool with_nul) {
  // Valid JSON, 10 MB, built once and shared by every connection sending it.
  static const std::shared_ptr<const std::string> kBodies[2] = {MakeHuge(false),
                                                                MakeHuge(true)};
  return kBodies[with_nul ? 1 : 0];
}

std::string FleetSim::Garbage(size_t n) {
  std::string g(n, '\0');
  uint64_t x = Mix64(options_.seed ^ ++garbage_counter_);
  for (size_t i = 0; i < n; ++i) {
    if (i % 8 == 0) x = Mix64(x);
    // Never 0x00: a NUL inside the body would fake cgminer's terminator.
    g[i] = static_cast<char>(1 + ((x >> ((i % 8) * 8)) & 0xff) % 255);
  }
  return g;
}

void FleetSim::Record(Miner& m, std::string what) {
  ++m.requests_total;
  m.log.push_back({ToUnixMillis(clock_->Now()), std::move(what)});
  while (m.log.size() > options_.request_log_size) m.log.pop_front();
}

void FleetSim::Reboot(uint32_t i, Duration downtime) {
  Miner& m = miners_[i];
  const SteadyTime now = clock_->SteadyNow();
  m.model.Reboot(now, downtime);
  ++m.gen;
  m.lux.id.clear();  // a LuxOS session does not survive a reboot
  m.wm = {};         // nor Whatsminer tokens
  Unlisten(i);
  // The device drops every open connection when it power-cycles.
  std::vector<uint64_t> doomed;
  for (const auto& [id, c] : conns_) {
    if (c.miner == static_cast<int>(i)) doomed.push_back(id);
  }
  for (uint64_t id : doomed) Close(id, true);
  model_events_.emplace(m.model.boot_time(),
                        ModelEvent{i, m.gen, ModelEventKind::kRebootEnd});
}

void FleetSim::ScheduleRestart(uint32_t i) {
  Miner& m = miners_[i];
  ++m.restarts;
  if (m.faults.ignore_restart) return;
  model_events_.emplace(clock_->SteadyNow() + options_.restart_delay,
                        ModelEvent{i, m.gen, ModelEventKind::kRebootStart});
}

void FleetSim::ProcessHttp(uint64_t id) {
  while (true) {
    auto it = conns_.find(id);
    if (it == conns_.end()) return;
    Conn& c = it->second;
    if (c.writing || c.silent) return;
    HttpRequest req;
    const ParseState st = ParseHttpRequest(c.in, &req);
    if (st == ParseState::kNeedMore) return;
    if (st == ParseState::kBad) {
      c.out = HttpHead(400, "text/plain", 11, true) + "Bad Request";
      c.close_after = true;
      StartReply(id);
      return;
    }
    if (c.miner < 0) {
      int status = 200;
      std::string body;
      HandleControl(req, &status, &body);
      c.out = HttpHead(status, "application/json", body.size(), true) + body;
      c.close_after = true;
      StartReply(id);
      return;
    }
    const Variant v = views_[static_cast<size_t>(c.miner)].variant;
    if (v == Variant::kVnishS19XP) {
      HandleVnishWeb(id, req);
    } else if (IsBraiins(v)) {
      HandleBraiinsWeb(id, req);
    } else if (v == Variant::kAntminerS19) {
      HandleAntminerWeb(id, req);
    } else {
      HandleAxeos(id, req);
    }
  }
}

void FleetSim::HandleAntminerWeb(uint64_t id, const HttpRequest& req) {
  Conn& c = conns_.at(id);
  const uint32_t i = static_cast<uint32_t>(c.miner);
  Miner& m = miners_[i];
  const std::string path = req.target.substr(0, req.target.find('?'));
  // One nonce per miner and boot: enough for a single-client simulator.
  const std::string nonce =
      "n" + std::to_string(Mix64(options_.seed ^ (i * 977ULL) ^ m.gen));
  int status = 200;
  std::string type = "text/plain";
  std::string body;
  bool challenge = false;
  bool restart = false;
  const DigestVerdict d =
      CheckDigest(req.authorization, req.method, nonce, m.faults.web_password);
  const bool data =
      path == "/cgi-bin/stats.cgi" || path == "/cgi-bin/summary.cgi";
  if (path != "/cgi-bin/reboot.cgi" && path != "/cgi-bin/get_system_info.cgi" &&
      !data) {
    Record(m, req.method + " " + path);
    status = 404;
    body = "404 - Not Found";
  } else if (d != DigestVerdict::kOk) {
    Record(m, req.method + " " + path +
                  (d == DigestVerdict::kMissing ? " (challenge)"
                                                : " (digest wrong)"));
    status = 401;
    type = "text/html";
    body = "<html><head><title>401 - Unauthorized</title></head></html>";
    challenge = true;
  } else if (path == "/cgi-bin/reboot.cgi") {
    Record(m, req.method + " " + path + " (digest ok)");
    restart = true;  // 200 with an empty body (§6.4)
  } else if (data) {
    Record(m, req.method + " " + path + " (digest ok)");
    type = "application/json";
    const std::string page = path.substr(9, path.size() - 9 - 4);
    body = AntminerCgiPage(
        page, m.model.At(clock_->SteadyNow(), clock_->Now(), m.faults));
  } else {
    Record(m, req.method + " " + path + " (digest ok)");
    type = "application/json";
    body = "{\"minertype\":\"Antminer S19j Pro\",\"hostname\":\"" + m.id.name +
           "\",\"system_filesystem_version\":\"Fri Jul 15 10:47:47 CST "
           "2022\"}";
  }
  std::string head = HttpHead(status, type, body.size(), true);
  if (challenge) {
    head.insert(head.size() - 2,
                "WWW-Authenticate: " + DigestChallenge(nonce) + "\r\n");
  }
  c.out = head + body;
  c.close_after = true;
  if (restart) ScheduleRestart(i);
  StartReply(id);
}

void FleetSim::HandleAxeos(uint64_t id, const HttpRequest& req) {
  Conn& c = conns_.at(id);
  const uint32_t i = static_cast<uint32_t>(c.miner);
  Miner& m = miners_[i];
  const Variant v = views_[i].variant;
  const bool nerd = v == Variant::kNerdqaxeV1_0_35;
  Record(m, req.method + " " + req.target);
  if (m.faults.blackhole) {
    c.silent = true;
    c.in.clear();
    return;
  }
  const std::string path = req.target.substr(0, req.target.find('?'));
  int status = 200;
  std::string type = "application/json";
  std::string body;
  bool restart = false;
  if (m.faults.http_status == 401) {
    // AxeOS access control (docs/protocols.md §1.1): text/html "Unauthorized".
    status = 401;
    type = "text/html";
    body = "Unauthorized";
  } else if (m.faults.http_status == 500) {
    status = 500;
    type = "text/html";
    body = "Internal Server Error";
  } else if (path == "/api/system/info" || path == "/api/system/asic") {
    std::optional<std::string> asic;
    if (path == "/api/system/asic") asic = RenderAxeosAsic(v);
    if (req.method != "GET") {
      status = 405;
      type = "text/html";
      body = "Request method for this URI is not handled by server";
    } else if (path == "/api/system/info") {
      body = RenderAxeosInfo(
          v, m.id, m.model.At(clock_->SteadyNow(), clock_->Now(), m.faults));
      ApplyHostileFields(body, m.faults);
    } else if (asic) {
      body = std::move(*asic);
    } else {
      status = 404;
      type = "text/html";
      body = "This URI does not exist";
    }
  } else if (path == "/" && req.method == "GET") {
    // The web UI's page, as far as the kind probe reads it: its title.
    type = "text/html";
    body = std::string("<!doctype html><html><head><title>") +
           (nerd ? "NerdQAxe++" : "AxeOS") +
           "</title></head><body><app-root></app-root></body></html>";
  } else if (path == "/api/system/restart") {
    if (req.method != "POST") {
      status = 405;
      type = "text/html";
      body = "Request method for this URI is not handled by server";
    } else {
      std::optional<RestartReply> r = AxeosRestartReply(v);
      if (!r) {
        // v2.0 calls esp_restart() at once: the client sees a reset.
        ScheduleRestart(i);
        if (!m.faults.ignore_restart) {
          Reboot(i, options_.reboot_downtime);
        } else {
          Close(id, true);
        }
        return;
      }
      type = r->content_type;
      body = r->body;
      restart = true;
    }
  } else {
    status = 404;
    type = "text/html";
    body = "This URI does not exist";
  }

  if (status == 200 && type == "application/json") {
    if (m.faults.truncate) body.resize(body.size() / 2);
    if (m.faults.garbage) body = Garbage(body.size());
  }
  const bool close_conn = nerd || !req.keep_alive;
  if (status == 200 && m.faults.huge && path == "/api/system/info") {
    c.out = HttpHead(200, type, HugeBody(false)->size(), close_conn);
    c.tail = HugeBody(false);
  } else if (m.faults.reset_mid) {
    const std::string head =
        nerd ? HttpChunkedHead(status, type)
             : HttpHead(status, type, body.size(), close_conn);
    const std::string full = nerd ? Chunked(body) : body;
    c.out = head + full.substr(0, full.size() / 2);
    c.rst_after = true;
  } else if (nerd) {
    // NerdQAxe: always chunked (2048-byte chunks) and Connection: close.
    c.out = HttpChunkedHead(status, type) + Chunked(body);
  } else {
    c.out = HttpHead(status, type, body.size(), close_conn) + body;
  }
  c.close_after = close_conn;
  c.trickle_ms = m.faults.trickle_ms;
  if (restart) ScheduleRestart(i);
  StartReply(id);
}

void FleetSim::HandleCgminer(uint64_t id, std::string_view request) {
  Conn& c = conns_.at(id);
  const uint32_t i = static_cast<uint32_t>(c.miner);
  Miner& m = miners_[i];
  const Variant v = views_[i].variant;
  if (m.faults.api_off) {
    // The API is off: the request is reset unanswered, as a closed 4028 is
    // to the poller; HTTP on the same port still answers.
    Record(m, std::string(request.substr(0, 64)) + " (api off)");
    c.out.clear();
    c.rst_after = true;
    c.close_after = true;
    StartReply(id);
    return;
  }
  CgminerReply r;
  if (v == Variant::kWhatsminerM50) {
    FamilyReply f = RenderWhatsminerReply(
        request, m.model.At(clock_->SteadyNow(), clock_->Now(), m.faults),
        m.faults, clock_->SteadyNow(), m.wm);
    r = CgminerReply{std::move(f.body), std::move(f.command), f.reboot};
  } else if (IsVendorVariant(v)) {
    FamilyReply f = RenderFamilyReply(
        v, request, m.model.At(clock_->SteadyNow(), clock_->Now(), m.faults),
        m.faults, clock_->SteadyNow(), m.lux);
    r = CgminerReply{std::move(f.body), std::move(f.command), f.reboot};
  } else {
    r = RenderCgminerReply(
        v, request, m.model.At(clock_->SteadyNow(), clock_->Now(), m.faults),
        m.faults);
  }
  Record(m, r.command);
  if (m.faults.blackhole) {
    c.silent = true;
    return;
  }
  std::string body = std::move(r.body);
  if (m.faults.truncate) body.resize(body.size() / 2);
  if (m.faults.garbage) body = Garbage(body.size());
  if (m.faults.huge) {
    c.tail = HugeBody(true);
  } else {
    // Reply text + one NUL, then close (docs/protocols.md §2.1).
    body += '\0';
    c.out = std::move(body);
  }
  if (m.faults.reset_mid) {
    const size_t total = c.tail ? c.tail->size() : c.out.size();
    if (c.tail) {
      c.out = c.tail->substr(0, total / 2);
      c.tail.reset();
    } else {
      c.out.resize(total / 2);
    }
    c.rst_after = true;
  }
  c.close_after = true;
  c.trickle_ms = m.faults.trickle_ms;
  if (r.restart) ScheduleRestart(i);
  StartReply(id);
}

}  // namespace rigwatch::sim
