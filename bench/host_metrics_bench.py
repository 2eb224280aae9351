#!/usr/bin/python3
"""Host-only /metrics latency of rigwatch against prometheus-node-exporter on
the same machine, same run, interleaved requests; and the idle agent's RSS.
Prints `name value unit` lines."""

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "integration", "lib"))
from rigwatch_testlib import Agent, free_port, wait_until  # noqa: E402

REQUESTS = int(os.environ.get("BENCH_REQUESTS", "200"))


def fetch_seconds(url):
    t0 = time.perf_counter()
    with urllib.request.urlopen(url, timeout=10) as r:
        r.read()
    return time.perf_counter() - t0


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def main():
    ne_bin = shutil.which("prometheus-node-exporter")
    agent = Agent("""
http: { listen: "127.0.0.1:{PORT}", threads: 4 }
storage: { path: "{TMP}/data" }
scrape: { interval: 10s, timeout: 5s }
host: { enabled: true, root: /, filesystems: [/] }
""").start()
    ne = None
    try:
        rw_url = agent.base + "/metrics"
        time.sleep(2)  # let the agent go idle after its first collection
        print(f"host_agent_idle_rss {rss_mb(agent.proc.pid):.1f} MB")
        if ne_bin is None:
            print("host_node_exporter_missing 1 flag")
            return
        ne_port = free_port()
        ne = subprocess.Popen([ne_bin, f"--web.listen-address=127.0.0.1:{ne_port}"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        ne_url = f"http://127.0.0.1:{ne_port}/metrics"
        wait_until(lambda: fetch_seconds(ne_url) > 0, what="node_exporter")
        for _ in range(10):  # warm both
            fetch_seconds(rw_url)
            fetch_seconds(ne_url)
        rw, nx = [], []
        for _ in range(REQUESTS):
            rw.append(fetch_seconds(rw_url))
            nx.append(fetch_seconds(ne_url))
        rw_ms = statistics.median(rw) * 1000
        ne_ms = statistics.median(nx) * 1000
        print(f"host_metrics_rigwatch_median {rw_ms:.3f} ms")
        print(f"host_metrics_node_exporter_median {ne_ms:.3f} ms")
        print(f"host_metrics_latency_ratio {rw_ms / ne_ms:.3f} rigwatch/node_exporter")
        print(f"host_agent_rss_after_load {rss_mb(agent.proc.pid):.1f} MB")
    finally:
        if ne:
            ne.terminate()
            ne.wait()
        agent.cleanup()


if __name__ == "__main__":
    main()
