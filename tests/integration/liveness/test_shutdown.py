"""Shutdown within 5 s, whatever the agent is waiting for.

- An SMTP server that accepts the TCP connection and then never answers (a
  black hole on 127.0.0.1) holds the agent's first mail in its delivery
  (30 s SMTP timeout). SIGTERM then must end the agent within 5 s with exit
  status 0; restarted with a working SMTP server (aiosmtpd) on the same
  port, the agent delivers the interrupted mail, once.
- A host service's restart command that runs for a minute (`sleep 60`):
  SIGTERM ends the agent within 5 s, the command's process is gone, the
  restart is journaled as interrupted.
- A service check that runs for a minute: SIGTERM ends the agent within
  5 s, the check's process is gone.
- A miner restart whose reply never comes (the miner black-holed, the
  restart's own timeout 9 s): SIGTERM ends the agent within 5 s.
"""

import json
import os
import signal
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import rigwatch_testlib  # noqa: E402
from rigwatch_testlib import (Agent, BlackHole, FleetSim, SmtpSink,  # noqa: E402
                              free_port, http_get, main, wait_until)

RULES = """
rules:
  - name: asic_temperature
    metric: miner_temperature_celsius{sensor="asic"}
    red: "> 80"
    for: 1s
    on_red: [notify]
"""

CONFIG = """
http: {{ listen: "127.0.0.1:{{PORT}}" }}
storage: {{ path: "{{TMP}}/data" }}
scrape: {{ interval: 1s, timeout: 500ms }}
host: {{ enabled: false }}
miner_files: [ "{{TMP}}/targets.yaml" ]
rule_files: [ "{{TMP}}/rules.yaml" ]
notify:
  smtp: {{ url: "smtp://127.0.0.1:{smtp}", from: "rigwatch@test.invalid",
          to: ["ops@test.invalid"], starttls: "off", timeout: 30s }}
  group_wait: 1s
log: {{ level: info }}
"""

SHUTDOWN_BOUND = 5.0

# A service that is down (its pidfile never exists) and whose restart runs
# for a minute; the rule restarts it once it is red.
SERVICE_CONFIG = """
http: { listen: "127.0.0.1:{PORT}" }
storage: { path: "{TMP}/data" }
scrape: { interval: 1s, timeout: 500ms }
host:
  enabled: true
  services:
    - name: slowsvc
      check: { pidfile: "{TMP}/never.pid" }
      restart: ["/bin/sh", "-c", "echo $$ > {TMP}/restart.pid; exec sleep 60"]
      interval: 1s
      timeout: 90s
rule_files: [ "{TMP}/rules.yaml" ]
actions: { restart_cooldown: 1m, restart_grace: 1s }
log: { level: info }
"""
SERVICE_RULES = """
rules:
  - name: service_down
    metric: rigwatch_service_up
    kinds: [service]
    red: "== 0"
    for: 1s
    on_red: [restart]
"""

# A service whose command check runs for a minute (its timeout 30 s).
CHECK_CONFIG = """
http: { listen: "127.0.0.1:{PORT}" }
storage: { path: "{TMP}/data" }
scrape: { interval: 1s, timeout: 500ms }
host:
  enabled: true
  services:
    - name: slowcheck
      check: { command: ["/bin/sh", "-c", "echo $$ > {TMP}/check.pid; exec sleep 60"],
               timeout: 30s }
      interval: 60s
log: { level: info }
"""

# One miner, black-holed once the agent runs: its polls time out, the rule
# asks for a restart, and the restart waits for a reply that never comes
# (up to twice scrape.timeout, 9 s).
MINER_CONFIG = """
http: { listen: "127.0.0.1:{PORT}" }
storage: { path: "{TMP}/data" }
scrape: { interval: 5s, timeout: 4500ms, breaker_failures: 1000 }
host: { enabled: false }
miner_files: [ "{TMP}/targets.yaml" ]
rule_files: [ "{TMP}/rules.yaml" ]
actions: { restart_cooldown: 1m, restart_grace: 1s }
log: { level: info }
"""
MINER_RULES = """
rules:
  - name: miner_down
    metric: miner_up
    red: "== 0"
    for: 0s
    on_red: [restart]
"""


def sigterm_and_time(test, agent):
    """SIGTERM, wait (bounded) and return how long the exit took."""
    t0 = time.monotonic()
    agent.signal(signal.SIGTERM)
    agent.proc.wait(timeout=30)
    took = time.monotonic() - t0
    test.assertEqual(agent.proc.returncode, 0, agent.logs())
    return took


def pid_alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1][0] != "Z"
    except (OSError, IndexError):
        return False


def setUpModule():
    rigwatch_testlib.require_module("aiosmtpd")


