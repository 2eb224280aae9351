"""End to end: fleet simulator -> rigwatch -> a real Prometheus. Every query
of every shipped dashboard must return data, every metric name used by the
shipped rules and dashboards must be exported by the agent, and the faults
scripted into the simulator must be visible in Prometheus."""

import glob
import json
import os
import re
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from promql_names import (all_referenced, dashboard_exprs,  # noqa: E402
                          dashboard_variable_queries)
from stack import (SOURCE_DIR, Stack, http_get, wait_for_scrapes,  # noqa: E402
                   wait_until)
import rigwatch_testlib  # noqa: E402  (stack puts tests/integration/lib on the path)

DASHBOARDS = sorted(glob.glob(os.path.join(SOURCE_DIR, "dashboards", "*.json")))
HOT_MINER = "sim-axeos-0001"     # scripted to overheat
DEAD_MINER = "sim-cgminer-0002"  # scripted to refuse connections
HOT_TEMP_C = 95.0

# Grafana's built-in variables, as Grafana would expand them here.
BUILTINS = {"__rate_interval": "1m", "__interval": "15s", "__range": "5m",
            "__range_s": "300", "__interval_ms": "15000",
            "datasource": "Prometheus"}


def setUpModule():
    rigwatch_testlib.require_tool("/usr/bin/prometheus")
    rigwatch_testlib.require_module("aiosmtpd")


def substitute(expr, values):
    """Expands $name and ${name}; fails on a variable it does not know."""
    def repl(m):
        name = m.group(1) or m.group(2)
        if name not in values:
            raise KeyError(f"unknown dashboard variable ${name} in {expr}")
        return values[name]
    return re.sub(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)", repl, expr)


def dashboard_miner_is_single(path):
    """True when the dashboard's $miner picks one miner (miner detail)."""
    with open(path) as f:
        d = json.load(f)
    for v in d["templating"]["list"]:
        if v["name"] == "miner":
            return not v.get("multi", False)
    return False


def soft_wait(pred, timeout, interval=0.5):
    """Polls pred() until true or the deadline; returns its last value."""
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        try:
            value = pred()
        except Exception:  # noqa: BLE001 - keep polling until the deadline
            value = None
        if value:
            return value
        time.sleep(interval)
    return value


