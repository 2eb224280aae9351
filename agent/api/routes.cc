#include "agent/api/routes.h"

#include <cmath>
#include <sstream>

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
  std::string body = "{\"error\":";
  json::AppendString(&body, message);
  body += "}";
  return HttpResponse::Json(status, body);
}

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

}  // namespace

void RegisterRoutes(HttpServer& http, ApiSource& src) {
  http.Handle("/metrics", [&src](const HttpRequest&) {
    HttpResponse r;
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.body = src.RenderMetrics();
    r.gzip_ok = true;
    return r;
  });
  http.Handle("/healthz", [](const HttpRequest&) {
    return HttpResponse::Text(200, "ok\n");
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
  http.Handle("/api/v1/mute",
              [&src](const HttpRequest& req) { return HandleMute(src, req); },
              {"POST", "DELETE"});
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
      {"POST"});
  http.Handle("/", [](const HttpRequest& req) {
    if (req.path != "/") return HttpResponse::Text(404, "not found\n");
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
  Result<std::vector<store::SeriesPoints>> series =
      src.Select(*sel, range->first, range->second);
  if (!series.ok()) return JsonError(500, series.status().message());
  return HttpResponse::Json(200, SeriesJson(*series));
}

HttpResponse HandleExport(ApiSource& src, const HttpRequest& req) {
  if (!src.HasStore())
    return HttpResponse::Text(503, "the store is not open\n");
  auto range = TimeRange(req, src.Now(), std::chrono::hours(24));
  if (!range.ok())
    return HttpResponse::Text(400, range.status().message() + "\n");
  RowFilter filter;
  for (const std::string& m : req.Params("miner")) filter.miners.insert(m);
  for (const std::string& m : req.Params("metric")) filter.metrics.insert(m);
  Result<std::unique_ptr<store::RowIterator>> it =
      src.Scan(range->first, range->second);
  if (!it.ok()) return HttpResponse::Text(500, it.status().message() + "\n");
  HttpResponse r;
  r.content_type = "text/csv; charset=utf-8";
  r.headers.emplace_back("Content-Disposition",
                         "attachment; filename=\"rigwatch-export.csv\"");
  auto shared = std::make_shared<std::unique_ptr<store::RowIterator>>(
      std::move(it).value());
  r.stream = [shared, filter](const BodyWriter& write) {
    std::string buf = "timestamp,miner,metric,labels,value\n";
    store::Row row;
    while (true) {
      Result<bool> more = (*shared)->Next(row);
      if (!more.ok()) {
        // Headers are gone; say it in the body where a reader sees it.
        buf += "# export stopped: " + more.status().message() + "\n";
        LogWarn("export_failed").Kv("err", more.status());
        break;
      }
      if (!*more) break;
      if (!filter.Match(row)) continue;
      buf += store::CsvLine(row);
      buf += '\n';
      if (buf.size() >= 64 * 1024) {
        if (!write(buf)) return;  // client went away
        buf.clear();
      }
    }
    if (!buf.empty()) write(buf);
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

HttpResponse HandleServiceReset(ApiSource& src, const HttpRequest& req) {
  // POST /api/v1/services/NAME/reset
  constexpr std::string_view kPrefix = "/api/v1/services/";
  constexpr std::string_view kSuffix = "/reset";
  std::string_view path = req.path;
  if (path.size() <= kPrefix.size() + kSuffix.size() ||
      path.substr(path.size() - kSuffix.size()) != kSuffix) {
    return JsonError(404, "use POST /api/v1/services/NAME/reset");
  }
  std::string name(path.substr(kPrefix.size(),
                               path.size() - kPrefix.size() - kSuffix.size()));
  if (name.find('/') != std::string::npos) {
    return JsonError(404, "use POST /api/v1/services/NAME/reset");
  }
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
  std::optional<std::string> target = req.Param("target");
  if (!target || target->empty()) return JsonError(400, "missing \"target\"");
  if (req.method == "DELETE") {
    Status s = src.Unmute(*target);
    if (!s.ok()) return JsonError(500, s.message());
    LogInfo("unmuted").Kv("target", *target);
    return HttpResponse::Json(200, "{\"status\":\"unmuted\"}");
  }
  Result<std::chrono::milliseconds> d =
      ParseDuration(req.Param("for").value_or("1h"));
  if (!d.ok()) return JsonError(400, d.status().message());
  // Bounded: a mute is for maintenance, and now + a huge `for` would wrap.
  constexpr std::chrono::hours kMaxMute{24 * 365};
  if (d->count() <= 0 || *d > kMaxMute) {
    return JsonError(400, "\"for\" must be more than 0 and at most 365d");
  }
  WallTime until = src.Now() + *d;
  Status s = src.Mute(*target, until);
  if (!s.ok()) return JsonError(500, s.message());
  LogInfo("muted").Kv("target", *target).Kv("for", FormatDuration(*d));
  return HttpResponse::Json(200, "{\"status\":\"muted\",\"until_ms\":" +
                                     std::to_string(ToUnixMillis(until)) + "}");
}

}  // namespace rigwatch::api
