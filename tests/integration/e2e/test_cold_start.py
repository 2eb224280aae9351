"""Cold start: a healthy simulated fleet, a fresh agent and a fresh
Prometheus with the generated rules. Nothing may fire, in Prometheus or in
the agent, while the windows fill; then one miner overheats and exactly its
temperature alerts fire, in both.

The rules are rules/default.yaml with every duration (windows and `for`)
divided by SCALE, exported to PromQL by `rigwatch rules export` like the
shipped rules/prometheus/ file: the same expressions, so the quiet phase
covers every window of the shipped set (1h becomes 2m) in CI time. The
shipped files themselves are checked unscaled by promtool's rule unit
tests (tests/integration/shipped/generated_rules_test.yml)."""

import json
import os
import re
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from stack import SOURCE_DIR, Stack, http_get, wait_until  # noqa: E402
import rigwatch_testlib  # noqa: E402  (stack puts tests/integration/lib on the path)

SCALE = 30
HOT_MINER = "sim-axeos-0001"
# Every rule that judges a temperature; nothing else may fire for the hot
# miner.
TEMPERATURE_RULES = {"asic_temperature", "vr_temperature"}
UNITS_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _seconds(n, unit):
    return int(n) * UNITS_S[unit]


def _fmt(seconds):
    return f"{max(1, round(seconds))}s"


def scale_rules(text, scale):
    """rules/default.yaml with durations divided by `scale`: `for:` values,
    window functions' `FN(W)` and range selectors `[W]`; returns (text,
    the longest scaled window, the longest scaled `for`, in seconds)."""
    longest = {"window": 0, "for": 0}

    def win(m):
        s = _seconds(m.group(2), m.group(3)) / scale
        longest["window"] = max(longest["window"], s)
        return f"{m.group(1)}{_fmt(s)}{m.group(4)}"

    def for_(m):
        s = _seconds(m.group(2), m.group(3)) / scale
        longest["for"] = max(longest["for"], s)
        return f"{m.group(1)}{_fmt(s)}"

    out = re.sub(r"(\b(?:avg_over_time|min_over_time|max_over_time|"
                 r"increase|rate)\()(\d+)([smhd])(\))", win, text)
    out = re.sub(r"(\[)(\d+)([smhd])(\])", win, out)
    out = re.sub(r"^(\s*for:\s*)(\d+)([smhd])\s*$", for_, out, flags=re.M)
    return out, longest["window"], longest["for"]


def setUpModule():
    rigwatch_testlib.require_tool("/usr/bin/prometheus")
    rigwatch_testlib.require_module("aiosmtpd")


