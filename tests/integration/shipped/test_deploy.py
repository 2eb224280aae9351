"""The files rigwatch ships for Grafana, systemd and Docker: dashboards
against their generator and Grafana's structure, provisioning, the unit
through systemd-analyze, the Dockerfile's package lists against the built
binary and the Makefile, the container config through `rigwatch
check-config`, the compose file's mounts. Docker cannot run here."""

import glob
import json
import os
import re
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from shipped_common import (DASH, DEPLOY, PYTHON, SOURCE_DIR,  # noqa: E402
                            load_yaml, run)
import rigwatch_testlib  # noqa: E402
from rigwatch_testlib import RIGWATCH  # noqa: E402


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
        self.assertTrue(os.path.exists(RIGWATCH), f"{RIGWATCH} not built")
        with open(os.path.join(DEPLOY, "Dockerfile")) as f:
            runtime = f.read().split("\nFROM ", 2)[2]
        wanted = set(re.findall(r"[a-z0-9][a-z0-9.+-]+", runtime.split(
            "--no-install-recommends", 1)[1].split("&&", 1)[0]))
        rc, out = run(["ldd", RIGWATCH])
        self.assertEqual(rc, 0, out)
        base = {"libc6", "libgcc-s1", "libstdc++6"}  # in debian:bookworm-slim
        # A sanitizer test build (CI's) also links the sanitizer runtimes;
        # the image's Release build does not.
        sanitizer_runtimes = {"libasan8", "libubsan1", "liblsan0", "libtsan2"}
        missing = []
        for lib in re.findall(r"=> (/\S+)", out):
            rc, owner = run(["dpkg", "-S", os.path.realpath(lib)])
            if rc != 0:
                rc, owner = run(["dpkg", "-S", lib])
            self.assertEqual(rc, 0, owner)
            pkg = owner.split(":", 1)[0]
            if pkg in sanitizer_runtimes:
                continue
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
        self.assertTrue(os.path.exists(RIGWATCH), f"{RIGWATCH} not built")
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
                     "ProtectHome=read-only", "PrivateTmp=yes",
                     "ExecReload=/bin/kill -HUP $MAINPID"):
            self.assertRegex(text, rf"(?m)^{re.escape(line)}$")
        rigwatch_testlib.require_tool("systemd-analyze")
        self.assertTrue(os.path.exists(RIGWATCH), f"{RIGWATCH} not built")
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
    rigwatch_testlib.main()
