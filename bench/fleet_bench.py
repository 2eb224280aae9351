#!/usr/bin/python3
"""The real agent polling the real fleet simulator at fleet scale.

10,000 miners (half AxeOS, half CGMiner), 10% black-holed, scrape.timeout 5s
and scrape.interval 6s, with the store and the default rules on (what a user
runs). A full poll cycle completes within 6 s when every answering miner is
polled successfully once in every 6 s round; black-holed miners time out
after 5 s and then back off, as the circuit breaker intends. Prints, as
`name value unit` lines: polls per round, the fraction of answering miners
polled successfully each round, agent CPU seconds per 1,000 polls, agent RSS
(largest seen, sampled every second, and at the end) and /metrics fetch time.
Env: FLEET_MINERS (default 10000), FLEET_ROUNDS (default 4),
FLEET_RULES (default 1; 0 runs without rules)."""

import os
import sys
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "integration", "lib"))
from rigwatch_testlib import Agent, FleetSim, http_get, metric_sum, parse_metrics, wait_until  # noqa: E402

MINERS = int(os.environ.get("FLEET_MINERS", "10000"))
ROUNDS = int(os.environ.get("FLEET_ROUNDS", "4"))
RULES = os.environ.get("FLEET_RULES", "1") != "0"
SOURCE = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
INTERVAL = 6.0
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def polls(agent):
    _, _, body = http_get(agent.base + "/metrics", timeout=30)
    m = parse_metrics(body.decode())
    return metric_sum(m, "rigwatch_poll_total"), m


def main():
    rules = f'rule_files: [ "{SOURCE}/rules/default.yaml" ]' if RULES else ""
    agent = Agent("""
http: { listen: "127.0.0.1:{PORT}", threads: 4 }
storage: { path: "{TMP}/data" }
scrape: { interval: 6s, timeout: 5s }
host: { enabled: false }
miner_files: [ "{TMP}/targets.yaml" ]
log: { level: warn }
""" + rules)
    sim = FleetSim(agent.tmp, miners=MINERS, mix="axeos=0.5,cgminer=0.5",
                   base_address="127.20.0.0", faults="blackhole=0.1")
    try:
        agent.start()
        # Warm-up: one full round after start.
        wait_until(lambda: polls(agent)[0] >= MINERS, timeout=60, interval=1,
                   what="first full round")
        time.sleep(INTERVAL)
        # Each snapshot's time is taken when it is requested, not after the
        # seconds Python spends parsing 20 MB of exposition text.
        t0 = time.monotonic()
        c0 = cpu_seconds(agent.proc.pid)
        p0, m0 = polls(agent)
        ok0 = metric_sum(m0, "rigwatch_poll_total", result="ok")
        rss_max = 0.0
        while time.monotonic() - t0 < ROUNDS * INTERVAL:
            time.sleep(1)
            rss_max = max(rss_max, rss_mb(agent.proc.pid))
        t1 = time.monotonic()
        c1 = cpu_seconds(agent.proc.pid)
        p1, m = polls(agent)
        elapsed = t1 - t0
        rounds = elapsed / INTERVAL
        ok1 = metric_sum(m, "rigwatch_poll_total", result="ok")
        up = metric_sum(m, "miner_up")
        answering = MINERS - MINERS // 10
        print(f"fleet_miners {MINERS} count")
        print(f"fleet_rules {1 if RULES else 0} bool")
        print(f"fleet_miners_up {up:.0f} count (of {answering} answering)")
        print(f"fleet_polls_per_round {(p1 - p0) / rounds:.0f} polls")
        print(f"fleet_ok_polls_per_round {(ok1 - ok0) / rounds:.0f} polls")
        print(f"fleet_round_coverage {(ok1 - ok0) / rounds / answering:.3f} "
              f"fraction (1.0 = every answering miner polled ok every {INTERVAL:.0f} s)")
        print(f"fleet_agent_cpu_per_1000_polls {(c1 - c0) / (p1 - p0) * 1000:.3f} core-seconds")
        print(f"fleet_agent_cpu_cores {(c1 - c0) / elapsed:.2f} cores")
        print(f"fleet_agent_rss_max {max(rss_max, rss_mb(agent.proc.pid)):.1f} MB")
        print(f"fleet_agent_rss {rss_mb(agent.proc.pid):.1f} MB")
        t = time.monotonic()
        n = len(urllib.request.urlopen(agent.base + "/metrics", timeout=30).read())
        print(f"fleet_metrics_fetch {(time.monotonic() - t) * 1000:.1f} ms ({n} bytes)")
    finally:
        agent.cleanup()
        sim.stop()


if __name__ == "__main__":
    main()