class ColdStartTest(unittest.TestCase):
    maxDiff = None

    def setUp(self):
        with open(os.path.join(SOURCE_DIR, "rules", "default.yaml")) as f:
            scaled, self.window_s, for_s = scale_rules(f.read(), SCALE)
        self.covered_s = self.window_s + for_s
        self.stack = Stack(miners=6)
        tmp = self.stack.tmp
        rules = os.path.join(tmp, "rules.yaml")
        with open(rules, "w") as f:
            f.write(scaled)
        # The generator, as a user runs it; only the rule files matter.
        cfg = os.path.join(tmp, "export.yaml")
        with open(cfg, "w") as f:
            f.write(f'rule_files: ["{rules}"]\n')
        prom_dir = os.path.join(tmp, "prom-rules")
        os.makedirs(prom_dir)
        out = os.path.join(prom_dir, "rigwatch.rules.yml")
        p = subprocess.run([rigwatch_testlib.RIGWATCH, "rules", "export",
                            "--config", cfg, "--output", out],
                           capture_output=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr.decode())
        self.stack.rules = rules
        self.stack.prom_rules = os.path.join(prom_dir, "*.yml")
        try:
            self.stack.start()
        except BaseException:
            self.stack.cleanup()
            raise
        self.started = time.monotonic()

    def tearDown(self):
        if any(e for _, e in getattr(self._outcome, "errors", []) if e):
            print(self.stack.logs(), file=sys.stderr)
        self.stack.cleanup()

    # --- what fires --------------------------------------------------------
    def prom_alerts(self):
        """[(alertname, miner, state)] of Prometheus' pending and firing
        alerts."""
        status, _, body = http_get(self.stack.prom_url + "/api/v1/alerts")
        self.assertEqual(status, 200, body)
        return sorted((a["labels"]["alertname"], a["labels"].get("miner", ""),
                       a["state"])
                      for a in json.loads(body)["data"]["alerts"])

    def prom_ever(self, seconds):
        """Every (alertname, miner, state) in Prometheus' ALERTS series over
        the last `seconds`: catches what polling could miss."""
        _, r, err = self.stack.query(
            f"max_over_time(ALERTS[{int(seconds) + 5}s])")
        self.assertEqual(err, "")
        return sorted((x["metric"]["alertname"], x["metric"].get("miner", ""),
                       x["metric"]["alertstate"]) for x in r)

    def agent_alerts(self):
        """[(rule, miner, level)] of the agent's yellow and red states."""
        status, _, body = http_get(self.stack.agent.base + "/api/v1/alerts")
        self.assertEqual(status, 200, body)
        return sorted((a["rule"], a["miner"], a["level"])
                      for a in json.loads(body)["alerts"])

    def agent_transitions(self):
        samples = rigwatch_testlib.parse_metrics(
            http_get(self.stack.agent.base + "/metrics")[2].decode())
        return sorted((dict(ls).get("rule"), dict(ls).get("to"), v)
                      for (n, ls), v in samples.items()
                      if n == "rigwatch_rule_transitions_total" and v > 0)

    def test_cold_start_fires_nothing_then_exactly_the_hot_miner(self):
        # Quiet phase: every scaled window and `for` gets covered (and a
        # margin of 30 s) while Prometheus evaluates every second.
        quiet_s = float(os.environ.get("RIGWATCH_COLD_START_SECONDS",
                                       self.covered_s + 30))
        self.assertGreaterEqual(quiet_s, self.covered_s + 10)
        seen_prom, seen_agent = set(), set()
        while time.monotonic() - self.started < quiet_s:
            seen_prom.update(self.prom_alerts())
            seen_agent.update(self.agent_alerts())
            time.sleep(1)
        # The guards do not block forever: every miner's windowed series
        # is now older than its (scaled) windows, in Prometheus too.
        _, r, _ = self.stack.query(
            f"count(miner_hashrate_hashes_per_second offset "
            f"{_fmt(self.window_s)})")
        self.assertEqual([x["value"][1] for x in r], ["6"])
        self.assertEqual(sorted(seen_prom), [])
        self.assertEqual(self.prom_ever(quiet_s), [])
        self.assertEqual(sorted(seen_agent), [])
        self.assertEqual(self.agent_transitions(), [])
        # The host rules judged the (fixture) host: green, so the store's
        # disk figures and the expressions reach the engine.
        samples = rigwatch_testlib.parse_metrics(
            http_get(self.stack.agent.base + "/metrics")[2].decode())
        for rule in ("host_memory_used", "host_filesystem_used",
                     "store_disk_low", "host_temperature"):
            self.assertEqual(rigwatch_testlib.metric(
                samples, "rigwatch_rule_state", rule=rule, miner="host"), 0,
                rule)

        # One miner overheats; it answers a restart without rebooting, so
        # nothing but its temperature changes.
        self.stack.control_post(f"/miners/{HOT_MINER}/faults",
                                {"fault": "ignore_restart"})
        self.stack.control_post(f"/miners/{HOT_MINER}/params",
                                {"temp_c": 95})
        hot_at = time.monotonic()

        def prom_red():
            firing = {(n, m) for n, m, s in self.prom_alerts()
                      if s == "firing"}
            return ("asic_temperature", HOT_MINER) in firing and firing
        firing = wait_until(prom_red, timeout=30, interval=0.5,
                            what="asic_temperature firing in Prometheus")
        agent = wait_until(
            lambda: ("asic_temperature", HOT_MINER, "red") in
            self.agent_alerts() and self.agent_alerts(),
            timeout=30, interval=0.5, what="asic_temperature red in the agent")
        # Exactly its alerts: temperature rules of the hot miner only.
        self.assertEqual({m for _, m in firing}, {HOT_MINER}, firing)
        self.assertLessEqual({n for n, _ in firing}, TEMPERATURE_RULES)
        self.assertEqual({m for _, m, _ in agent}, {HOT_MINER}, agent)
        self.assertLessEqual({r for r, _, _ in agent}, TEMPERATURE_RULES)
        ever = self.prom_ever(time.monotonic() - hot_at)
        self.assertEqual({m for _, m, _ in ever}, {HOT_MINER}, ever)


if __name__ == "__main__":
    rigwatch_testlib.main()
