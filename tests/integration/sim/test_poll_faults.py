"""The real agent polling the real fleet simulator, one fault per miner:
every fault type ends in the right poll result, miner_up 0, and never delays
the healthy miners; temperature ramps, hashrate drops and reboots show in
/metrics; restarts reach the miner; a miner leaving the target file leaves
/metrics."""

import json
import os
import re
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import rigwatch_testlib  # noqa: E402
from rigwatch_testlib import (RIGWATCH, Agent, FleetSim, http_get,  # noqa: E402
                              metric, metric_sum, parse_metrics,
                              promtool_problems, wait_until)

INTERVAL = 2.0

# miner -> (fault, value, expected poll result)
AXEOS_FAULTS = {
    "sim-axeos-0001": ("refuse", None, "refused"),
    "sim-axeos-0002": ("blackhole", None, "timeout"),
    "sim-axeos-0003": ("trickle", 400, "timeout"),
    "sim-axeos-0004": ("reset_mid", None, "refused"),
    "sim-axeos-0005": ("truncate", None, "parse_error"),
    "sim-axeos-0006": ("garbage", None, "parse_error"),
    "sim-axeos-0007": ("huge", None, "parse_error"),
    "sim-axeos-0008": ("http500", None, "http_error"),
    "sim-axeos-0009": ("http401", None, "denied"),
}
CGMINER_FAULTS = {
    "sim-cgminer-0001": ("refuse", None, "refused"),
    "sim-cgminer-0002": ("blackhole", None, "timeout"),
    "sim-cgminer-0003": ("truncate", None, "parse_error"),
    "sim-cgminer-0004": ("garbage", None, "parse_error"),
    "sim-cgminer-0005": ("code45", "all", "denied"),
    "sim-cgminer-0006": ("huge", None, "parse_error"),
}
FAULTY = {**AXEOS_FAULTS, **CGMINER_FAULTS}


class PollFaultsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.agent = Agent("""
http: { listen: "127.0.0.1:{PORT}" }
storage: { path: "{TMP}/data" }
scrape: { interval: 2s, timeout: 1s, breaker_failures: 1000 }
host: { enabled: false }
miner_files: [ "{TMP}/targets.yaml" ]
# Most of this fleet fails on purpose: the guard must not hold the restarts
# of test_restart_command_reaches_the_miner back.
actions: { guard_fraction: 1.0 }
log: { level: info }
""")
        # 12 AxeOS (v2.12) and 12 cgminer 4.11 miners on their own addresses.
        cls.sim = FleetSim(cls.agent.tmp, miners=24,
                           mix="axeos-v2.12=1,cgminer-4.11=1",
                           base_address="127.10.0.0")
        for name, (fault, value, _) in FAULTY.items():
            cls.sim.fault(name, fault, value)
        cls.agent.start()
        # Three intervals: every miner polled at least twice.
        time.sleep(3 * INTERVAL + 1)

    @classmethod
    def tearDownClass(cls):
        cls.agent.cleanup()
        cls.sim.stop()

    def scrape(self):
        status, _, body = http_get(self.agent.base + "/metrics")
        self.assertEqual(status, 200)
        return parse_metrics(body.decode()), body

    def healthy(self):
        return [f"sim-axeos-{i:04d}" for i in range(10, 13)] + \
               [f"sim-cgminer-{i:04d}" for i in range(7, 13)]

    def test_every_fault_is_down_and_classified(self):
        m, body = self.scrape()
        for name in FAULTY:
            self.assertEqual(metric(m, "miner_up", miner=name), 0.0, name)
        for name in self.healthy():
            self.assertEqual(metric(m, "miner_up", miner=name), 1.0, name)
            self.assertGreater(metric(m, "miner_hashrate_hashes_per_second",
                                      miner=name), 1e9, name)
        for kind, faults in (("bitaxe", AXEOS_FAULTS), ("cgminer", CGMINER_FAULTS)):
            for result in {r for (_, _, r) in faults.values()}:
                self.assertGreater(
                    metric_sum(m, "rigwatch_poll_total", kind=kind, result=result),
                    0, f"{kind} {result}")
        self.assertEqual(promtool_problems(body), [])

    def test_faults_never_delay_healthy_miners(self):
        m, _ = self.scrape()
        now = time.time()
        for name in self.healthy():
            last = metric(m, "miner_last_success_timestamp_seconds", miner=name)
            self.assertIsNotNone(last, name)
            # Polled every interval: the last success is at most ~2 intervals old.
            self.assertLess(now - last, 2 * INTERVAL + 1.5, name)
        # Each healthy miner was asked once per interval, not less.
        reqs = self.sim.requests("sim-axeos-0010")
        self.assertGreaterEqual(len(reqs), 3)

    def test_temperature_ramp_and_hashrate_drop(self):
        m0, _ = self.scrape()
        t0 = metric(m0, "miner_temperature_celsius", miner="sim-axeos-0011", sensor="asic")
        h0 = metric(m0, "miner_hashrate_hashes_per_second", miner="sim-cgminer-0008")
        self.sim.fault("sim-axeos-0011", "temp_ramp", 600)  # 10 °C per second
        self.sim.fault("sim-cgminer-0008", "hashrate_drop", 0.5)

        def ramped():
            m, _ = self.scrape()
            t = metric(m, "miner_temperature_celsius", miner="sim-axeos-0011", sensor="asic")
            h = metric(m, "miner_hashrate_hashes_per_second", miner="sim-cgminer-0008")
            return t > t0 + 10 and h < 0.7 * h0
        wait_until(ramped, timeout=4 * INTERVAL + 2, what="ramp and drop in /metrics")

    def test_reboot_is_detected_and_counters_stay_monotonic(self):
        name = "sim-axeos-0012"
        m0, _ = self.scrape()
        shares0 = metric(m0, "miner_shares_accepted_total", miner=name)
        self.assertIsNotNone(shares0)
        self.sim.call("POST", f"/miners/{name}/reboot", {"downtime_ms": 1000})

        def detected():
            m, _ = self.scrape()
            return (metric(m, "miner_restarts_detected_total", miner=name) or 0) >= 1 \
                and metric(m, "miner_up", miner=name) == 1.0
        wait_until(detected, timeout=6 * INTERVAL, what="reboot detected")
        m1, _ = self.scrape()
        self.assertLess(metric(m1, "miner_uptime_seconds", miner=name), 60)
        # The miner's own counter restarted at 0; the exported one did not go down.
        self.assertGreaterEqual(metric(m1, "miner_shares_accepted_total", miner=name),
                                shares0)

    def test_restart_command_reaches_the_miner(self):
        # Through the running agent, which knows these miners from its
        # miner_files.
        for name in ("sim-cgminer-0009", "sim-axeos-0010"):
            p = subprocess.run([RIGWATCH, "miner", "restart", name,
                                "--config", self.agent.config_path],
                               capture_output=True, text=True, timeout=60)
            self.assertEqual(p.returncode, 0, p.stderr)
            wait_until(lambda: any(r["what"] in ("restart", "POST /api/system/restart")
                                   for r in self.sim.requests(name)),
                       what=f"restart request seen by {name}")
        # Code 45: a clear, distinct refusal.
        p = subprocess.run([RIGWATCH, "miner", "restart", "sim-cgminer-0005",
                            "--config", self.agent.config_path],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 1)
        self.assertIn("permission_denied", p.stderr)
        self.assertIn("Code 45", p.stderr)

    def log_events(self, event, miner):
        pat = re.compile(r"\bevent=%s\b.*\bminer=\"?%s\"?(\s|$)"
                         % (re.escape(event), re.escape(miner)))
        return [l for l in self.agent.logs().splitlines() if pat.search(l)]

    def poll_error(self, miner):
        status, _, body = http_get(self.agent.base + "/api/v1/targets/" + miner)
        self.assertEqual(status, 200, body)
        return json.loads(body)["last_poll_error"]

    def test_zy_poll_error_is_shown_and_logged_once_per_change(self):
        name = "sim-cgminer-0004"  # garbage replies since the start
        # Several failed polls have passed (setUpClass waits three intervals).
        self.assertGreaterEqual(len(self.sim.requests(name)), 3)
        err = self.poll_error(name)
        self.assertIsNotNone(err)
        self.assertEqual(err["result"], "parse_error")
        self.assertTrue(err["failing"])
        # The poller's own text: the miner's context and the cause.
        self.assertIn(name, err["error"])
        self.assertRegex(err["error"], r": .+: ")
        self.assertRegex(err["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")
        failed = self.log_events("poll_failed", name)
        self.assertEqual(len(failed), 1, failed)
        self.assertIn("result=parse_error", failed[0])
        # A miner that never failed has none.
        self.assertIsNone(self.poll_error("sim-cgminer-0010"))

        # Recovery: one poll_recovered, the last error kept, not failing.
        self.sim.call("DELETE", f"/miners/{name}/faults/garbage")
        wait_until(lambda: not self.poll_error(name)["failing"],
                   timeout=4 * INTERVAL, what=f"{name} recovered in the API")
        time.sleep(2 * INTERVAL)  # more good polls: still one line each
        self.assertEqual(len(self.log_events("poll_recovered", name)), 1)
        self.assertEqual(len(self.log_events("poll_failed", name)), 1)
        self.assertEqual(self.poll_error(name)["result"], "parse_error")

        # Another class of error is news again, once.
        self.sim.fault(name, "refuse")
        wait_until(lambda: self.poll_error(name)["result"] == "refused",
                   timeout=4 * INTERVAL, what=f"{name} refused in the API")
        time.sleep(2 * INTERVAL)
        failed = self.log_events("poll_failed", name)
        self.assertEqual(len(failed), 2, failed)
        self.assertIn("result=refused", failed[1])

    def test_zz_removed_miner_leaves_metrics(self):
        with open(self.sim.targets) as f:
            lines = f.readlines()
        with open(self.sim.targets, "w") as f:
            f.writelines(l for l in lines if "sim-cgminer-0012" not in l)

        def gone():
            m, _ = self.scrape()
            return metric(m, "miner_up", miner="sim-cgminer-0012") is None
        wait_until(gone, timeout=4 * INTERVAL, what="sim-cgminer-0012 removed")
        m, _ = self.scrape()
        self.assertEqual(metric(m, "miner_up", miner="sim-cgminer-0011"), 1.0)


if __name__ == "__main__":
    rigwatch_testlib.main()
