// The command line: `rigwatch <command> [flags]`. main.cc hands argv over as
// strings; nothing else reads argv.
//
// Exit codes (docs/cli.md):
//   0  success
//   1  runtime failure (cannot listen, check failed, ...)
//   2  usage error (unknown command or flag)
//   3  invalid configuration
#ifndef RIGWATCH_AGENT_CLI_CLI_H_
#define RIGWATCH_AGENT_CLI_CLI_H_

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "agent/common/status.h"
#include "agent/config/config.h"

namespace rigwatch {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitConfig = 3;

int RunCli(const std::vector<std::string>& args);

// Parsed flags of one subcommand: `--name value`, `--name=value`, `--flag`.
struct Flags {
  std::map<std::string, std::vector<std::string>> values;
  std::vector<std::string> positional;
  bool Has(const std::string& name) const { return values.count(name) > 0; }
  std::string Get(const std::string& name, std::string def = "") const {
    auto it = values.find(name);
    return it == values.end() || it->second.empty() ? def : it->second.back();
  }
  std::vector<std::string> All(const std::string& name) const {
    auto it = values.find(name);
    return it == values.end() ? std::vector<std::string>() : it->second;
  }
};

struct FlagSpec {
  std::string name;
  bool takes_value;
  std::string help;
};

// Parses args[from..] against specs; on error fills *error and returns false.
bool ParseFlags(const std::vector<std::string>& args, size_t from,
                const std::vector<FlagSpec>& specs, Flags* out,
                std::string* error);

// `rigwatch health`: one line per check to *out; returns true when all pass.
bool RunHealthChecks(const std::string& config_path, bool web,
                     std::string* out);

// A minimal HTTP/1.1 exchange with the running agent (loopback CLI calls):
// returns the status code and body. `timeout` bounds each read and write
// (the whole exchange over HTTPS). With `tls` (the agent's http.tls), over
// HTTPS: the agent's own certificate is not verified (this talks to the
// address in the config) and is presented as the client certificate when
// the agent asks for one (docs/security.md "TLS").
struct HttpReply {
  int status = 0;
  std::string body;
};
Result<HttpReply> HttpCall(
    const std::string& host, uint16_t port, const std::string& method,
    const std::string& path, const std::string& extra_headers = "",
    std::chrono::seconds timeout = std::chrono::seconds(3),
    const HttpTlsConfig* tls = nullptr);

// One subcommand of the CLI.
struct Command {
  std::string name;
  std::string summary;
  std::string usage;
  std::vector<FlagSpec> flags;
  std::function<int(const Flags&)> run;
};
// The operational commands (export, backup, db, rules, miner, notify, mute),
// defined in cli_commands.cc.
std::vector<Command> OperationalCommands();

}  // namespace rigwatch

#endif  // RIGWATCH_AGENT_CLI_CLI_H_
