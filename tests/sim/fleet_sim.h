// FleetSim: N simulated miners served by one epoll event loop on loopback.
// AxeOS miners speak HTTP/1.1 (GET /api/system/info, /api/system/asic,
// POST /api/system/restart); cgminer miners speak the 4028 TCP API (one
// request per connection, single recv, reply + NUL, close). Every miner has
// its own 127.x.y.z address. Faults are injected per miner (sim_types.h) and
// driven at run time through a JSON control API on 127.0.0.1 (see
// docs/simulator.md).
//
// Threading: Create/Start/Stop/accessors are called from one owning thread;
// all miner state lives on the loop thread, which Start spawns. Stop is
// idempotent and also run by the destructor.
#ifndef RIGWATCH_TESTS_SIM_FLEET_SIM_H_
#define RIGWATCH_TESTS_SIM_FLEET_SIM_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "agent/common/clock.h"
#include "agent/common/status.h"
#include "tests/sim/axeos_replies.h"
#include "tests/sim/family_replies.h"
#include "tests/sim/fleet_plan.h"
#include "tests/sim/http_wire.h"
#include "tests/sim/miner_model.h"
#include "tests/sim/sim_types.h"
#include "tests/sim/whatsminer_replies.h"

namespace rigwatch::sim {

// Raises RLIMIT_NOFILE's soft limit to at least `want` (up to the hard
// limit). Process-wide. Fails when the hard limit is lower than `want`.
Status RaiseFdLimit(uint64_t want);

class FleetSim {
 public:
  // A miner as seen from outside. Immutable after Create.
  struct MinerView {
    std::string name;
    Variant variant;
    std::string ip;
    uint16_t port = 0;  // the bound port (resolved when 0 was asked)
    std::string address() const { return ip + ":" + std::to_string(port); }
  };

  // Plans the fleet, raises the fd limit as needed, binds every listener and
  // the control socket. `clock` is not owned and must outlive the FleetSim;
  // it drives the miners' state and reboot timing (a FakeClock makes replies
  // deterministic). Fails on bad options or when an address cannot be bound.
  static Result<std::unique_ptr<FleetSim>> Create(FleetOptions options,
                                                  Clock* clock);
  ~FleetSim();
  FleetSim(const FleetSim&) = delete;
  FleetSim& operator=(const FleetSim&) = delete;

  // Starts the event loop thread. Call once.
  Status Start();
  // Stops the loop, closes every socket. Idempotent.
  void Stop();
  // Wakes the loop so it re-reads the clock (after a FakeClock::Advance).
  void Poke();

  const std::vector<MinerView>& miners() const { return views_; }
  // "127.0.0.1:PORT" of the control API.
  const std::string& control_address() const { return control_address_; }
  // The agent's target list (YAML), one flow-mapping per miner:
  //   - {name: sim-axeos-0001, kind: bitaxe, address: "127.1.0.1:8080"}
  std::string TargetsYaml() const;
  Status WriteTargets(const std::string& path) const;

 private:
  struct RequestRecord {
    int64_t wall_ms;
    std::string what;
  };
  struct Miner {
    MinerIdentity id;
    MinerModel model;
    Faults faults;
    int listen_fd = -1;
    std::deque<RequestRecord> log;
    uint64_t requests_total = 0;
    uint64_t restarts = 0;
    uint64_t gen = 0;  // bumps on each reboot; stale timers compare it
    LuxSession lux;    // luxos-s19: the one session (family_replies.h)
    // whatsminer-m50: the tokens handed out (whatsminer_replies.h)
    WhatsminerTokens wm;
  };
  struct Conn {
    int fd = -1;
    int miner = -1;  // -1: a control API connection
    std::string in;
    std::string out;
    size_t out_off = 0;
    std::shared_ptr<const std::string> tail;  // shared big body (huge fault)
    size_t tail_off = 0;
    bool got_request = false;  // cgminer: the single recv() happened
    bool http = false;    // antminer-s19: this connection speaks the web CGI
    bool silent = false;  // blackhole: read and discard forever
    bool close_after = false;
    bool rst_after = false;
    bool writing = false;  // a reply is in flight
    bool epollout = false;
    int trickle_ms = 0;
  };
  enum class ModelEventKind { kRebootStart, kRebootEnd };
  struct ModelEvent {
    uint32_t miner;
    uint64_t gen;
    ModelEventKind kind;
  };

  // epoll tokens: the kind in the top byte, a miner index or conn id below.
  static constexpr uint64_t kListenerTag = 1ULL << 56;
  static constexpr uint64_t kConnTag = 2ULL << 56;
  static constexpr uint64_t kControlTag = 3ULL << 56;
  static constexpr uint64_t kWakeTag = 4ULL << 56;
  static constexpr uint64_t kTagMask = 0xffULL << 56;

  FleetSim(FleetOptions options, Clock* clock);
  Status Listen(uint32_t miner);
  void Unlisten(uint32_t miner);

  // Event loop (fleet_sim.cc).
  void Loop();
  void OnAccept(uint32_t miner);
  void OnControlAccept();
  void OnReadable(uint64_t conn_id);
  void OnWritable(uint64_t conn_id);
  void RunTimers();
  int NextTimeoutMs();
  void Close(uint64_t conn_id, bool rst);
  // Sends what it can; returns false when the connection was closed.
  bool Flush(uint64_t conn_id);
  void ReplyDone(uint64_t conn_id);
  void SetEpollOut(Conn& c, uint64_t conn_id, bool on);
  void StartReply(uint64_t conn_id);

  // Miners (miner_io.cc).
  void ProcessHttp(uint64_t conn_id);
  void HandleAxeos(uint64_t conn_id, const HttpRequest& req);
  void HandleCgminer(uint64_t conn_id, std::string_view request);
  // The Antminer web CGI with HTTP Digest (docs/protocols.md §6.5, §6.6),
  // served on the miner's one port: a connection opening with an HTTP
  // method is the web side.
  void HandleAntminerWeb(uint64_t conn_id, const HttpRequest& req);
  // Vnish's REST API (docs/protocols.md §11), also on the one port
  // (vnish_web.cc).
  void HandleVnishWeb(uint64_t conn_id, const HttpRequest& req);
  // Braiins OS's REST API (§8.2) on the one port (braiins_web.cc).
  void HandleBraiinsWeb(uint64_t conn_id, const HttpRequest& req);
  void Record(Miner& m, std::string what);
  void Reboot(uint32_t miner, Duration downtime);
  void ScheduleRestart(uint32_t miner);
  std::string Garbage(size_t n);
  static std::shared_ptr<const std::string> HugeBody(bool with_nul);

  // Control API (control_api.cc).
  void HandleControl(const HttpRequest& req, int* status, std::string* body);

  FleetOptions options_;
  Clock* clock_;
  std::vector<MinerView> views_;
  std::vector<Miner> miners_;
  std::unordered_map<std::string, uint32_t> by_name_;
  std::string control_address_;
  int control_fd_ = -1;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  std::unordered_map<uint64_t, Conn> conns_;
  uint64_t next_conn_id_ = 1;
  uint64_t garbage_counter_ = 0;
  // Transport timers (trickle) run on the real monotonic clock; model timers
  // (restart delay, reboot downtime) on clock_.
  std::multimap<std::chrono::steady_clock::time_point, uint64_t> trickles_;
  std::multimap<SteadyTime, ModelEvent> model_events_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  bool started_ = false;
};

}  // namespace rigwatch::sim

#endif  // RIGWATCH_TESTS_SIM_FLEET_SIM_H_
