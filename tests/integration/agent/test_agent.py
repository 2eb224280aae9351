"""The real rigwatch binary on loopback: /metrics through promtool, health
endpoints, gzip, basic auth, slow clients, signals, bad configs."""

import gzip
import os
import signal
import socket
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import rigwatch_testlib  # noqa: E402
from rigwatch_testlib import (RIGWATCH, SOURCE_DIR, Agent, basic_auth,  # noqa: E402
                              http_get, metric, parse_metrics, promtool_problems,
                              wait_until)

BASE_CONFIG = """
http: {{ listen: "127.0.0.1:{{PORT}}", read_timeout: 2s, threads: 4 {auth} }}
storage: {{ path: "{{TMP}}/data" }}
scrape: {{ interval: 1s, timeout: 500ms }}
host: {{ enabled: true, root: "{root}", filesystems: [/] }}
log: {{ level: info }}
"""

FIXTURE_ROOT = os.path.join(SOURCE_DIR, "tests", "fixtures", "host")
# bcrypt of "s3cret" (cost 4)
HASH = "$2b$04$abcdefghijklmnopqrstuuLZYjhNQAOdpbzt4WxWlUHjv1wsyH5DG"


def config(auth="", root="/"):
    return BASE_CONFIG.format(auth=auth, root=root)


class AgentTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.agent = Agent(config()).start()

    @classmethod
    def tearDownClass(cls):
        cls.agent.cleanup()

    def test_metrics_pass_promtool(self):
        status, headers, body = http_get(self.agent.base + "/metrics")
        self.assertEqual(status, 200)
        self.assertEqual(headers["Content-Type"],
                         "text/plain; version=0.0.4; charset=utf-8")
        text = body.decode()
        for name in ("node_cpu_seconds_total", "node_load1",
                     "node_memory_MemTotal_bytes", "node_filesystem_avail_bytes",
                     "node_network_receive_bytes_total", "node_boot_time_seconds",
                     "node_time_seconds", "node_uname_info",
                     "rigwatch_build_info", "rigwatch_start_time_seconds",
                     "rigwatch_collector_success", "rigwatch_collector_duration_seconds"):
            self.assertIn("\n" + name, "\n" + text, name)
        # The agent's own resident memory in bytes, as /proc/PID/status has
        # it. The metric is from the last collection and RSS moves (fast
        # under ThreadSanitizer), so only the scale is compared, between
        # an eighth of the current RSS and twice the peak: pages, KiB or
        # the virtual size (terabytes under the sanitizers) would be off by
        # far more.
        rss = metric(parse_metrics(text), "process_resident_memory_bytes")
        with open(f"/proc/{self.agent.proc.pid}/status") as f:
            status = {l.split(":")[0]: int(l.split()[1]) * 1024
                      for l in f if l.startswith(("VmRSS:", "VmHWM:"))}
        self.assertTrue(status["VmRSS"] / 8 < rss < status["VmHWM"] * 2,
                        (rss, status))
        self.assertEqual(promtool_problems(body), [])

    def test_health_endpoints_and_index(self):
        self.assertEqual(http_get(self.agent.base + "/healthz")[0], 200)
        self.assertEqual(http_get(self.agent.base + "/readyz")[0], 200)
        status, _, body = http_get(self.agent.base + "/")
        self.assertEqual(status, 200)
        self.assertIn(b'href="/metrics"', body)
        self.assertEqual(http_get(self.agent.base + "/nope")[0], 404)

    def test_gzip_on_request(self):
        status, headers, body = http_get(self.agent.base + "/metrics",
                                         {"Accept-Encoding": "gzip"})
        self.assertEqual(status, 200)
        self.assertEqual(headers.get("Content-Encoding"), "gzip")
        self.assertIn(b"node_load1", gzip.decompress(body))

    def test_slow_clients_do_not_block_metrics(self):
        stalled = []
        for _ in range(2):
            s = socket.create_connection(("127.0.0.1", self.agent.port))
            s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")  # half a request
            stalled.append(s)
        try:
            t0 = time.monotonic()
            status, _, _ = http_get(self.agent.base + "/metrics", timeout=5)
            self.assertEqual(status, 200)
            self.assertLess(time.monotonic() - t0, 1.0)
        finally:
            for s in stalled:
                s.close()

    def test_health_command(self):
        p = subprocess.run([RIGWATCH, "health", "--config", self.agent.config_path,
                            "--web", "--exit-code"], capture_output=True, text=True,
                           timeout=30)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        lines = p.stdout.strip().splitlines()
        self.assertEqual([l.split(":")[0].split()[-1] for l in lines],
                         ["config", "data_dir", "disk_free", "web"])
        self.assertTrue(all(l.startswith("ok") for l in lines), p.stdout)


