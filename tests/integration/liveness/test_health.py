"""Liveness end to end: the real agent with its rule thread wedged by the
test-only hook (RIGWATCH_TEST_STALL, compiled only into test builds).

- /healthz answers 200 "ok" while every loop beats; 503 naming "rules" once
  the rule thread has not beaten within its bound (five scrape intervals,
  at least 15 s), and never before; 200 again once it is released.
- The systemd watchdog (a real notify socket, WATCHDOG_USEC) is fed while
  healthy, not at all while the rule thread is stuck, and again after.
- rigwatch_loop_stuck / rigwatch_loop_last_beat_timestamp_seconds say the
  same on /metrics.
"""

import os
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from rigwatch_testlib import (Agent, FleetSim, http_get, main,  # noqa: E402
                              metric, parse_metrics, wait_until)

CONFIG = """
http: { listen: "127.0.0.1:{PORT}" }
storage: { path: "{TMP}/data" }
scrape: { interval: 1s, timeout: 500ms }
host: { enabled: false }
miner_files: [ "{TMP}/targets.yaml" ]
log: { level: info }
"""

RULES_BOUND = 15.0  # max(5 x 1 s, 15 s): PeriodicWorker::StallBoundFor


class Watchdog:
    """A notify socket like systemd's: counts WATCHDOG=1 datagrams."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.setblocking(False)

    def drain(self):
        """WATCHDOG=1 datagrams received since the last call."""
        n = 0
        while True:
            try:
                data = self.sock.recv(4096)
            except BlockingIOError:
                return n
            if b"WATCHDOG=1" in data.split(b"\n"):
                n += 1

    def close(self):
        self.sock.close()


def healthz(agent):
    status, _, body = http_get(agent.base + "/healthz", timeout=5)
    return status, body.decode()


def loop_stuck(agent, loop):
    samples = parse_metrics(http_get(agent.base + "/metrics")[2].decode())
    return metric(samples, "rigwatch_loop_stuck", loop=loop)


class HealthTest(unittest.TestCase):
    def test_wedged_rule_thread(self):
        agent = Agent(CONFIG)
        stall = os.path.join(agent.tmp, "stall-rules")
        wd = Watchdog(os.path.join(agent.tmp, "notify.sock"))
        sim = FleetSim(agent.tmp, miners=2, mix="axeos=1",
                       base_address="127.41.0.0")
        env = dict(os.environ, RIGWATCH_TEST_STALL="rules:" + stall,
                   NOTIFY_SOCKET=wd.path, WATCHDOG_USEC="1000000")
        saved = os.environ.copy()
        os.environ.clear()
        os.environ.update(env)  # inherited by the agent only
        try:
            agent.start()
            os.environ.clear()
            os.environ.update(saved)
            self.assertEqual(healthz(agent), (200, "ok\n"))
            samples = parse_metrics(http_get(agent.base + "/metrics")[2].decode())
            beat = metric(samples, "rigwatch_loop_last_beat_timestamp_seconds",
                          loop="rules")
            self.assertIsNotNone(beat, "the rule thread's heartbeat is exported")
            self.assertLess(abs(time.time() - beat), 5.0)
            self.assertEqual(loop_stuck(agent, "rules"), 0.0)
            wait_until(lambda: wd.drain() > 0, timeout=5, what="watchdog fed")
            # Fed every 0.5 s (half of WATCHDOG_USEC) while healthy.
            time.sleep(2.5)
            fed = wd.drain()
            self.assertGreaterEqual(fed, 3, "watchdog fed while healthy")

            open(stall, "w").close()
            t0 = time.monotonic()
            # The next round wedges the rule thread; /healthz turns 503 within
            # the bound (plus a round and a poll), naming it.
            seen = {}

            def unhealthy():
                status, body = healthz(agent)
                if status == 200:
                    seen["last_ok"] = time.monotonic() - t0
                    return False
                seen["status"], seen["body"] = status, body
                return True
            wait_until(unhealthy, timeout=RULES_BOUND + 5, interval=0.2,
                       what="/healthz 503")
            took = time.monotonic() - t0
            self.assertEqual(seen["status"], 503)
            self.assertIn("rules", seen["body"].split(), seen["body"])
            self.assertGreaterEqual(took, RULES_BOUND - 1.5,
                                    "not stuck before its bound passed")
            self.assertEqual(loop_stuck(agent, "rules"), 1.0)
            # The watchdog is not fed while it is stuck. Drained first: the
            # pings sent before the bound passed. None is held back to
            # arrive later: this socket is not read during the stall, its
            # queue (10 datagrams) fills, and a ping that does not fit is
            # dropped rather than sent once the queue has room.
            time.sleep(1.0)
            wd.drain()
            time.sleep(2.5)
            self.assertEqual(wd.drain(), 0,
                             "watchdog fed while rules are stuck")
            self.assertIn("watchdog_withheld", agent.logs())

            os.unlink(stall)
            wait_until(lambda: healthz(agent) == (200, "ok\n"), timeout=5,
                       what="/healthz 200 again")
            self.assertEqual(loop_stuck(agent, "rules"), 0.0)
            wait_until(lambda: wd.drain() > 0, timeout=5, what="watchdog fed again")
            self.assertEqual(agent.stop(), 0)
        finally:
            os.environ.clear()
            os.environ.update(saved)
            agent.cleanup()
            sim.stop()
            wd.close()


if __name__ == "__main__":
    main()
