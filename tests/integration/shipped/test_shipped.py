"""The files rigwatch ships for Prometheus and Alertmanager, checked with the
real tools: promtool (config, rules, rule unit tests), amtool (config,
routes, template rendering) and a real Alertmanager on loopback (inhibition).
Grafana, systemd and Docker files: test_deploy.py."""

import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from shipped_common import (AM_DIR, DEPLOY, SOURCE_DIR,  # noqa: E402
                            load_yaml, run)
import rigwatch_testlib  # noqa: E402
from rigwatch_testlib import free_port, http_get, spawn, wait_until  # noqa: E402


def setUpModule():
    for tool in ("promtool", "amtool", "prometheus-alertmanager"):
        rigwatch_testlib.require_tool(tool)


class PromqlNamesTest(unittest.TestCase):
    """The name extraction the end-to-end consistency test relies on."""

    def test_names_in_promql(self):
        sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "e2e"))
        from promql_names import names_in_promql
        cases = {
            'sum(rate(a_total{x="y",m=~"$miner"}[$__rate_interval]))': {"a_total"},
            "histogram_quantile(0.9, sum by (kind, le) (rate(h_bucket[5m])))":
                {"h_bucket"},
            "x / on(miner) group_left(kind) clamp(y{k=\"1\"}, 1, 1) * 1e12":
                {"x", "y"},
            "count(m == 0) or vector(0)": {"m"},
            "time() - t_seconds offset 5m": {"t_seconds"},
            'z{a="sum(b)"} and ignoring(c) w': {"z", "w"},
            "node_memory_MemTotal_bytes - node_memory_MemAvailable_bytes":
                {"node_memory_MemTotal_bytes", "node_memory_MemAvailable_bytes"},
        }
        for expr, want in cases.items():
            self.assertEqual(names_in_promql(expr), want, expr)


class PrometheusFilesTest(unittest.TestCase):
    def test_promtool_check_config(self):
        for path in (os.path.join(AM_DIR, "prometheus.yml"),
                     os.path.join(DEPLOY, "prometheus-compose.yml")):
            rc, out = run(["promtool", "check", "config", path])
            self.assertEqual(rc, 0, out)
            self.assertIn("SUCCESS", out)

    def test_rule_glob_points_at_generated_rules(self):
        # Same layout in a temp dir with a broken rule file: if the glob in
        # prometheus.yml reaches rules/prometheus/, promtool must reject it.
        tmp = tempfile.mkdtemp(prefix="rigwatch-shipped-")
        try:
            os.makedirs(os.path.join(tmp, "alertmanager"))
            os.makedirs(os.path.join(tmp, "rules", "prometheus"))
            for name in ("prometheus.yml", "rigwatch-agent.rules.yml"):
                shutil.copy(os.path.join(AM_DIR, name),
                            os.path.join(tmp, "alertmanager"))
            with open(os.path.join(tmp, "rules", "prometheus", "bad.yml"),
                      "w") as f:
                f.write("groups:\n- name: x\n  rules:\n  - alert: X\n"
                        "    expr: sum(( \n")
            rc, out = run(["promtool", "check", "config",
                           os.path.join(tmp, "alertmanager", "prometheus.yml")])
            self.assertNotEqual(rc, 0, out)
            self.assertIn("bad.yml", out)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def test_agent_rules_unit_tests(self):
        rc, out = run(["promtool", "test", "rules", os.path.join(
            os.path.dirname(os.path.abspath(__file__)),
            "agent_rules_test.yml")], timeout=120)
        self.assertEqual(rc, 0, out)
        self.assertIn("SUCCESS", out)

    def test_generated_rules_unit_tests(self):
        # Cold start: windowed generated rules wait for their window.
        rc, out = run(["promtool", "test", "rules", os.path.join(
            os.path.dirname(os.path.abspath(__file__)),
            "generated_rules_test.yml")], timeout=120)
        self.assertEqual(rc, 0, out)
        self.assertIn("SUCCESS", out)

    def test_promtool_check_rules(self):
        files = sorted(glob.glob(os.path.join(SOURCE_DIR, "rules", "prometheus",
                                              "*.yml")))
        self.assertTrue(files, "no generated rules in rules/prometheus/")
        rc, out = run(["promtool", "check", "rules"] + files)
        self.assertEqual(rc, 0, out)


