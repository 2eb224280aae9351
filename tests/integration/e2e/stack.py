"""The whole rigwatch stack on loopback for end-to-end tests: fleet
simulator, SMTP sink, the agent, and a real Prometheus scraping the agent
with a configuration derived from the shipped alertmanager/prometheus.yml.
Standard library only; every wait is bounded; stop() ends every process it
started (and only those)."""

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from rigwatch_testlib import (FLEET_SIM, SMTP_SINK, SOURCE_DIR,  # noqa: E402
                              Agent, free_port, http_get, spawn, wait_until)

PYTHON = "/usr/bin/python3"
PROMETHEUS = "/usr/bin/prometheus"
SHIPPED_PROMETHEUS_YML = os.path.join(SOURCE_DIR, "alertmanager",
                                      "prometheus.yml")
HOST_FIXTURE = os.path.join(SOURCE_DIR, "tests", "fixtures", "host")

AGENT_CONFIG = """
http: {{ listen: "127.0.0.1:{{PORT}}", read_timeout: 2s, threads: 4 }}
storage: {{ path: "{{TMP}}/data" }}
scrape: {{ interval: 1s, timeout: 800ms, backoff_base: 200ms, backoff_cap: 2s }}
host:
  enabled: true
  root: "{host_root}"
  filesystems: [/]
  # The shipped service rule's series: a real check (a command).
  services: [ {{ name: e2e-svc, check: {{ command: ["true"] }}, interval: 1s }} ]
miner_files: [ "{targets}" ]
rule_files: [ "{rules}" ]
notify:
  smtp: {{ url: "smtp://127.0.0.1:{smtp_port}", from: "rigwatch@localhost",
          to: ["ops@localhost"], starttls: "off", timeout: 5s }}
  group_wait: 1s
backup: {{ dir: "{{TMP}}/backups", every: 5s, keep: 2 }}
log: {{ level: info }}
"""


def derive_prometheus_config(shipped_text, agent_target, rules_glob,
                             alertmanager_target, interval="1s"):
    """The shipped prometheus.yml with test addresses and a fast interval.
    Text substitution (no YAML library): each replaced line must exist in
    the shipped file, so a change there that this misses fails loudly."""
    subs = [
        ('targets: ["127.0.0.1:9842"]', f'targets: ["{agent_target}"]'),
        ('targets: ["127.0.0.1:9093"]', f'targets: ["{alertmanager_target}"]'),
        ("- ../rules/prometheus/*.yml", f"- {rules_glob}"),
        ("- rigwatch-agent.rules.yml",
         f"- {os.path.join(SOURCE_DIR, 'alertmanager', 'rigwatch-agent.rules.yml')}"),
        ("scrape_interval: 15s", f"scrape_interval: {interval}"),
        ("evaluation_interval: 15s", f"evaluation_interval: {interval}"),
        ("scrape_timeout: 10s", "scrape_timeout: 900ms"),
    ]
    text = shipped_text
    for old, new in subs:
        if old not in text:
            raise AssertionError(f"shipped prometheus.yml has no '{old}'")
        text = text.replace(old, new)
    return text


