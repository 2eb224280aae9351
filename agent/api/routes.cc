#include "agent/api/routes.h"

#include <charconv>
#include <cmath>
#include <optional>
#include <sstream>

#ifdef RIGWATCH_TEST_HOOKS
#include <cstdlib>
#include <thread>
#endif

#include "agent/api/api_util.h"
#include "agent/common/json.h"
#include "agent/common/log.h"
#include "agent/common/rfc3339.h"
#include "agent/common/units.h"
#include "agent/store/csv.h"
#include "agent/version.h"

namespace rigwatch::api {
namespace {

HttpResponse JsonError(int status, const std::string& message) {
  return HttpResponse::Error(status, message);
}

// A mute needs no body; a JSON one is a few dozen bytes.
constexpr size_t kMaxMutationBody = 4096;

// from/to query parameters with defaults; `to` must follow `from`.
Result<std::pair<WallTime, WallTime>> TimeRange(const HttpRequest& req,
                                                WallTime now,
                                                Duration default_span) {
  WallTime to = now;
  WallTime from = now - default_span;
  if (auto t = req.Param("to")) {
    RW_ASSIGN_OR_RETURN(to, ParseTimeArg(*t, now));
  }
  if (auto f = req.Param("from")) {
    RW_ASSIGN_OR_RETURN(from, ParseTimeArg(*f, now));
  } else if (req.Param("to")) {
    from = to - default_span;
  }
  if (!(from < to)) {
    return InvalidArgumentError("\"from\" must be before \"to\"");
  }
  return std::make_pair(from, to);
}

// NAME in PREFIX NAME SUFFIX, the path of an action on one named target
// ("/api/v1/miners/" NAME "/restart"); nullopt for any other shape.
std::optional<std::string> NameBetween(std::string_view path,
                                       std::string_view prefix,
                                       std::string_view suffix) {
  if (path.size() <= prefix.size() + suffix.size() ||
      !path.starts_with(prefix) || !path.ends_with(suffix)) {
    return std::nullopt;
  }
  return std::string(
      path.substr(prefix.size(), path.size() - prefix.size() - suffix.size()));
}

// A long handler that stops before its end: 503 with the reason. Past the
// deadline the client learns what to narrow; a client that has gone gets
// nothing (the answer is dropped with its connection).
HttpResponse Stopped(const HttpRequest& req, const Status& why, size_t done,
                     size_t total) {
  const bool gone = why.code() == StatusCode::kUnavailable;
  (gone ? LogDebug("http_handler_stopped") : LogWarn("http_handler_stopped"))
      .Kv("path", req.path)
      .Kv("reason", gone ? "client_gone" : "deadline")
      .Kv("done", static_cast<uint64_t>(done))
      .Kv("of", static_cast<uint64_t>(total))
      .Kv("remote", req.remote_addr);
  return JsonError(
      503,
      "stopped after " + std::to_string(done) + " of " + std::to_string(total) +
          " series: " + why.message() +
          (gone ? std::string() : "; narrow the selector or the time range"));
}

#ifdef RIGWATCH_TEST_HOOKS
// Test builds only: RIGWATCH_TEST_SLOW_SERIES_MS=N, read once, makes each
// series read of /api/v1/series wait N ms first, so that a query runs
// measurably long without a large store (the deadline and client-gone
// tests). A Release binary has no such code.
void SlowSeriesForTest() {
  static const int ms = [] {
    const char* v = ::getenv("RIGWATCH_TEST_SLOW_SERIES_MS");
    return v ? std::atoi(v) : 0;
  }();
  if (ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}
#else
void SlowSeriesForTest() {}
#endif

}  // namespace

void RegisterRoutes(HttpServer& http, ApiSource& src) {
  http.Handle("/metrics", [&src](const HttpRequest&) {
    HttpResponse r;
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.body = src.RenderMetrics();
    r.gzip_ok = true;
    return r;
  });
  http.Handle("/healthz", [&src](const HttpRequest&) {
    std::vector<std::string> stuck = src.StuckLoops();
    if (stuck.empty()) return HttpResponse::Text(200, "ok\n");
    std::string body = "stuck:";
    for (const std::string& name : stuck) body += " " + name;
    return HttpResponse::Text(503, body + "\n");
  });
  http.Handle("/readyz", [&src](const HttpRequest&) {
    return src.Ready() ? HttpResponse::Text(200, "ready\n")
                       : HttpResponse::Text(503,
                                            "not ready: first collection still "
                                            "running\n");
  });
  http.Handle("/api/v1/alerts", [&src](const HttpRequest& req) {
    if (!src.HasRules()) return JsonError(503, "rules are not running");
    bool unknown = req.Param("unknown").value_or("") == "true";
    return HttpResponse::Json(200, src.AlertsJson(unknown));
  });
  http.Handle("/api/v1/series", [&src](const HttpRequest& req) {
    return HandleSeries(src, req);
  });
  http.Handle("/api/v1/export", [&src](const HttpRequest& req) {
    return HandleExport(src, req);
  });
  http.Handle("/api/v1/targets", [&src](const HttpRequest& req) {
    return HandleTarget(src, req);
  });
  http.Handle("/api/v1/targets/", [&src](const HttpRequest& req) {
    return HandleTarget(src, req);
  });
  http.Handle(
      "/api/v1/mute",
      [&src](const HttpRequest& req) { return HandleMute(src, req); },
      {"POST", "DELETE"}, Role::kAdmin, kMaxMutationBody);
  http.Handle(
      "/api/v1/miners/",
      [&src](const HttpRequest& req) { return HandleMinerRestart(src, req); },
      {"POST"}, Role::kAdmin, kMaxMutationBody);
  http.Handle("/api/v1/journal", [&src](const HttpRequest& req) {
    size_t limit = 100;
    if (auto l = req.Param("limit")) {
      auto r = std::from_chars(l->data(), l->data() + l->size(), limit);
      if (r.ec != std::errc() || r.ptr != l->data() + l->size() || limit < 1 ||
          limit > 1000) {
        return JsonError(400, "\"limit\" must be a number from 1 to 1000");
      }
    }
    Result<std::string> j = src.MutationsJson(limit);
    if (!j.ok()) return JsonError(503, j.status().message());
    return HttpResponse::Json(200, std::move(*j));
  });
  Authenticator* auth = &http.auth();
  http.Handle("/api/v1/csrf", [auth](const HttpRequest& req) {
    std::string body = "{\"csrf_token\":";
    json::AppendString(&body, auth->CsrfToken(req.principal));
    body += ",\"header\":\"X-CSRF-Token\"}";
    HttpResponse r = HttpResponse::Json(200, body);
    r.headers.emplace_back("Cache-Control", "no-store");
    return r;
  });
  http.Handle("/api/v1/health", [&src](const HttpRequest&) {
    return HttpResponse::Json(200, src.HealthJson());
  });
  http.Handle("/api/v1/services", [&src](const HttpRequest&) {
    return HttpResponse::Json(200, src.ServicesJson());
  });
  // Admin only: it lets rigwatch restart a service again.
  http.Handle(
      "/api/v1/services/",
      [&src](const HttpRequest& req) { return HandleServiceReset(src, req); },
      {"POST"}, Role::kAdmin, kMaxMutationBody);
  http.Handle("/", [](const HttpRequest& req) {
    if (req.path != "/") return JsonError(404, "not found: " + req.path);
    HttpResponse r;
    r.content_type = "text/html; charset=utf-8";
    r.body =
        "<!doctype html><html><head><title>rigwatch</title></head><body>"
        "<h1>rigwatch</h1><ul>"
        "<li><a href=\"/metrics\">/metrics</a> Prometheus metrics</li>"
        "<li><a href=\"/healthz\">/healthz</a> liveness</li>"
        "<li><a href=\"/readyz\">/readyz</a> readiness</li>"
        "<li><a href=\"/api/v1/alerts\">/api/v1/alerts</a> non-green rule "
        "states</li>"
        "<li><a href=\"/api/v1/health\">/api/v1/health</a> overall "
        "status, host usage, services, fleet counts</li>"
        "<li><a href=\"/api/v1/services\">/api/v1/services</a> host "
        "services</li>"
        "<li>/api/v1/series?match=SELECTOR&amp;from=T&amp;to=T stored "
        "series (JSON)</li>"
        "<li>/api/v1/export?from=T&amp;to=T&amp;miner=M&amp;metric=N CSV "
        "export</li>"
        "</ul><p>version " +
        std::string(kVersion) + " (" + kRevision + ")</p></body></html>\n";
    return r;
  });
}

HttpResponse HandleSeries(ApiSource& src, const HttpRequest& req) {
  if (!src.HasStore()) return JsonError(503, "the store is not open");
  std::optional<std::string> match = req.Param("match");
  if (!match) return JsonError(400, "missing \"match\" (a series selector)");
  Result<store::Selector> sel = ParseSelector(*match);
  if (!sel.ok()) return JsonError(400, sel.status().message());
  auto range = TimeRange(req, src.Now(), std::chrono::hours(1));
  if (!range.ok()) return JsonError(400, range.status().message());
  // A selector may match many series; bound what one request can ask for.
  Result<std::vector<store::SeriesKey>> keys = src.MatchSeries(*sel);
  if (!keys.ok()) {
    // A bad regex in the selector is the client's error.
    const bool bad = keys.status().code() == StatusCode::kInvalidArgument;
    return JsonError(bad ? 400 : 500, keys.status().message());
  }
  constexpr size_t kMaxSeries = 1000;
  if (keys->size() > kMaxSeries) {
    return JsonError(400, "selector matches " + std::to_string(keys->size()) +
                              " series; narrow it to at most " +
                              std::to_string(kMaxSeries));
  }
  // Series by series, checking between reads that the answer is still
  // wanted: by the deadline, and by a client that may have gone.
  std::vector<store::SeriesPoints> series;
  series.reserve(keys->size());
  for (store::SeriesKey& key : *keys) {
    if (Status s = req.StillWanted(); !s.ok()) {
      return Stopped(req, s, series.size(), keys->size());
    }
    SlowSeriesForTest();
    Result<std::vector<store::Point>> points =
        src.ReadRange(key, range->first, range->second);
    if (!points.ok()) return JsonError(500, points.status().message());
    series.push_back({std::move(key), std::move(*points)});
  }
  return HttpResponse::Json(200, SeriesJson(series));
}

HttpResponse HandleExport(ApiSource& src, const HttpRequest& req) {
  if (!src.HasStore()) return JsonError(503, "the store is not open");
  auto range = TimeRange(req, src.Now(), std::chrono::hours(24));
  if (!range.ok()) return JsonError(400, range.status().message());
  RowFilter filter;
  for (const std::string& m : req.Params("miner")) filter.miners.insert(m);
  for (const std::string& m : req.Params("metric")) filter.metrics.insert(m);
  Result<std::unique_ptr<store::RowIterator>> it =
      src.Scan(range->first, range->second);
  if (!it.ok()) return JsonError(500, it.status().message());
  HttpResponse r;
  r.content_type = "text/csv; charset=utf-8";
  r.headers.emplace_back("Content-Disposition",
                         "attachment; filename=\"rigwatch-export.csv\"");
  // The producer runs in turns (BodyProducer): each reads at most
  // kRowsPerTurn rows or fills about 64 KiB, so a filter that skips rows for
  // a long time, or a slow reader, holds no worker for long.
  struct Export {
    std::unique_ptr<store::RowIterator> it;
    RowFilter filter;
    bool header_sent = false;
  };
  auto ex = std::make_shared<Export>();
  ex->it = std::move(it).value();
  ex->filter = std::move(filter);
  r.stream = [ex](std::string& out) {
    constexpr size_t kRowsPerTurn = 4096;
    constexpr size_t kBytesPerTurn = 64 * 1024;
    if (!ex->header_sent) {
      out += "timestamp,miner,metric,labels,value\n";
      ex->header_sent = true;
    }
    store::Row row;
    for (size_t scanned = 0;
         scanned < kRowsPerTurn && out.size() < kBytesPerTurn; ++scanned) {
      Result<bool> more = ex->it->Next(row);
      if (!more.ok()) {
        // Headers are gone; say it in the body where a reader sees it.
        out += "# export stopped: " + more.status().message() + "\n";
        LogWarn("export_failed").Kv("err", more.status());
        return false;
      }
      if (!*more) return false;
      if (!ex->filter.Match(row)) continue;
      out += store::CsvLine(row);
      out += '\n';
    }
    return true;
  };
  return r;
}

// /api/v1/targets: every target with a non-green rule state;
// /api/v1/targets/NAME: one target's rule states (all levels) and its
// miner_up over the last 15 minutes. Mails link here.
HttpResponse HandleTarget(ApiSource& src, const HttpRequest& req) {
  if (!src.HasRules()) return JsonError(503, "rules are not running");
  std::string name;
  const std::string prefix = "/api/v1/targets/";
  if (req.path.size() > prefix.size()) name = req.path.substr(prefix.size());
  std::vector<rules::AlertView> alerts = src.Alerts(!name.empty());
  std::string out = "{";
  if (!name.empty()) {
    out += "\"target\":";
    json::AppendString(&out, name);
    out += ",";
  }
  out += "\"states\":[";
  bool first = true;
  for (const rules::AlertView& a : alerts) {
    if (!name.empty() && a.target != name) continue;
    if (!first) out += ',';
    first = false;
    out += "{\"rule\":";
    json::AppendString(&out, a.rule);
    out += ",\"target\":";
    json::AppendString(&out, a.target);
    out += ",\"level\":";
    json::AppendString(&out, rules::LevelName(a.level));
    out += ",\"since\":";
    json::AppendString(&out, FormatRfc3339(a.since));
    out += ",\"threshold\":";
    json::AppendString(&out, a.threshold);
    out += ",\"value\":";
    out +=
        a.value && std::isfinite(*a.value) ? std::to_string(*a.value) : "null";
    out += ",\"muted\":";
    out += a.muted ? "true" : "false";
    out += "}";
  }
  out += "]";
  if (!name.empty()) {
    // The miner's last failed poll, kept across its recovery.
    std::optional<PollError> err = src.LastPollError(name);
    out += ",\"last_poll_error\":";
    if (err) {
      out += "{\"result\":";
      json::AppendString(&out, err->result);
      out += ",\"error\":";
      json::AppendString(&out, err->text);
      out += ",\"time\":";
      json::AppendString(&out, FormatRfc3339(err->time));
      out += ",\"failing\":";
      out += err->failing ? "true" : "false";
      out += "}";
    } else {
      out += "null";
    }
  }
  if (!name.empty() && src.HasStore()) {
    store::Selector sel;
    sel.metric = "miner_up";
    sel.target = name;
    WallTime now = src.Now();
    Result<std::vector<store::SeriesPoints>> up =
        src.Select(sel, now - std::chrono::minutes(15), now);
    if (up.ok()) {
      std::string series = SeriesJson(*up);  // {"series":[...]}
      out += ",\"miner_up\":" + series.substr(10, series.size() - 11);
    }
  }
  out += "}";
  return HttpResponse::Json(200, out);
}

// POST /api/v1/miners/NAME/restart[?force=1]
HttpResponse HandleMinerRestart(ApiSource& src, const HttpRequest& req) {
  const std::optional<std::string> miner =
      NameBetween(req.path, "/api/v1/miners/", "/restart");
  if (!miner) {
    return JsonError(404, "use POST /api/v1/miners/NAME/restart[?force=1]");
  }
  const std::string& name = *miner;
  const std::string f = req.Param("force").value_or("0");
  if (f != "0" && f != "1" && f != "true" && f != "false") {
    return JsonError(400, "\"force\" must be 0 or 1");
  }
  const bool force = f == "1" || f == "true";
  Result<ApiSource::RestartOutcome> r = src.RestartMiner(name, force);
  if (!r.ok()) {
    const int code = r.status().code() == StatusCode::kNotFound      ? 404
                     : r.status().code() == StatusCode::kUnavailable ? 503
                                                                     : 500;
    return JsonError(code, r.status().message());
  }
  std::string body = "{\"miner\":";
  json::AppendString(&body, name);
  body += ",\"result\":";
  json::AppendString(&body, r->result);
  body += std::string(",\"forced\":") + (force ? "true" : "false");
  if (!r->reason.empty()) {
    body += ",\"error\":";
    json::AppendString(&body, r->reason);
  }
  body += "}";
  int status = 200;
  if (r->result == "cooldown" || r->result == "limit" ||
      r->result == "suppressed") {
    status = 409;  // refused by policy: the miner was not contacted
  } else if (r->result == "failed" || r->result == "timeout") {
    status = 502;  // sent, the miner did not accept it
  } else if (r->result != "ok") {
    status = 500;
  }
  return HttpResponse::Json(status, body);
}

HttpResponse HandleServiceReset(ApiSource& src, const HttpRequest& req) {
  // POST /api/v1/services/NAME/reset
  const std::optional<std::string> service =
      NameBetween(req.path, "/api/v1/services/", "/reset");
  if (!service || service->find('/') != std::string::npos) {
    return JsonError(404, "use POST /api/v1/services/NAME/reset");
  }
  const std::string& name = *service;
  Status s = src.ResetService(name);
  if (!s.ok()) {
    return JsonError(s.code() == StatusCode::kNotFound ? 404 : 503,
                     s.message());
  }
  LogInfo("api_service_reset").Kv("service", name);
  std::string body = "{\"service\":";
  json::AppendString(&body, name);
  body += ",\"reset\":true}";
  return HttpResponse::Json(200, body);
}

HttpResponse HandleMute(ApiSource& src, const HttpRequest& req) {
  if (!src.HasRules()) return JsonError(503, "rules are not running");
  if (req.method != "POST" && req.method != "DELETE") {
    return JsonError(405,
                     "use POST ?target=NAME&for=2h, or DELETE ?target=NAME");
  }
  Result<MuteRequest> m = ParseMuteRequest(req);
  if (!m.ok()) return JsonError(400, m.status().message());
  auto failed = [](const Status& s) {
    return JsonError(s.code() == StatusCode::kNotFound ? 404 : 500,
                     s.message());
  };
  if (req.method == "DELETE") {
    Status s = src.Unmute(m->target);
    if (!s.ok()) return failed(s);
    LogInfo("unmuted").Kv("target", m->target).Kv("by", req.principal);
    return HttpResponse::Json(200, "{\"status\":\"unmuted\"}");
  }
  WallTime until = src.Now() + m->duration;
  Status s = src.Mute(m->target, until);
  if (!s.ok()) return failed(s);
  LogInfo("muted")
      .Kv("target", m->target)
      .Kv("for", FormatDuration(m->duration))
      .Kv("by", req.principal);
  return HttpResponse::Json(200, "{\"status\":\"muted\",\"until_ms\":" +
                                     std::to_string(ToUnixMillis(until)) + "}");
}

}  // namespace rigwatch::api
