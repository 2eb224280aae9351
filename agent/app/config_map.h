// Config sections mapped onto the components' own option structs, in one
// place for the agent and the CLI.
#ifndef RIGWATCH_AGENT_APP_CONFIG_MAP_H_
#define RIGWATCH_AGENT_APP_CONFIG_MAP_H_

#include "agent/actions/smtp.h"
#include "agent/common/status.h"
#include "agent/config/config.h"
#include "agent/poller/types.h"
#include "agent/store/store.h"

namespace rigwatch {

store::StoreOptions ToStoreOptions(const StorageConfig& s, store::OpenMode mode,
                                   bool repair);
PollerOptions ToPollerOptions(const ScrapeConfig& s);
Result<actions::SmtpOptions> ToSmtpOptions(const SmtpConfig& m);
// The base of links in notifications: notify.external_url, or else the
// agent's own http.listen address ("http://127.0.0.1:9842"; a wildcard
// address becomes this machine's host name), without a trailing '/'.
std::string LinkBaseUrl(const NotifyConfig& n, const HttpConfig& h);

}  // namespace rigwatch

#endif  // RIGWATCH_AGENT_APP_CONFIG_MAP_H_