class AlertmanagerFilesTest(unittest.TestCase):
    CONFIG = os.path.join(AM_DIR, "alertmanager.yml")

    def test_amtool_check_config(self):
        rc, out = run(["amtool", "check-config", self.CONFIG])
        self.assertEqual(rc, 0, out)
        self.assertIn("SUCCESS", out)
        self.assertIn("1 templates", out)

    def test_routes_group_by_alertname_and_miner(self):
        rc, out = run(["amtool", "config", "routes", "test",
                       f"--config.file={self.CONFIG}", "--verify.receivers=email",
                       "alertname=asic_temperature", "miner=rig-1",
                       "severity=critical"])
        self.assertEqual(rc, 0, out)
        cfg = load_yaml(self.CONFIG)
        self.assertEqual(cfg["route"]["group_by"], ["alertname", "miner"])

    def test_mail_template_renders_alerts(self):
        data = {
            "receiver": "email", "status": "firing",
            "alerts": [
                {"status": "firing",
                 "labels": {"alertname": "asic_temperature", "miner": "rig-7",
                            "severity": "critical", "sensor": "asic"},
                 "annotations": {"summary": "asic_temperature red on rig-7",
                                 "description": "rig-7 ASIC asic at 77 °C"},
                 "startsAt": "2026-11-22T05:00:00Z",
                 "endsAt": "0001-01-01T00:00:00Z",
                 "generatorURL": "http://prom/graph?g0.expr=x"},
                {"status": "resolved",
                 "labels": {"alertname": "asic_temperature", "miner": "rig-7",
                            "severity": "warning"},
                 "annotations": {"summary": "asic_temperature yellow"},
                 "startsAt": "2026-11-22T04:00:00Z",
                 "endsAt": "2026-11-22T04:30:00Z",
                 "generatorURL": "http://prom/graph?g0.expr=y"}],
            "groupLabels": {"alertname": "asic_temperature", "miner": "rig-7"},
            "commonLabels": {"alertname": "asic_temperature", "miner": "rig-7"},
            "commonAnnotations": {}, "externalURL": "http://am:9093"}
        with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
            json.dump(data, f)
            f.flush()
            glob_arg = "--template.glob=" + os.path.join(AM_DIR, "templates",
                                                         "*.tmpl")
            rc, subject = run(["amtool", "template", "render", glob_arg,
                               f"--template.data={f.name}", "--template.text="
                               '{{ template "rigwatch.mail.subject" . }}'])
            self.assertEqual(rc, 0, subject)
            self.assertEqual(subject.strip(),
                             "[FIRING:1] asic_temperature on rig-7")
            rc, text = run(["amtool", "template", "render", glob_arg,
                            f"--template.data={f.name}", "--template.text="
                            '{{ template "rigwatch.mail.text" . }}'])
            self.assertEqual(rc, 0, text)
            for want in ("FIRING (1)", "RESOLVED (1)", "miner rig-7",
                         "(critical)", "rig-7 ASIC asic at 77 °C",
                         "since 2026-11-22 05:00:00 UTC",
                         "resolved 2026-11-22 04:30:00 UTC",
                         "Alertmanager: http://am:9093"):
                self.assertIn(want, text)
            rc, html = run(["amtool", "template", "render", glob_arg,
                            f"--template.data={f.name}", "--template.text="
                            '{{ template "rigwatch.mail.html" . }}'])
            self.assertEqual(rc, 0, html)
            self.assertIn('<a href="http://prom/graph?g0.expr=x">'
                          "asic_temperature</a>", html)


