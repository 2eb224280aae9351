// The agent's HTTP routes: /metrics, health, and the /api/v1 read API, over
// an ApiSource. Each handler is a function of the source and the request,
// so tests call them without a server.
#ifndef RIGWATCH_AGENT_API_ROUTES_H_
#define RIGWATCH_AGENT_API_ROUTES_H_

#include "agent/api/source.h"
#include "agent/http/server.h"

namespace rigwatch::api {

// Registers every route on `http`; `source` must outlive the server.
void RegisterRoutes(HttpServer& http, ApiSource& source);

HttpResponse HandleSeries(ApiSource& source, const HttpRequest& req);
HttpResponse HandleExport(ApiSource& source, const HttpRequest& req);
HttpResponse HandleTarget(ApiSource& source, const HttpRequest& req);
HttpResponse HandleMute(ApiSource& source, const HttpRequest& req);
HttpResponse HandleMinerRestart(ApiSource& source, const HttpRequest& req);
// POST /api/v1/services/NAME/reset (admin only).
HttpResponse HandleServiceReset(ApiSource& source, const HttpRequest& req);

}  // namespace rigwatch::api

#endif  // RIGWATCH_AGENT_API_ROUTES_H_
