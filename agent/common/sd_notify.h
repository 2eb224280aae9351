// The service manager notification protocol (systemd's sd_notify), spoken
// directly: one datagram per notification to the unix socket named by
// $NOTIFY_SOCKET ("/run/systemd/notify", or "@name" for the abstract
// namespace). With Type=notify the unit is "started" only after READY=1, and
// with WatchdogSec= the manager restarts the process when WATCHDOG=1 stops
// arriving.
//
// Usage in the agent:
//   SdNotifyReady().IgnoreError("not fatal: logged by the caller");
//   if (auto iv = WatchdogInterval()) ping every *iv / 2 with
//   SdNotifyWatchdog() SdNotifyStopping() on SIGTERM, SdNotifyReloading() +
//   SdNotifyReady() on SIGHUP.
//
// Thread safety: every function is safe to call from any thread; each call
// opens, uses and closes its own socket and reads the environment only.
// Nothing here changes the environment.
#ifndef RIGWATCH_AGENT_COMMON_SD_NOTIFY_H_
#define RIGWATCH_AGENT_COMMON_SD_NOTIFY_H_

#include <sys/types.h>

#include <optional>
#include <string_view>

#include "agent/common/clock.h"
#include "agent/common/status.h"

namespace rigwatch {

// Sends `state` (newline-separated KEY=VALUE assignments, e.g. "READY=1") to
// the socket named by $NOTIFY_SOCKET. Returns Ok without sending anything when
// $NOTIFY_SOCKET is unset or empty (not started by a service manager).
// Fails with InvalidArgument for an unusable socket name (not absolute, not
// '@', too long) and Unavailable when the datagram cannot be sent.
Status SdNotify(std::string_view state);

// As SdNotify, to an explicit socket name in $NOTIFY_SOCKET syntax. An empty
// `socket_name` is InvalidArgument here (there is no "unset" case). With
// `may_block` false a datagram the manager's queue cannot take at once is
// dropped (Unavailable) instead of waiting for room.
Status SdNotifyTo(std::string_view socket_name, std::string_view state,
                  bool may_block = true);

// "READY=1": startup finished (config loaded, HTTP listening).
Status SdNotifyReady();
// "STOPPING=1": shutdown has begun.
Status SdNotifyStopping();
// "WATCHDOG=1": the main loop is alive. Never waits: when the manager's
// receive queue is full (systemd reads it at once; a test's socket may not)
// the ping is dropped, because one delivered later would vouch for the
// agent at a moment it no longer describes: a loop may be past its bound
// by then.
Status SdNotifyWatchdog();
// "RELOADING=1" with "MONOTONIC_USEC=<CLOCK_MONOTONIC µs>": a reload began;
// send SdNotifyReady() when it is done.
Status SdNotifyReloading();
// "STATUS=<text>": one line shown by `systemctl status`. Newlines in `text`
// are replaced by spaces so the text cannot inject other assignments.
Status SdNotifyStatus(std::string_view text);

// The watchdog timeout the manager expects from this process, from
// $WATCHDOG_USEC and $WATCHDOG_PID. nullopt when the watchdog is not enabled:
// WATCHDOG_USEC unset, empty, zero or not a number, or WATCHDOG_PID set and
// naming another process. Ping at half this interval.
std::optional<Duration> WatchdogInterval();

// The pure part of WatchdogInterval(): `usec` and `pid` are the variables'
// values (nullptr when unset), `self` is this process's pid.
std::optional<Duration> ParseWatchdogInterval(const char* usec, const char* pid,
                                              pid_t self);

}  // namespace rigwatch

#endif  // RIGWATCH_AGENT_COMMON_SD_NOTIFY_H_
