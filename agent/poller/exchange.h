// Where one Request of a kind goes: the API or the web side of the miner,
// with or without its credentials. One place for the engine's polls and
// restarts, so both address a miner the same way.
#ifndef RIGWATCH_AGENT_POLLER_EXCHANGE_H_
#define RIGWATCH_AGENT_POLLER_EXCHANGE_H_

#include "agent/common/status.h"
#include "agent/poller/transport.h"
#include "agent/poller/types.h"
#include "exporters/exporter.h"

namespace rigwatch {

// The exchange of `req` to `target` (port 0 = the kind's default): protocol
// and port by req.side; for an authenticating request the username and the
// password read from target.password_file, else e.DefaultCredentials().
// Timeouts and the deadline are the caller's. Fails only when the password
// file cannot be read (the message names the file, never its content).
Result<Exchange> ExchangeFor(const Exporter& e, const MinerTarget& target,
                             Request req);

// The exchange of one `kind: auto` probe step (exporters/probe.h): the API
// side as cgminer TCP on target.port (0: probe::kDefaultApiPort), the web
// side as HTTP on target.http_port (0: probe::kDefaultWebPort); no
// credentials.
Exchange ProbeExchangeFor(const MinerTarget& target, Request req);

// The login of `target`: e.DefaultCredentials() with the configured username
// and the password read from target.password_file. Fails as ExchangeFor.
Result<Credentials> LoginFor(const Exporter& e, const MinerTarget& target);

}  // namespace rigwatch

#endif  // RIGWATCH_AGENT_POLLER_EXCHANGE_H_