class AgentLifecycleTest(unittest.TestCase):
    def test_basic_auth(self):
        a = Agent(config(auth=f', basic_auth_users: {{ prom: "{HASH}" }}')).start(
            wait_ready=False)
        try:
            wait_until(lambda: http_get(a.base + "/healthz")[0] == 401,
                       what="401 without credentials")
            self.assertEqual(http_get(a.base + "/metrics",
                                      basic_auth("prom", "wrong"))[0], 401)
            self.assertEqual(http_get(a.base + "/metrics",
                                      basic_auth("prom", "s3cret"))[0], 200)
            # health --web treats 401 as alive.
            p = subprocess.run([RIGWATCH, "health", "--config", a.config_path,
                                "--web", "--exit-code"], capture_output=True,
                               text=True, timeout=30)
            self.assertEqual(p.returncode, 0, p.stdout)
        finally:
            a.cleanup()

    def test_sigterm_exits_zero_within_5s(self):
        a = Agent(config()).start()
        try:
            t0 = time.monotonic()
            a.signal(signal.SIGTERM)
            rc = a.proc.wait(timeout=10)
            took = time.monotonic() - t0
            self.assertEqual(rc, 0, a.logs())
            self.assertLess(took, 5.0)
            self.assertIn("event=stopped", a.logs())
        finally:
            a.cleanup()

    def test_sighup_with_bad_config_keeps_old_one(self):
        a = Agent(config()).start()
        try:
            a.write_config(config() + "scrape: { interval: 1s, timeout: 2s }\nbogus: 1\n")
            a.signal(signal.SIGHUP)
            wait_until(lambda: "config_reload_kept_old" in a.logs(),
                       what="reload rejection in the log")
            logs = a.logs()
            self.assertIn("config_reload_rejected", logs)
            self.assertIn("rigwatch.yaml:8:1", logs)  # duplicate key scrape
            self.assertIn("unknown key", logs)
            self.assertEqual(http_get(a.base + "/metrics")[0], 200)
            # A good config is then accepted.
            a.write_config(config().replace("level: info", "level: debug"))
            a.signal(signal.SIGHUP)
            wait_until(lambda: "event=config_reloaded" in a.logs(),
                       what="config_reloaded")
            self.assertIsNone(a.proc.poll())
        finally:
            a.cleanup()

    def test_bad_config_never_starts_and_touches_nothing(self):
        a = Agent(config() + "miners: [ { name: x, kind: nope, address: 1.2.3.4 } ]\n")
        try:
            p = subprocess.run([RIGWATCH, "run", "--config", a.config_path],
                               capture_output=True, text=True, timeout=30, cwd=a.tmp)
            self.assertEqual(p.returncode, 3)
            self.assertIn("rigwatch.yaml:7:28: miners.kind: unknown kind \"nope\" "
                          "(known kinds: antminer, avalon, bitaxe, braiins, cgminer, luxos, vnish, whatsminer, or auto)", p.stderr)
            self.assertFalse(os.path.exists(os.path.join(a.tmp, "data")))
            c = subprocess.run([RIGWATCH, "check-config", "--config", a.config_path],
                               capture_output=True, text=True, timeout=30)
            self.assertEqual(c.returncode, 3)
        finally:
            a.cleanup()

    def test_host_metrics_from_fixture_root(self):
        a = Agent(config(root=FIXTURE_ROOT)).start()
        try:
            _, _, body = http_get(a.base + "/metrics")
            text = body.decode()
            self.assertIn('node_uname_info{', text)
            self.assertEqual(promtool_problems(body), [])
        finally:
            a.cleanup()

    def test_cli_usage_and_version(self):
        p = subprocess.run([RIGWATCH, "version"], capture_output=True, text=True)
        self.assertEqual(p.returncode, 0)
        self.assertTrue(p.stdout.startswith("rigwatch "))
        p = subprocess.run([RIGWATCH, "frobnicate"], capture_output=True, text=True)
        self.assertEqual(p.returncode, 2)
        p = subprocess.run([RIGWATCH, "run", "--help"], capture_output=True, text=True)
        self.assertEqual(p.returncode, 0)
        self.assertIn("--config", p.stdout)
        p = subprocess.run([RIGWATCH, "run"], capture_output=True, text=True)
        self.assertEqual(p.returncode, 2)


if __name__ == "__main__":
    rigwatch_testlib.main()
