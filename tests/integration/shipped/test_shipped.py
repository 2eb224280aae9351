"""The files rigwatch ships for Prometheus, Alertmanager, Grafana, systemd and
Docker, checked with the real tools where they run here: promtool, amtool, a
real Alertmanager on loopback (routing and inhibition), systemd-analyze, the
rigwatch binary's own check-config. Docker cannot run here: the compose file
and Dockerfile are checked structurally."""

import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from rigwatch_testlib import (RIGWATCH, SOURCE_DIR, free_port,  # noqa: E402
                              http_get, wait_until)

AM_DIR = os.path.join(SOURCE_DIR, "alertmanager")
DEPLOY = os.path.join(SOURCE_DIR, "deploy")
DASH = os.path.join(SOURCE_DIR, "dashboards")
PYTHON = "/usr/bin/python3"


def run(argv, timeout=60, **kw):
    p = subprocess.run(argv, capture_output=True, timeout=timeout, **kw)
    return p.returncode, (p.stdout + p.stderr).decode("utf-8", "replace")


def load_yaml(path):
    import yaml  # python3-yaml
    with open(path) as f:
        return yaml.safe_load(f)


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

    def test_promtool_check_rules(self):
        files = sorted(glob.glob(os.path.join(SOURCE_DIR, "rules", "prometheus",
                                              "*.yml")))
        if not files:
            self.skipTest("no generated rules in rules/prometheus/ yet")
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
        cls.proc = subprocess.Popen(
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


class GrafanaFilesTest(unittest.TestCase):
    def dashboards(self):
        paths = sorted(glob.glob(os.path.join(DASH, "*.json")))
        self.assertEqual([os.path.basename(p) for p in paths],
                         ["agent-health.json", "fleet-overview.json",
                          "host.json", "miner-detail.json"])
        out = {}
        for p in paths:
            with open(p) as f:
                out[os.path.basename(p)] = json.load(f)
        return out

    def test_committed_json_matches_generator(self):
        tmp = tempfile.mkdtemp(prefix="rigwatch-dash-")
        try:
            rc, out = run([PYTHON, os.path.join(DASH, "generate.py"), tmp])
            self.assertEqual(rc, 0, out)
            for name in os.listdir(tmp):
                with open(os.path.join(tmp, name)) as a, \
                        open(os.path.join(DASH, name)) as b:
                    self.assertEqual(a.read(), b.read(),
                                     f"{name}: run dashboards/generate.py")
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def test_dashboard_structure(self):
        uids = set()
        for name, d in self.dashboards().items():
            self.assertNotIn(d["uid"], uids)
            uids.add(d["uid"])
            self.assertLessEqual(len(d["uid"]), 40)
            self.assertEqual(d["schemaVersion"], 39)
            self.assertIsNone(d["id"])
            self.assertEqual(d["__inputs"][0]["name"], "DS_PROMETHEUS")
            self.assertEqual(d["__inputs"][0]["pluginId"], "prometheus")
            variables = {v["name"]: v for v in d["templating"]["list"]}
            self.assertEqual(variables["datasource"]["type"], "datasource")
            self.assertEqual(variables["datasource"]["query"], "prometheus")
            if name in ("fleet-overview.json", "miner-detail.json"):
                self.assertIn("label_values(miner_up, kind)",
                              variables["kind"]["definition"])
            if name == "miner-detail.json":
                self.assertIn("label_values(miner_up",
                              variables["miner"]["definition"])
            ids = set()
            for p in d["panels"] + [c for p in d["panels"]
                                    for c in p.get("panels", [])]:
                self.assertNotIn(p["id"], ids, f"{name}: duplicate panel id")
                ids.add(p["id"])
                g = p["gridPos"]
                self.assertLessEqual(g["x"] + g["w"], 24, f"{name} {p['title']}")
                if p["type"] == "row":
                    continue
                self.assertEqual(p["datasource"]["uid"], "${datasource}")
                self.assertTrue(p["targets"], f"{name} {p['title']}")
                for t in p["targets"]:
                    self.assertEqual(t["datasource"]["uid"], "${datasource}")
                    self.assertTrue(t["expr"].strip())
                    refs = [t["refId"] for t in p["targets"]]
                    self.assertEqual(len(refs), len(set(refs)))

    def test_provisioning(self):
        ds = load_yaml(os.path.join(DASH, "provisioning", "datasources",
                                    "rigwatch-prometheus.yml"))
        self.assertEqual(ds["apiVersion"], 1)
        self.assertEqual(ds["datasources"][0]["type"], "prometheus")
        self.assertTrue(ds["datasources"][0]["isDefault"])
        prov = load_yaml(os.path.join(DASH, "provisioning", "dashboards",
                                      "rigwatch.yml"))
        self.assertEqual(prov["providers"][0]["type"], "file")
        path = prov["providers"][0]["options"]["path"]
        compose = load_yaml(os.path.join(DEPLOY, "docker-compose.yml"))
        mounts = compose["services"]["grafana"]["volumes"]
        self.assertIn(f"../dashboards:{path}:ro", mounts)
        self.assertIn("http://prometheus:9090", ds["datasources"][0]["url"])


class DeployFilesTest(unittest.TestCase):
    def test_compose_file(self):
        compose = load_yaml(os.path.join(DEPLOY, "docker-compose.yml"))
        services = compose["services"]
        self.assertEqual(sorted(services),
                         ["alertmanager", "grafana", "prometheus", "rigwatch"])
        build = services["rigwatch"]["build"]
        self.assertTrue(os.path.isfile(os.path.join(DEPLOY, build["context"],
                                                    build["dockerfile"])))
        self.assertIn("9842:9842", services["rigwatch"]["ports"])
        named = set(compose.get("volumes", {}))
        for svc, spec in services.items():
            for v in spec.get("volumes", []):
                src = v.split(":", 1)[0]
                if src.startswith((".", "/")):
                    if src.startswith("/"):
                        continue  # host paths (/proc, /sys)
                    self.assertTrue(os.path.exists(os.path.join(DEPLOY, src)),
                                    f"{svc}: {v}")
                else:
                    self.assertIn(src, named, f"{svc}: {v}")
        cmd = services["prometheus"]["command"]
        self.assertIn("--config.file=/etc/prometheus/prometheus.yml", cmd)
        self.assertIn("./prometheus-compose.yml:/etc/prometheus/prometheus.yml:ro",
                      services["prometheus"]["volumes"])

    def test_dockerfile(self):
        with open(os.path.join(DEPLOY, "Dockerfile")) as f:
            text = f.read()
        froms = re.findall(r"^FROM (\S+)", text, re.M)
        self.assertEqual(len(froms), 2, froms)
        self.assertTrue(all(f.startswith("debian:bookworm") for f in froms))
        self.assertRegex(text, r"(?m)^USER rigwatch")
        self.assertRegex(text, r"(?m)^VOLUME /var/lib/rigwatch$")
        self.assertRegex(text, r"(?m)^EXPOSE 9842$")
        self.assertIn('CMD ["rigwatch", "health", "--config", '
                      '"/etc/rigwatch/rigwatch.yaml", "--web", "--exit-code"]',
                      text)
        for src in re.findall(r"(?m)^COPY (?!--from)(\S+) ", text):
            if src != ".":
                self.assertTrue(os.path.exists(os.path.join(SOURCE_DIR, src)),
                                src)

    def test_build_stage_installs_the_build_dependencies(self):
        """The image's build stage installs what `make deps` installs, minus
        the test and benchmark libraries (tests are off in the image)."""
        with open(os.path.join(SOURCE_DIR, "Makefile")) as f:
            m = re.search(r"^DEPS := ((?:.*\\\n)*.*)$", f.read(), re.M)
        self.assertIsNotNone(m)
        deps = set(m.group(1).replace("\\", " ").split())
        deps -= {"libgtest-dev", "libgmock-dev", "libbenchmark-dev"}
        with open(os.path.join(DEPLOY, "Dockerfile")) as f:
            build = f.read().split("\nFROM ", 2)[1]
        listed = set(build.split("--no-install-recommends", 1)[1]
                     .split("&&", 1)[0].replace("\\", " ").split())
        self.assertEqual(sorted(deps - listed), [])

    def test_runtime_image_has_every_linked_library(self):
        """Each shared library the built binary needs comes from a package
        the runtime stage installs (same Debian release as this machine)."""
        if not os.path.exists(RIGWATCH):
            self.skipTest(f"{RIGWATCH} not built")
        with open(os.path.join(DEPLOY, "Dockerfile")) as f:
            runtime = f.read().split("\nFROM ", 2)[2]
        wanted = set(re.findall(r"[a-z0-9][a-z0-9.+-]+", runtime.split(
            "--no-install-recommends", 1)[1].split("&&", 1)[0]))
        rc, out = run(["ldd", RIGWATCH])
        self.assertEqual(rc, 0, out)
        base = {"libc6", "libgcc-s1", "libstdc++6"}  # in debian:bookworm-slim
        missing = []
        for lib in re.findall(r"=> (/\S+)", out):
            rc, owner = run(["dpkg", "-S", os.path.realpath(lib)])
            if rc != 0:
                rc, owner = run(["dpkg", "-S", lib])
            self.assertEqual(rc, 0, owner)
            pkg = owner.split(":", 1)[0]
            # Libraries pulled in by the listed packages' own dependencies
            # (libssl3 by libcurl4, ...) are installed with them.
            if pkg not in wanted and pkg not in base and not self._dep_of(
                    pkg, wanted):
                missing.append(f"{lib} ({pkg})")
        self.assertEqual(missing, [])

    _closure = None

    @classmethod
    def _dep_of(cls, pkg, roots):
        """True when pkg is in the dependency closure of roots (apt-cache,
        computed once)."""
        if cls._closure is None:
            rc, out = run(["apt-cache", "depends", "--recurse",
                           "--no-recommends", "--no-suggests",
                           "--no-conflicts", "--no-breaks", "--no-replaces",
                           "--no-enhances"] + sorted(roots), timeout=120)
            cls._closure = set()
            if rc == 0:
                for line in out.splitlines():
                    name = line.strip()
                    for prefix in ("PreDepends: ", "Depends: "):
                        if name.startswith(prefix):
                            name = name[len(prefix):]
                    cls._closure.add(name.split(":", 1)[0].strip("<>"))
        return pkg in cls._closure

    def test_container_config_passes_check_config(self):
        if not os.path.exists(RIGWATCH):
            self.skipTest(f"{RIGWATCH} not built")
        tmp = tempfile.mkdtemp(prefix="rigwatch-dcfg-")
        try:
            with open(os.path.join(DEPLOY, "rigwatch.docker.yaml")) as f:
                text = f.read()
            # The image's absolute paths, moved into a temp dir.
            for old, new in (
                    ("/etc/rigwatch/rules/default.yaml",
                     os.path.join(SOURCE_DIR, "rules", "default.yaml")),
                    ("/etc/rigwatch/miners/", os.path.join(tmp, "miners/")),
                    ("/var/lib/rigwatch/", os.path.join(tmp, "state/"))):
                self.assertIn(old, text)
                text = text.replace(old, new)
            path = os.path.join(tmp, "rigwatch.yaml")
            with open(path, "w") as f:
                f.write(text)
            rc, out = run([RIGWATCH, "check-config", "--config", path])
            self.assertEqual(rc, 0, out)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def test_systemd_unit(self):
        unit = os.path.join(DEPLOY, "rigwatch.service")
        with open(unit) as f:
            text = f.read()
        for line in ("Type=notify", "WatchdogSec=30", "Restart=on-failure",
                     "DynamicUser=yes", "StateDirectory=rigwatch",
                     "ProtectSystem=strict", "NoNewPrivileges=yes",
                     "ProtectHome=yes", "PrivateTmp=yes",
                     "ExecReload=/bin/kill -HUP $MAINPID"):
            self.assertRegex(text, rf"(?m)^{re.escape(line)}$")
        if not shutil.which("systemd-analyze"):
            self.skipTest("systemd-analyze not installed")
        if not os.path.exists(RIGWATCH):
            self.skipTest(f"{RIGWATCH} not built")
        tmp = tempfile.mkdtemp(prefix="rigwatch-unit-")
        try:
            # verify checks that ExecStart exists: point it at the build.
            path = os.path.join(tmp, "rigwatch.service")
            with open(path, "w") as f:
                f.write(text.replace("/usr/local/bin/rigwatch", RIGWATCH))
            rc, out = run(["systemd-analyze", "verify", path])
            self.assertEqual(rc, 0, out)
            self.assertEqual(out.strip(), "", out)
            rc, out = run(["systemd-analyze", "security", "--offline=yes",
                           "--threshold=30", path])
            self.assertEqual(rc, 0, out)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    unittest.main(verbosity=2)
