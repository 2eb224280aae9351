"""Rules and actions end to end: the real agent, the fleet simulator and a
real SMTP server (aiosmtpd under /usr/bin/python3).

- A miner's temperature ramps: one yellow mail, one red mail, exactly one
  restart received by the miner, a resolved mail once it cools.
- SMTP down for a whole episode and the agent killed (-9) in the middle:
  once SMTP is back, the mail arrives exactly once.
- Half the fleet black-holed: zero restarts, one "fleet unreachable" mail.
"""

import os
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import rigwatch_testlib  # noqa: E402
from rigwatch_testlib import (SOURCE_DIR, Agent, FleetSim,  # noqa: E402
                              SmtpSink, free_port, http_get, metric,
                              parse_metrics, wait_until)


RULES = """
rules:
  - name: asic_temperature
    metric: miner_temperature_celsius{sensor="asic"}
    kinds: [bitaxe]
    yellow: "> 70"
    red: "> 80"
    for: 2s
    clear: 3
    on_red: [notify, restart]
    on_yellow: [notify]
  - name: miner_down
    metric: miner_up
    red: "== 0"
    for: 2s
    on_red: [notify, restart]
"""

CONFIG = """
http: {{ listen: "127.0.0.1:{{PORT}}" }}
storage: {{ path: "{{TMP}}/data" }}
scrape: {{ interval: 1s, timeout: 500ms, breaker_failures: 1000 }}
host: {{ enabled: false }}
miner_files: [ "{{TMP}}/targets.yaml" ]
rule_files: [ "{{TMP}}/rules.yaml" ]
notify:
  smtp: {{ url: "smtp://127.0.0.1:{smtp}", from: "rigwatch@test.invalid",
          to: ["ops@test.invalid"], starttls: "off", timeout: 3s }}
  group_wait: 1s
  repeat_interval: 1h
actions: {{ restart_cooldown: 1m, restart_grace: 8s, guard_fraction: 0.3 }}
log: {{ level: info }}
"""


def setUpModule():
    rigwatch_testlib.require_module("aiosmtpd")


class Scenario:
    """sim + agent + SMTP sink sharing one temp dir."""

    def __init__(self, base_address, miners=4, mix="axeos-v2.12=1", smtp_up=True):
        smtp_port = free_port()
        self.agent = Agent(CONFIG.format(smtp=smtp_port))
        with open(os.path.join(self.agent.tmp, "rules.yaml"), "w") as f:
            f.write(RULES)
        self.sim = FleetSim(self.agent.tmp, miners=miners, mix=mix,
                            base_address=base_address,
                            extra=["--reboot-downtime", "1s"])
        for m in self.sim.call("GET", "/miners")["miners"]:
            self.sim.call("POST", f"/miners/{m['name']}/params", {"temp_c": 55})
        self.smtp = SmtpSink(self.agent.tmp, smtp_port)
        if smtp_up:
            self.smtp.start()

    def restarts_seen(self, name):
        return sum(1 for r in self.sim.requests(name)
                   if r["what"] in ("POST /api/system/restart", "restart"))

    def metrics(self):
        return parse_metrics(http_get(self.agent.base + "/metrics")[2].decode())

    def close(self):
        self.agent.cleanup()
        self.sim.stop()
        self.smtp.stop()


