#include "agent/poller/exchange.h"

#include "agent/common/secret_file.h"
#include "exporters/probe.h"

namespace rigwatch {

Result<Credentials> LoginFor(const Exporter& e, const MinerTarget& target) {
  Credentials c = e.DefaultCredentials();
  if (!target.username.empty()) c.username = target.username;
  if (!target.password_file.empty()) {
    RW_ASSIGN_OR_RETURN(c.password, ReadSecretFile(target.password_file,
                                                   "miner auth.password_file"));
  }
  return c;
}

Result<Exchange> ExchangeFor(const Exporter& e, const MinerTarget& target,
                             Request req) {
  Exchange ex;
  ex.conn_key = target.name;
  ex.host = target.host;
  if (req.side == Request::Side::kWeb) {
    ex.protocol = Protocol::kHttp;
    ex.port = target.http_port != 0 ? target.http_port : e.DefaultHttpPort();
  } else {
    ex.protocol = e.GetProtocol();
    ex.port = target.port != 0 ? target.port : e.DefaultPort();
  }
  if (req.authenticate) {
    RW_ASSIGN_OR_RETURN(Credentials c, LoginFor(e, target));
    if (std::optional<std::string> body = e.LoginPayload(c)) {
      req.payload = std::move(*body);  // a token login, not Digest
    } else {
      ex.username = std::move(c.username);
      ex.password = std::move(c.password);
    }
  }
  ex.request = std::move(req);
  return ex;
}

Exchange ProbeExchangeFor(const MinerTarget& target, Request req) {
  Exchange ex;
  ex.conn_key = target.name;
  ex.host = target.host;
  if (req.side == Request::Side::kWeb) {
    ex.protocol = Protocol::kHttp;
    ex.port = target.http_port != 0 ? target.http_port : probe::kDefaultWebPort;
  } else {
    ex.protocol = Protocol::kCgminerTcp;
    ex.port = target.port != 0 ? target.port : probe::kDefaultApiPort;
  }
  ex.request = std::move(req);
  return ex;
}

}  // namespace rigwatch