class ShutdownTest(unittest.TestCase):
    def test_sigterm_during_a_stuck_delivery(self):
        smtp_port = free_port()
        agent = Agent(CONFIG.format(smtp=smtp_port))
        with open(os.path.join(agent.tmp, "rules.yaml"), "w") as f:
            f.write(RULES)
        sim = FleetSim(agent.tmp, miners=1, mix="axeos-v2.12=1",
                       base_address="127.42.0.0")
        hole = BlackHole(smtp_port)
        sink = None
        try:
            name = sim.call("GET", "/miners")["miners"][0]["name"]
            sim.call("POST", f"/miners/{name}/params", {"temp_c": 90})
            agent.start()
            # The red mail's delivery is connected and waiting for a greeting
            # that never comes.
            wait_until(lambda: hole.accepted >= 1, timeout=20,
                       what="the agent connected to the black hole")
            time.sleep(1.0)  # well inside the delivery's 30 s
            t0 = time.monotonic()
            agent.signal(signal.SIGTERM)
            agent.proc.wait(timeout=30)
            took = time.monotonic() - t0
            print(f"shutdown with a stuck SMTP delivery took {took:.2f} s",
                  file=sys.stderr)
            self.assertEqual(agent.proc.returncode, 0, agent.logs())
            self.assertLess(took, SHUTDOWN_BOUND, agent.logs())
            self.assertIn("notification_interrupted", agent.logs())
            self.assertNotIn("notification_sent", agent.logs())
            hole.stop()
            hole = None

            sink = SmtpSink(agent.tmp, smtp_port).start()
            agent.log.close()
            agent.start()
            wait_until(lambda: any("asic_temperature" in (s or "") and name in s
                                   for s in sink.subjects()),
                       timeout=20, what="the interrupted mail after the restart")
            time.sleep(2)  # a second copy would show by now
            mails = [m for m in sink.mails()
                     if "asic_temperature" in (m["Subject"] or "")]
            ids = [m["Message-ID"] for m in mails]
            self.assertEqual(len(ids), len(set(ids)), f"sent twice: {ids}")
            self.assertEqual(agent.stop(), 0)
        finally:
            if hole:
                hole.stop()
            agent.cleanup()
            sim.stop()
            if sink:
                sink.stop()


class InterruptedRestartTest(unittest.TestCase):
    def sigterm_while_running(self, agent, pidfile, what):
        """Starts `agent`, waits for the command that writes `pidfile` (in
        the agent's dir), SIGTERMs the agent: it exits within the bound and
        the command's process is gone."""
        pidfile = os.path.join(agent.tmp, pidfile)
        agent.start()
        wait_until(lambda: os.path.exists(pidfile) and
                   open(pidfile).read().strip(), timeout=30,
                   what=f"{what} running")
        pid = int(open(pidfile).read().strip())
        time.sleep(0.5)
        took = sigterm_and_time(self, agent)
        print(f"shutdown during {what} took {took:.2f} s", file=sys.stderr)
        self.assertLess(took, SHUTDOWN_BOUND, agent.logs())
        wait_until(lambda: not pid_alive(pid), timeout=5,
                   what=f"the process of {what} gone")

    def test_sigterm_during_a_service_restart_command(self):
        agent = Agent(SERVICE_CONFIG)
        with open(os.path.join(agent.tmp, "rules.yaml"), "w") as f:
            f.write(SERVICE_RULES)
        try:
            self.sigterm_while_running(agent, "restart.pid",
                                       "a service restart command")
            logs = agent.logs()
            self.assertIn("restart_interrupted", logs)
            self.assertNotIn("restart_done", logs)

            # The journal says so after a restart, and the attempt did not
            # count against the limits.
            agent.log.close()
            agent.start()
            svc = None
            for s in json.loads(http_get(agent.base + "/api/v1/services")[2])[
                    "services"]:
                if s["name"] == "slowsvc":
                    svc = s
            self.assertIsNotNone(svc)
            self.assertEqual(svc["last_restart_result"], "interrupted", svc)
            self.assertFalse(svc["restarts_given_up"], svc)
        finally:
            agent.cleanup()

    def test_sigterm_during_a_service_check(self):
        agent = Agent(CHECK_CONFIG)
        try:
            self.sigterm_while_running(agent, "check.pid", "a service check")
        finally:
            agent.cleanup()

    def test_sigterm_while_a_miner_restart_waits_for_its_reply(self):
        agent = Agent(MINER_CONFIG)
        with open(os.path.join(agent.tmp, "rules.yaml"), "w") as f:
            f.write(MINER_RULES)
        sim = FleetSim(agent.tmp, miners=1, mix="axeos-v2.12=1",
                       base_address="127.43.0.0")
        try:
            name = sim.call("GET", "/miners")["miners"][0]["name"]
            agent.start()
            sim.fault(name, "blackhole")
            wait_until(lambda: "restart_started" in agent.logs(), timeout=40,
                       what="the miner restart sent")
            time.sleep(0.5)  # well inside its 9 s
            took = sigterm_and_time(self, agent)
            print(f"shutdown during a hanging miner restart took {took:.2f} s",
                  file=sys.stderr)
            self.assertLess(took, SHUTDOWN_BOUND, agent.logs())
            logs = agent.logs()
            self.assertIn("restart_interrupted", logs)
            self.assertNotIn("restart_sent", logs)
        finally:
            agent.cleanup()
            sim.stop()


if __name__ == "__main__":
    main()
