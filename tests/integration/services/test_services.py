"""Host services end to end: the real agent with the shipped rules, real
child processes as services and a real SMTP server (aiosmtpd).

- worker: a sleeping process with a pidfile, whose `restart` argv starts it
  again. Killed four times within the restart window: three restarts, each
  followed by a "restarted and came back" mail, then one "restart limit
  reached" mail and no restart until `rigwatch service reset worker`.
- web: a small HTTP server. Answering 500, or stalling past the check's
  timeout, it is reported down with its latency and the failure text.
- broken: its restart never brings it back; it is tried again after each
  cooldown, three times, then one limit mail.
- GET /api/v1/health answers with every field.
"""

import json
import os
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import rigwatch_testlib  # noqa: E402
from rigwatch_testlib import (RIGWATCH, SOURCE_DIR, Agent,  # noqa: E402
                              SmtpSink, free_port, http_get, metric,
                              parse_metrics, wait_until)

HELPERS = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                       "service_helpers.py")
PY = "/usr/bin/python3"

# What both agents' configs share: loopback, short intervals, the shipped
# rules, mail to the test's SMTP sink.
COMMON_HEAD = """
http: {{ listen: "127.0.0.1:{{PORT}}" }}
storage: {{ path: "{{TMP}}/data" }}
scrape: {{ interval: 1s, timeout: 500ms }}
"""
COMMON_NOTIFY = """rule_files: [ "{rules}" ]
notify:
  smtp: {{ url: "smtp://127.0.0.1:{smtp}", from: "rigwatch@test.invalid",
          to: ["ops@test.invalid"], starttls: "off", timeout: 3s }}
  group_wait: 1s
"""

CONFIG = COMMON_HEAD + """
host:
  enabled: true
  services:
    - name: worker
      check: {{ pidfile: "{{TMP}}/worker.pid" }}
      restart: ["{py}", "{helpers}", "start-worker", "{{TMP}}/worker.pid",
                "{{TMP}}/starts"]
      interval: 1s
      start_timeout: 5s
      timeout: 5s
    - name: web
      check: {{ http: "http://127.0.0.1:{web}/health", status: 200,
               body_contains: "ok", timeout: 500ms }}
      interval: 1s
""" + COMMON_NOTIFY + """
actions: {{ restart_cooldown: 2s, restart_max_attempts: 3,
           restart_window: 1h, restart_grace: 1s }}
log: {{ level: info }}
"""


def setUpModule():
    rigwatch_testlib.require_module("aiosmtpd")


class ServicesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        smtp_port = free_port()
        web_port = free_port()
        cls.agent = Agent(CONFIG.format(
            py=PY, helpers=HELPERS, web=web_port, smtp=smtp_port,
            rules=os.path.join(SOURCE_DIR, "rules", "default.yaml")))
        tmp = cls.agent.tmp
        cls.pidfile = os.path.join(tmp, "worker.pid")
        cls.starts = os.path.join(tmp, "starts")
        cls.modefile = os.path.join(tmp, "web.mode")
        with open(cls.modefile, "w") as f:
            f.write("ok")
        cls.web = subprocess.Popen([PY, HELPERS, "http", str(web_port),
                                    cls.modefile])
        subprocess.run([PY, HELPERS, "start-worker", cls.pidfile, cls.starts],
                       check=True)
        cls.smtp = SmtpSink(tmp, smtp_port).start()
        cls.agent.start()

    @classmethod
    def tearDownClass(cls):
        cls.agent.stop()
        pid = cls.worker_pid_or_none()
        if pid:
            os.kill(pid, signal.SIGKILL)
        cls.web.kill()
        cls.web.wait()
        cls.smtp.stop()
        cls.agent.cleanup()

    @classmethod
    def worker_pid_or_none(cls):
        try:
            with open(cls.pidfile) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def service(self, name):
        status, _, body = http_get(self.agent.base + "/api/v1/services")
        self.assertEqual(status, 200)
        for s in json.loads(body)["services"]:
            if s["name"] == name:
                return s
        raise AssertionError(f"no service {name} in {body!r}")

    def restarts(self):
        with open(self.starts) as f:
            return len(f.read().splitlines()) - 1  # the first start is ours

    def mails_with(self, text):
        return [s for s in self.smtp.subjects() if text in s]

    def kill_worker(self):
        pid = self.worker_pid_or_none()
        wait_until(lambda: self.service("worker")["up"] is True,
                   what="worker up before the kill")
        os.kill(pid, signal.SIGKILL)
        return pid

    def test_1_killed_worker_restarted_once_per_cooldown_then_limit(self):
        for n in (1, 2, 3):
            old = self.kill_worker()
            wait_until(lambda: self.restarts() == n, timeout=15,
                       what=f"restart {n}")
            wait_until(lambda: len(self.mails_with(
                "service worker restarted and came back")) == n, timeout=15,
                what=f"came-back mail {n}")
            self.assertNotEqual(self.worker_pid_or_none(), old)
            s = wait_until(lambda: (lambda s: s if s["up"] else None)(
                self.service("worker")), what="worker seen up again")
            self.assertEqual(s["last_restart_result"], "ok")
            self.assertIn("not running", s["error"])  # the last failure
            # Exactly one restart for this outage: over a cooldown and more,
            # nothing else starts it.
            time.sleep(2.5)
            self.assertEqual(self.restarts(), n)
        body = [m for m in self.smtp.mails()
                if "came back" in m["Subject"]][0].get_payload(decode=True)
        self.assertIn(b"came back: its check passed", body)
        # The fourth kill within the window: the limit, one mail, no restart.
        self.kill_worker()
        wait_until(lambda: self.mails_with("restart limit reached"),
                   timeout=15, what="the restart limit mail")
        wait_until(lambda: self.service("worker")["restarts_given_up"],
                   what="worker given up")
        self.assertFalse(self.service("worker")["up"])
        time.sleep(2.5)  # more than a cooldown: still no restart
        self.assertEqual(self.restarts(), 3)
        self.assertEqual(len(self.mails_with("restart limit reached")), 1)
        samples = parse_metrics(http_get(self.agent.base + "/metrics")[2]
                                .decode())
        self.assertEqual(metric(samples, "rigwatch_service_up",
                                service="worker"), 0)
        self.assertEqual(metric(samples, "rigwatch_restarts_total",
                                miner="host/worker", result="ok"), 3)
        self.assertEqual(metric(samples, "rigwatch_restarts_total",
                                miner="host/worker", result="limit"), 1)

        # A person acts: starts it by hand and resets the limit. The next
        # outage is restarted again.
        r = subprocess.run([RIGWATCH, "service", "reset", "nope", "--config",
                            self.agent.config_path], capture_output=True,
                           text=True)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("no host service \\\"nope\\\"", r.stderr)
        r = subprocess.run([RIGWATCH, "service", "reset", "worker", "--config",
                            self.agent.config_path], capture_output=True,
                           text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertFalse(self.service("worker")["restarts_given_up"])
        with open(self.starts, "a") as f:
            f.write("by hand\n")
        subprocess.run([PY, HELPERS, "start-worker", self.pidfile,
                        os.devnull], check=True)
        self.kill_worker()
        wait_until(lambda: self.restarts() == 5, timeout=15,
                   what="a restart after the reset")

    def test_2_http_500_and_stall_reported_down_with_latency(self):
        wait_until(lambda: self.service("web")["up"] is True,
                   what="web up")
        with open(self.modefile, "w") as f:
            f.write("500")
        s = wait_until(lambda: (lambda s: s if s["up"] is False else None)(
            self.service("web")), what="web down on 500")
        self.assertIn("status 500, expected 200", s["error"])
        self.assertLess(s["check_duration_seconds"], 0.5)
        with open(self.modefile, "w") as f:
            f.write("stall")
        s = wait_until(lambda: (lambda s: s if "imeout" in s["error"] or
                                "timed out" in s["error"] else None)(
            self.service("web")), timeout=15, what="web down on a stall")
        self.assertFalse(s["up"])
        self.assertGreaterEqual(s["check_duration_seconds"], 0.45)
        self.assertLess(s["check_duration_seconds"], 3)
        samples = parse_metrics(http_get(self.agent.base + "/metrics")[2]
                                .decode())
        self.assertEqual(metric(samples, "rigwatch_service_up",
                                service="web"), 0)
        self.assertGreaterEqual(metric(
            samples, "rigwatch_service_check_duration_seconds",
            service="web"), 0.45)
        # The shipped rule turned it red (no restart command: watched only).
        def red():
            _, _, b = http_get(self.agent.base + "/api/v1/alerts")
            return [a for a in json.loads(b)["alerts"]
                    if a["rule"] == "service_down" and a["miner"] == "web"
                    and a["level"] == "red"]
        wait_until(red, what="service_down red for web")
        with open(self.modefile, "w") as f:
            f.write("ok")
        wait_until(lambda: self.service("web")["up"] is True, timeout=15,
                   what="web up again")

    def test_3_health_document(self):
        def health():
            status, _, body = http_get(self.agent.base + "/api/v1/health")
            self.assertEqual(status, 200)
            return json.loads(body)
        h = wait_until(lambda: (lambda h: h if h["host"]["cpu_percent"]
                                is not None else None)(health()),
                       what="a CPU figure after two collections")
        self.assertIn(h["overall_status"], ("OK", "WARNING", "CRITICAL"))
        host = h["host"]
        self.assertTrue(0 <= host["cpu_percent"] <= 100)
        self.assertTrue(0 < host["memory_percent"] < 100)
        self.assertTrue(0 < host["disk_percent"]["/"] <= 100)
        self.assertIsNotNone(host["load"]["load1"])
        names = {s["name"]: s for s in h["services"]}
        self.assertEqual(set(names), {"worker", "web"})
        self.assertIn(names["web"]["state"], ("running", "down"))
        self.assertEqual(h["fleet"], {"miners": 0, "up": 0, "down": 0,
                                      "red": 0, "yellow": 0})
        # A service down is a red rule state: CRITICAL.
        with open(self.modefile, "w") as f:
            f.write("500")
        wait_until(lambda: health()["overall_status"] == "CRITICAL",
                   timeout=15, what="CRITICAL while web is down")
        with open(self.modefile, "w") as f:
            f.write("ok")
        wait_until(lambda: self.service("web")["up"] is True, timeout=15,
                   what="web up again")


BROKEN_CONFIG = COMMON_HEAD + """
host:
  enabled: false
  services:
    - name: broken
      check: {{ pidfile: "{{TMP}}/never.pid" }}
      restart: ["{py}", "-c", "open('{{TMP}}/attempts', 'a').write('x')"]
      interval: 1s
      start_timeout: 1s
""" + COMMON_NOTIFY + """
actions: {{ restart_cooldown: 1s, restart_max_attempts: 3,
           restart_window: 1h, restart_grace: 1s }}
"""


class BrokenServiceTest(unittest.TestCase):
    """A restart that never brings the service back: tried again after each
    cooldown while it stays down, three times, then one limit mail."""

    def test_three_failed_restarts_then_one_limit_mail(self):
        smtp_port = free_port()
        agent = Agent(BROKEN_CONFIG.format(
            py=PY, smtp=smtp_port,
            rules=os.path.join(SOURCE_DIR, "rules", "default.yaml")))
        smtp = SmtpSink(agent.tmp, smtp_port).start()
        attempts = os.path.join(agent.tmp, "attempts")
        try:
            agent.start()

            def limit_mails():
                return [s for s in smtp.subjects()
                        if "restart limit reached for host/broken" in s]
            wait_until(limit_mails, timeout=30, what="the limit mail")
            with open(attempts) as f:
                self.assertEqual(f.read(), "xxx")
            not_back = [s for s in smtp.subjects()
                        if "service broken restarted but did not come back"
                        in s]
            self.assertEqual(len(not_back), 3, smtp.subjects())
            time.sleep(2.5)  # more than a cooldown: nothing more
            with open(attempts) as f:
                self.assertEqual(f.read(), "xxx")
            self.assertEqual(len(limit_mails()), 1)
            body = [m for m in smtp.mails() if "did not come back" in
                    m["Subject"]][0].get_payload(decode=True).decode()
            self.assertIn("did not come back within 1s: pidfile", body)
        finally:
            agent.stop()
            smtp.stop()
            agent.cleanup()


if __name__ == "__main__":
    rigwatch_testlib.main()
