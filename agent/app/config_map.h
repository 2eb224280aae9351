// Config sections mapped onto the components' own option structs, in one
// place for the agent and the CLI.
#ifndef RIGWATCH_AGENT_APP_CONFIG_MAP_H_
#define RIGWATCH_AGENT_APP_CONFIG_MAP_H_

#include <string>
#include <vector>

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

// SIGHUP reload decisions, kept apart from the agent so they can be tested
// without one (docs/config.md "Reloading").
//
// The keys that only take effect at the next start and differ between the
// running and the next config, by their config name ("http.listen").
std::vector<std::string> RestartOnlyChanges(const Config& running,
                                            const Config& next);
// Copies the running values of those keys into `next`: they keep running
// as they are until the agent restarts.
void KeepRestartOnly(const Config& running, Config* next);
// Why `next` must not replace the running config, or empty when it may:
// the file is empty (caught mid-write), or it lists no miner at all while
// `running_targets` are being watched and has no explicit `miners: []`.
std::string ReloadRefusal(const Config& next, size_t running_targets);

}  // namespace rigwatch

#endif  // RIGWATCH_AGENT_APP_CONFIG_MAP_H_