class TemperatureEpisodeTest(unittest.TestCase):
    def test_yellow_red_restart_resolved(self):
        s = Scenario("127.30.0.0")
        try:
            s.agent.start()
            name = "sim-axeos-0002"
            time.sleep(3)
            self.assertEqual(s.smtp.mails(), [], "no mail while all is green")
            s.sim.fault(name, "temp_ceiling", 76)
            s.sim.fault(name, "temp_ramp", 600)  # 10 °C/s up to 76: yellow only
            wait_until(lambda: any("asic_temperature" in x and name in x and "YELLOW" in x
                                   for x in s.smtp.subjects()),
                       timeout=20, what="yellow mail")
            self.assertEqual(s.restarts_seen(name), 0)
            s.sim.fault(name, "temp_ceiling", 86)  # now red
            wait_until(lambda: s.restarts_seen(name) >= 1, timeout=20,
                       what="restart received by the miner")
            wait_until(lambda: any("asic_temperature" in x and name in x and "RED" in x
                                   for x in s.smtp.subjects()),
                       timeout=20, what="red mail")
            # It cools down after the restart.
            s.sim.call("DELETE", f"/miners/{name}/faults/all")
            wait_until(lambda: sum(1 for x in s.smtp.subjects()
                                   if "asic_temperature" in x and name in x) >= 3,
                       timeout=30, what="resolved mail")
            time.sleep(3)
            subjects = [x for x in s.smtp.subjects() if "asic_temperature" in x]
            self.assertEqual(len(subjects), 3, subjects)
            self.assertIn("GREEN", subjects[-1])
            self.assertEqual(s.restarts_seen(name), 1, "exactly one restart")
            m = s.metrics()
            self.assertEqual(metric(m, "rigwatch_restarts_total", miner=name,
                                    result="ok"), 1.0)
            # Nothing about the other miners.
            others = [x for x in s.smtp.subjects() if name not in x]
            self.assertEqual(others, [])
            for msg in s.smtp.mails():
                for h in ("Date", "Message-ID", "From", "To", "Subject"):
                    self.assertIsNotNone(msg[h], h)
        finally:
            s.close()


class DurableOutboxTest(unittest.TestCase):
    def test_smtp_down_and_agent_killed_mail_arrives_once(self):
        s = Scenario("127.31.0.0", smtp_up=False)
        try:
            s.agent.start()
            name = "sim-axeos-0003"
            time.sleep(2)
            s.sim.fault(name, "temp_ceiling", 76)
            s.sim.fault(name, "temp_ramp", 600)

            def pending():
                return (metric(s.metrics(), "rigwatch_outbox_pending") or 0) >= 1
            wait_until(pending, timeout=20, what="mail waiting in the outbox")
            # Crash the agent with the mail still undelivered.
            s.agent.proc.send_signal(signal.SIGKILL)
            s.agent.proc.wait(timeout=10)
            s.agent.log.close()
            s.agent.start()
            s.smtp.start()
            wait_until(lambda: len(s.smtp.mails()) >= 1, timeout=60,
                       what="the queued mail after SMTP came back")
            time.sleep(5)  # time for a duplicate to show up, if any
            subjects = [x for x in s.smtp.subjects() if "asic_temperature" in x]
            self.assertEqual(len(subjects), 1, s.smtp.subjects())
            self.assertIn("YELLOW", subjects[0])
            ids = [m["Message-ID"] for m in s.smtp.mails()]
            self.assertEqual(len(ids), len(set(ids)))
        finally:
            s.close()


class FleetGuardTest(unittest.TestCase):
    def test_half_the_fleet_unreachable_means_no_restarts_one_mail(self):
        s = Scenario("127.32.0.0", miners=6)
        try:
            s.agent.start()
            time.sleep(3)
            dead = [f"sim-axeos-{i:04d}" for i in (1, 2, 3)]
            for name in dead:
                s.sim.fault(name, "blackhole")
            wait_until(lambda: any("fleet unreachable" in x for x in s.smtp.subjects()),
                       timeout=30, what="fleet unreachable mail")
            time.sleep(6)  # several rounds: still no restart, no per-miner mails
            for name in dead:
                self.assertEqual(s.restarts_seen(name), 0, name)
            subjects = s.smtp.subjects()
            self.assertEqual(sum(1 for x in subjects if "fleet unreachable" in x), 1,
                             subjects)
            self.assertFalse(any("miner_down" in x for x in subjects), subjects)
            self.assertEqual(metric(s.metrics(), "rigwatch_fleet_unreachable"), 1.0)
        finally:
            s.close()


if __name__ == "__main__":
    rigwatch_testlib.main()