class Proc:
    """A child process with its output in a file."""

    def __init__(self, name, argv, tmp, cwd=None):
        self.name = name
        self.out_path = os.path.join(tmp, name + ".log")
        self.out = open(self.out_path, "wb")
        self.p = spawn(argv, stdout=self.out,
                       stderr=subprocess.STDOUT, cwd=cwd or tmp)

    def text(self):
        with open(self.out_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def alive(self):
        return self.p.poll() is None

    def stop(self, timeout=10):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.out.close()
        return self.p.returncode


class Stack:
    def __init__(self, miners=20, rules=None, prom_rules=None):
        """`rules`: the agent's rule file (default rules/default.yaml);
        `prom_rules`: Prometheus' rule files glob (default
        rules/prometheus/*.yml)."""
        self.tmp = tempfile.mkdtemp(prefix="rigwatch-e2e-")
        self.miners = miners
        self.rules = rules or os.path.join(SOURCE_DIR, "rules", "default.yaml")
        self.prom_rules = prom_rules or os.path.join(
            SOURCE_DIR, "rules", "prometheus", "*.yml")
        self.procs = []
        self.agent = None
        self.control = None
        self.smtp_port = free_port()
        self.prom_port = free_port()
        self.mail_dir = os.path.join(self.tmp, "mail")

    # --- start -------------------------------------------------------------
    def start(self):
        try:
            self._start_sim()
            self._start_smtp()
            self._start_agent()
            self._start_prometheus()
        except BaseException:
            self.stop()
            raise
        return self

    def _start_sim(self):
        # A random /16 in 127/8 so parallel runs never share an address;
        # port 0 lets every listener pick a free port.
        base = f"127.{random.randint(20, 200)}.0.0"
        sim = Proc("fleet_sim", [
            FLEET_SIM, "--miners", str(self.miners),
            "--mix", "axeos=0.5,cgminer=0.5", "--base-address", base,
            "--http-port", "0", "--cgminer-port", "0",
            "--control", "127.0.0.1:0",
            "--targets-out", os.path.join(self.tmp, "targets.yaml")], self.tmp)
        self.procs.append(sim)

        def ready():
            self._running(sim)
            for line in sim.text().splitlines():
                if line.startswith("fleet_sim ready "):
                    return line
            return None
        line = wait_until(ready, timeout=30, what="fleet_sim ready line")
        self.control = line.split("control=", 1)[1].strip()

    def _start_smtp(self):
        smtp = Proc("smtp_sink", [PYTHON, SMTP_SINK, "--port",
                                  str(self.smtp_port), "--dir", self.mail_dir],
                    self.tmp)
        self.procs.append(smtp)
        wait_until(lambda: self._running(smtp) and
                   "smtp_sink ready" in smtp.text(),
                   timeout=20, what="smtp sink")

    def _start_agent(self):
        text = AGENT_CONFIG.format(
            host_root=HOST_FIXTURE, rules=self.rules, smtp_port=self.smtp_port,
            targets=os.path.join(self.tmp, "targets.yaml"))
        agent_dir = os.path.join(self.tmp, "agent")
        os.makedirs(agent_dir)
        self.agent = Agent(text, tmpdir=agent_dir)
        self.agent.start()

    def _start_prometheus(self):
        with open(SHIPPED_PROMETHEUS_YML) as f:
            shipped = f.read()
        conf = derive_prometheus_config(
            shipped, f"127.0.0.1:{self.agent.port}",
            self.prom_rules, f"127.0.0.1:{free_port()}")  # nothing listens: alerts are dropped
        path = os.path.join(self.tmp, "prometheus.yml")
        with open(path, "w") as f:
            f.write(conf)
        prom = Proc("prometheus", [
            PROMETHEUS, f"--config.file={path}",
            f"--storage.tsdb.path={os.path.join(self.tmp, 'tsdb')}",
            f"--web.listen-address=127.0.0.1:{self.prom_port}",
            "--log.level=warn"], self.tmp)
        self.procs.append(prom)
        wait_until(lambda: self._running(prom) and http_get(
            self.prom_url + "/-/ready", timeout=2)[0] == 200,
            timeout=60, what="prometheus ready")

    @staticmethod
    def _running(proc):
        if not proc.alive():
            raise AssertionError(f"{proc.name} exited:\n{proc.text()}")
        return True

    # --- use ---------------------------------------------------------------
    @property
    def prom_url(self):
        return f"http://127.0.0.1:{self.prom_port}"

    def control_post(self, path, body):
        import urllib.request
        req = urllib.request.Request(
            f"http://{self.control}{path}", data=json.dumps(body).encode(),
            method="POST", headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())

    def sim_miners(self):
        status, _, body = http_get(f"http://{self.control}/miners")
        assert status == 200, body
        return json.loads(body)["miners"]

    def query(self, expr, at=None):
        """Instant query: (status, result list, error text)."""
        q = {"query": expr}
        if at is not None:
            q["time"] = f"{at:.3f}"
        status, _, body = http_get(
            self.prom_url + "/api/v1/query?" + urllib.parse.urlencode(q),
            timeout=30)
        try:
            doc = json.loads(body)
        except ValueError:
            return status, [], body.decode("utf-8", "replace")
        if doc.get("status") != "success":
            return status, [], f"{doc.get('errorType')}: {doc.get('error')}"
        data = doc["data"]
        result = data["result"]
        if data["resultType"] == "scalar":
            result = [result]
        return status, result, ""

    def scrapes_done(self):
        """Number of completed scrapes of the agent in the last minute."""
        _, r, _ = self.query('count_over_time(up{job="rigwatch"}[1m])')
        return int(float(r[0]["value"][1])) if r else 0

    def agent_metric_names(self):
        status, _, body = http_get(self.agent.base + "/metrics")
        assert status == 200
        names = set()
        for line in body.decode().splitlines():
            if line and not line.startswith("#"):
                names.add(line.split("{", 1)[0].split(" ", 1)[0])
        return names

    def logs(self):
        out = []
        for p in self.procs:
            out.append(f"==== {p.name}\n{p.text()[-4000:]}")
        if self.agent:
            out.append(f"==== agent\n{self.agent.logs()[-4000:]}")
        return "\n".join(out)

    # --- stop --------------------------------------------------------------
    def stop(self):
        if self.agent is not None:
            self.agent.stop()
        for p in reversed(self.procs):
            p.stop()

    def cleanup(self):
        self.stop()
        if os.environ.get("RIGWATCH_KEEP_TMP"):
            print(f"kept {self.tmp}", file=sys.stderr)
            return
        shutil.rmtree(self.tmp, ignore_errors=True)


def wait_for_scrapes(stack, n, timeout):
    return wait_until(lambda: stack.scrapes_done() >= n, timeout=timeout,
                      interval=0.5, what=f"{n} Prometheus scrapes of the agent")