class EndToEndTest(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        cls.stack = Stack(miners=20).start()
        try:
            cls.stack.control_post(f"/miners/{HOT_MINER}/params",
                                   {"temp_c": HOT_TEMP_C})
            cls.stack.control_post(f"/miners/{DEAD_MINER}/faults",
                                   {"fault": "refuse"})
            # Enough scrapes for rate() over 1m, and time for the first
            # poll rounds and a scheduled backup (every 5s) to land.
            wait_for_scrapes(cls.stack, 8, timeout=60)
            cls.miners_seen = soft_wait(
                lambda: len(cls.stack.query("miner_up")[1]) == 20, timeout=20)
            soft_wait(lambda: cls.stack.query(
                "rigwatch_backup_last_success_timestamp_seconds")[1],
                timeout=10)
            # Two more scrapes after everything above appeared, so every
            # rate() has two points of it.
            time.sleep(2.5)  # two scrape intervals of data, not a sync wait
            cls.names = cls.stack.agent_metric_names()
        except BaseException:
            print(cls.stack.logs(), file=sys.stderr)
            cls.stack.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.stack.cleanup()

    def healthy_miner_per_kind(self):
        """{kind: miner name} of miners that are neither hot nor dead."""
        out = {}
        for m in self.stack.sim_miners():
            if m["name"] not in (HOT_MINER, DEAD_MINER):
                out.setdefault(m["kind"], m["name"])
        return out

    def run_query(self, expr):
        status, result, err = self.stack.query(expr)
        if err:
            return f"error ({status}): {err}"
        if not result:
            return "empty result"
        return ""

    def test_every_dashboard_query_returns_data(self):
        self.assertEqual(len(DASHBOARDS), 4, DASHBOARDS)
        per_kind = self.healthy_miner_per_kind()
        self.assertEqual(sorted(per_kind), ["bitaxe", "cgminer"])
        failures = []
        checked = 0
        for path in DASHBOARDS:
            name = os.path.basename(path)
            per_miner = dashboard_miner_is_single(path)
            for title, raw in dashboard_exprs(path):
                checked += 1
                if per_miner and "$miner" in raw:
                    # One miner at a time. Some series exist for one kind
                    # only (input voltage is AxeOS, the 1m/5m averages
                    # CGMiner): one of the two kinds must have data.
                    errs = []
                    for kind, miner in sorted(per_kind.items()):
                        values = dict(BUILTINS, miner=miner, kind=kind,
                                      instance=".*")
                        err = self.run_query(substitute(raw, values))
                        if err:
                            errs.append(f"{kind} {miner}: {err}")
                    if len(errs) == len(per_kind):
                        failures.append(f"{name} / {title}: {raw}\n    " +
                                        "\n    ".join(errs))
                else:
                    # Multi-value variables at All (Grafana's allValue).
                    expr = substitute(raw, dict(BUILTINS, kind=".*",
                                                miner=".*", instance=".*"))
                    err = self.run_query(expr)
                    if err:
                        failures.append(f"{name} / {title}: {expr}\n    {err}")
        self.assertGreater(checked, 60)
        if failures:
            self.fail(f"{len(failures)} of {checked} dashboard queries "
                      "returned nothing:\n" + "\n".join(failures))

    def test_template_variables_have_values(self):
        failures = []
        for path in DASHBOARDS:
            for var, query in dashboard_variable_queries(path):
                m = re.fullmatch(r"label_values\((.*),\s*(\w+)\)", query)
                self.assertIsNotNone(m, f"{path}: ${var}: {query}")
                selector = substitute(m.group(1), {"kind": ".*",
                                                   "instance": ".*"})
                _, result, err = self.stack.query(
                    f"count by ({m.group(2)}) ({selector})")
                if err or not result:
                    failures.append(f"{os.path.basename(path)} ${var}: "
                                    f"{query}: {err or 'no values'}")
        if failures:
            self.fail("\n".join(failures))

    def test_every_referenced_metric_is_exported(self):
        refs = all_referenced(SOURCE_DIR)
        self.assertIn("miner_up", refs)
        missing = {n: files for n, files in refs.items() if n not in self.names}
        if missing:
            self.fail(f"{len(missing)} of {len(refs)} metric names used by "
                      "rules/dashboards are not on the agent's /metrics:\n" +
                      "\n".join(f"  {n}  ({', '.join(f)})"
                                 for n, f in sorted(missing.items())))

    def test_generated_alert_rules_evaluate_cleanly(self):
        files = glob.glob(os.path.join(SOURCE_DIR, "rules", "prometheus",
                                       "*.yml"))
        self.assertTrue(files, "no generated rules in rules/prometheus/")

        def rules():
            status, _, body = http_get(self.stack.prom_url + "/api/v1/rules")
            self.assertEqual(status, 200)
            out = [r for g in json.loads(body)["data"]["groups"]
                   for r in g["rules"]]
            return out if out and all(r["health"] != "unknown"
                                      for r in out) else None
        evaluated = wait_until(rules, timeout=30, what="rules evaluated")
        bad = [f"{r['name']}: {r['health']} {r.get('lastError', '')}"
               for r in evaluated if r["health"] != "ok"]
        self.assertEqual(bad, [])

    def test_scripted_faults_reach_prometheus(self):
        _, up, err = self.stack.query(f'miner_up{{miner="{DEAD_MINER}"}}')
        self.assertEqual(err, "")
        self.assertEqual([float(s["value"][1]) for s in up], [0.0],
                         f"{DEAD_MINER} refuses connections")
        _, temps, err = self.stack.query(
            f'max(miner_temperature_celsius{{miner="{HOT_MINER}"}})')
        self.assertEqual(err, "")
        self.assertTrue(temps, f"no temperature for {HOT_MINER}")
        self.assertGreaterEqual(float(temps[0]["value"][1]), HOT_TEMP_C - 5)
        # Every other miner answered (a single slow poll on a loaded machine
        # may flip one sample, so look at the last minute).
        _, up_all, _ = self.stack.query(
            f'count(max_over_time(miner_up{{miner!="{DEAD_MINER}"}}[1m]) == 1)')
        self.assertEqual([float(s["value"][1]) for s in up_all], [19.0])


if __name__ == "__main__":
    rigwatch_testlib.main()