class AlertmanagerInhibitionTest(unittest.TestCase):
    """The shipped alertmanager.yml in a real Alertmanager on loopback."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="rigwatch-am-")
        cls.port = free_port()
        cls.log = open(os.path.join(cls.tmp, "am.log"), "wb")
        cls.proc = spawn(
            ["prometheus-alertmanager",
             f"--config.file={os.path.join(AM_DIR, 'alertmanager.yml')}",
             f"--storage.path={cls.tmp}",
             f"--web.listen-address=127.0.0.1:{cls.port}",
             "--cluster.listen-address=", "--log.level=warn"],
            stdout=cls.log, stderr=subprocess.STDOUT)
        cls.base = f"http://127.0.0.1:{cls.port}"
        try:
            wait_until(lambda: cls.proc.poll() is None and
                       http_get(cls.base + "/-/ready", timeout=2)[0] == 200,
                       timeout=30, what="alertmanager ready")
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.proc.poll() is None:
            cls.proc.terminate()
            try:
                cls.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                cls.proc.kill()
                cls.proc.wait()
        cls.log.close()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def post(self, alerts):
        req = urllib.request.Request(
            self.base + "/api/v2/alerts", data=json.dumps(alerts).encode(),
            method="POST", headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            self.assertEqual(r.status, 200)

    def inhibited(self, **labels):
        """inhibitedBy of the one alert with these labels, once known."""
        def get():
            status, _, body = http_get(self.base + "/api/v2/alerts")
            self.assertEqual(status, 200)
            for a in json.loads(body):
                if all(a["labels"].get(k) == v for k, v in labels.items()):
                    return a
            return None
        return wait_until(get, timeout=10, what=f"alert {labels}")

    def test_critical_inhibits_warning_of_same_rule_and_miner(self):
        self.post([
            {"labels": {"alertname": "chip_temperature", "miner": "s9-1",
                        "severity": "critical", "instance": "a:9842"}},
            {"labels": {"alertname": "chip_temperature", "miner": "s9-1",
                        "severity": "warning", "instance": "a:9842"}},
            {"labels": {"alertname": "chip_temperature", "miner": "s9-2",
                        "severity": "warning", "instance": "a:9842"}}])
        muted = wait_until(lambda: self.inhibited(
            miner="s9-1", severity="warning")["status"]["inhibitedBy"],
            timeout=10, what="warning inhibited by critical")
        self.assertEqual(len(muted), 1)
        self.assertEqual(self.inhibited(miner="s9-2", severity="warning")
                         ["status"]["inhibitedBy"], [])
        self.assertEqual(self.inhibited(miner="s9-1", severity="critical")
                         ["status"]["inhibitedBy"], [])

    def test_fleet_unreachable_inhibits_miner_alerts_of_that_agent(self):
        self.post([
            {"labels": {"alertname": "RigwatchFleetUnreachable",
                        "severity": "critical", "instance": "b:9842"}},
            {"labels": {"alertname": "miner_down", "miner": "bx-1",
                        "severity": "critical", "instance": "b:9842"}},
            {"labels": {"alertname": "miner_down", "miner": "bx-2",
                        "severity": "critical", "instance": "c:9842"}}])
        wait_until(lambda: self.inhibited(miner="bx-1")["status"]
                   ["inhibitedBy"], timeout=10, what="miner alert inhibited")
        self.assertEqual(self.inhibited(miner="bx-2")["status"]["inhibitedBy"],
                         [], "another agent's miners stay loud")
        self.assertEqual(self.inhibited(alertname="RigwatchFleetUnreachable")
                         ["status"]["inhibitedBy"], [])

    def test_fleet_alert_pushed_by_the_agent_inhibits_miner_alerts(self):
        # The agent's own push (notify.alertmanager) names the alert
        # rigwatch_fleet_unreachable and labels it miner="fleet".
        self.post([
            {"labels": {"alertname": "rigwatch_fleet_unreachable",
                        "miner": "fleet", "severity": "critical"}},
            {"labels": {"alertname": "hashrate_low", "miner": "ax-9",
                        "severity": "critical"}}])
        wait_until(lambda: self.inhibited(miner="ax-9")["status"]
                   ["inhibitedBy"], timeout=10, what="miner alert inhibited")
        self.assertEqual(self.inhibited(miner="fleet")["status"]
                         ["inhibitedBy"], [], "the fleet alert stays loud")


if __name__ == "__main__":
    rigwatch_testlib.main()
