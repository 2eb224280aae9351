"""The alert path a person relies on, end to end: the real agent, the fleet
simulator, a real SMTP server (aiosmtpd under /usr/bin/python3) and a real
Alertmanager.

- A 1-miner and a 3-miner fleet where one miner overheats: exactly one
  restart (its reboot is rigwatch's own doing), zero "fleet unreachable".
- 20 miners, 12 go dark at once: zero restarts, one fleet mail, and when
  they return one recovery mail.
- Red, agent killed with SIGKILL, started again: reminders go on, the miner
  cools, exactly one resolved mail, and Alertmanager's alert resolves only
  then.
"""

import os
import signal
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import rigwatch_testlib  # noqa: E402
from rigwatch_testlib import (Agent, Alertmanager, FleetSim,  # noqa: E402
                              SmtpSink, free_port, http_get, metric,
                              parse_metrics, wait_until)

RULES = """
rules:
  - name: asic_temperature
    metric: miner_temperature_celsius{{sensor="asic"}}
    kinds: [bitaxe]
    red: "> 80"
    for: 2s
    clear: 3
    on_red: [{red_actions}]
    description: "{{{{miner}}}} ASIC at {{{{value}}}}"
  - name: miner_down
    metric: miner_up
    red: "== 0"
    for: 2s
    on_red: [notify, restart]
"""

# The fleet guard keeps its defaults (guard_min_failed 3, guard_fraction
# 0.3, guard_for 2): what a new user gets.
CONFIG = """
http: {{ listen: "127.0.0.1:{{PORT}}" }}
storage: {{ path: "{{TMP}}/data" }}
scrape: {{ interval: 1s, timeout: 500ms, breaker_failures: 1000,
          backoff_cap: 1s }}
host: {{ enabled: false }}
miner_files: [ "{{TMP}}/targets.yaml" ]
rule_files: [ "{{TMP}}/rules.yaml" ]
notify:
  smtp: {{ url: "smtp://127.0.0.1:{smtp}", from: "rigwatch@test.invalid",
          to: ["ops@test.invalid"], starttls: "off", timeout: 3s }}
  group_wait: 1s
  repeat_interval: {repeat}
{alertmanager}
actions: {{ restart_cooldown: 1m, restart_grace: 8s }}
log: {{ level: info }}
"""


def setUpModule():
    rigwatch_testlib.require_module("aiosmtpd")


class Scenario:
    """sim + agent + SMTP sink (+ Alertmanager) sharing one temp dir."""

    def __init__(self, base_address, miners, red_actions="notify, restart",
                 repeat="1h", with_alertmanager=False, mix="axeos-v2.12=1"):
        smtp_port = free_port()
        am_port = free_port()
        am_line = (f'  alertmanager: {{ url: "http://127.0.0.1:{am_port}" }}'
                   if with_alertmanager else "")
        self.agent = Agent(CONFIG.format(smtp=smtp_port, repeat=repeat,
                                         alertmanager=am_line))
        with open(os.path.join(self.agent.tmp, "rules.yaml"), "w") as f:
            f.write(RULES.format(red_actions=red_actions))
        self.am = Alertmanager(self.agent.tmp, am_port) if with_alertmanager else None
        self.sim = FleetSim(self.agent.tmp, miners=miners, mix=mix,
                            base_address=base_address,
                            extra=["--reboot-downtime", "2s"])
        self.names = [m["name"] for m in self.sim.call("GET", "/miners")["miners"]]
        for name in self.names:
            self.sim.call("POST", f"/miners/{name}/params", {"temp_c": 55})
        self.smtp = SmtpSink(self.agent.tmp, smtp_port).start()
        if self.am:
            self.am.start()

    def restarts_seen(self, name):
        return sum(1 for r in self.sim.requests(name)
                   if r["what"] in ("POST /api/system/restart", "restart"))

    def total_restarts(self):
        return sum(self.restarts_seen(n) for n in self.names)

    def metrics(self):
        return parse_metrics(http_get(self.agent.base + "/metrics")[2].decode())

    def subjects(self, *words):
        return [s for s in self.smtp.subjects() if all(w in s for w in words)]

    def mail_about(self, *words):
        for m in self.smtp.mails():
            if all(w in m["Subject"] for w in words):
                return m
        return None

    def heat(self, name):
        self.sim.fault(name, "temp_ceiling", 86)
        self.sim.fault(name, "temp_ramp", 1000)  # °C/min: ~17 °C/s up to 86

    def cool(self, name):
        self.sim.call("DELETE", f"/miners/{name}/faults/all")

    def close(self):
        self.agent.cleanup()
        self.sim.stop()
        self.smtp.stop()
        if self.am:
            self.am.stop()


def wait_rounds(s, n):
    """Lets the agent judge n more poll rounds (bounded): waits on the
    agent's own counter instead of sleeping."""
    def rounds():
        return metric(s.metrics(), "rigwatch_rule_rounds_total") or 0
    start = rounds()
    wait_until(lambda: rounds() >= start + n, timeout=n * 3 + 10,
               what=f"{n} more poll rounds")


class SmallFleetTest(unittest.TestCase):
    def test_one_and_three_miner_fleets_one_overheats(self):
        # Both fleets at once (each with its own agent, sink and simulator),
        # so the test costs the time of one.
        fleets = [Scenario("127.33.0.0", miners=1),
                  Scenario("127.34.0.0", miners=3)]
        try:
            for s in fleets:
                s.agent.start()
            for s in fleets:
                wait_rounds(s, 1)
                s.heat(s.names[-1])
            for s in fleets:
                name = s.names[-1]
                wait_until(lambda: s.restarts_seen(name) >= 1, timeout=30,
                           what=f"restart received by {name}")
                wait_until(lambda: s.subjects("asic_temperature", name, "RED"),
                           timeout=20, what="red mail")
            # The miner reboots (2 s unreachable) and comes back hot until it
            # is cooled: rounds enough for the reboot and for the guard to
            # have tripped if it were going to.
            for s in fleets:
                wait_rounds(s, 4)
                s.cool(s.names[-1])
            for s in fleets:
                name = s.names[-1]
                wait_until(lambda: s.subjects("asic_temperature", name, "GREEN"),
                           timeout=30, what="resolved mail")
            for s in fleets:
                wait_rounds(s, 2)
            for s in fleets:
                self.check_one_restart_no_fleet_mail(s, s.names[-1])
        finally:
            for s in fleets:
                s.close()

    def check_one_restart_no_fleet_mail(self, s, name):
        what = f"{len(s.names)}-miner fleet"
        self.assertEqual(s.restarts_seen(name), 1, f"{what}: exactly one restart")
        self.assertEqual(s.total_restarts(), 1, what)
        self.assertEqual(s.subjects("fleet"), [], s.smtp.subjects())
        self.assertEqual(metric(s.metrics(), "rigwatch_fleet_unreachable"), 0.0)
        self.assertNotIn("fleet_unreachable", s.agent.logs())
        # A value a person reads, a link to the miner; the resolved mail
        # says what was done about it and the reboot's poll error.
        body = s.mail_about("asic_temperature", name, "RED").get_payload(
            decode=True).decode("utf-8")
        self.assertRegex(body, r"value: +8\d\.\d \u00b0C\r?\n")
        self.assertRegex(body, r"ASIC at 8\d\.\d \u00b0C")
        self.assertIn(f"link:       http://127.0.0.1:{s.agent.port}"
                      f"/api/v1/targets/{name}", body)
        body = s.mail_about("asic_temperature", name, "GREEN").get_payload(
            decode=True).decode("utf-8")
        self.assertRegex(body, r"action: +restart sent at \S+Z: accepted\r?\n")
        self.assertRegex(body, r"last error: +\w+ at \S+Z: .*"
                               r"\(it has answered since\)\r?\n")


class FleetDarkTest(unittest.TestCase):
    def test_twelve_of_twenty_dark_then_back(self):
        s = Scenario("127.35.0.0", miners=20)
        try:
            s.agent.start()
            wait_rounds(s, 2)
            dark = s.names[:12]
            for name in dark:
                s.sim.fault(name, "refuse")
            wait_until(lambda: s.subjects("fleet unreachable"), timeout=30,
                       what="fleet unreachable mail")
            # Long enough for miner_down (for: 2s) to be red on every dark
            # miner and for its restart to have been asked for.
            wait_rounds(s, 3)
            self.assertEqual(metric(s.metrics(), "rigwatch_fleet_unreachable"), 1.0)
            for name in dark:
                s.sim.call("DELETE", f"/miners/{name}/faults/all")
            wait_until(lambda: s.subjects("fleet reachable again"), timeout=30,
                       what="recovery mail")
            wait_rounds(s, 3)  # time for any restart or late mail to show
            self.assertEqual(s.total_restarts(), 0, "zero restarts")
            self.assertEqual(len(s.subjects("fleet unreachable")), 1,
                             s.smtp.subjects())
            self.assertEqual(len(s.subjects("fleet reachable again")), 1,
                             s.smtp.subjects())
            self.assertEqual(len(s.smtp.subjects()), 2, s.smtp.subjects())
            self.assertEqual(metric(s.metrics(), "rigwatch_fleet_unreachable"), 0.0)
        finally:
            s.close()


class AgentRestartTest(unittest.TestCase):
    def test_sigkill_while_red_then_one_resolved_mail_and_am_resolves(self):
        # No restart action: the miner stays hot until the test cools it.
        s = Scenario("127.36.0.0", miners=3, red_actions="notify",
                     repeat="6s", with_alertmanager=True)
        try:
            s.agent.start()
            name = s.names[1]
            wait_rounds(s, 1)
            s.heat(name)
            wait_until(lambda: s.subjects("FIRING", "asic_temperature", name),
                       timeout=30, what="firing mail")
            wait_until(lambda: s.am.alerts(alertname="asic_temperature", miner=name),
                       timeout=20, what="alert active in Alertmanager")
            fired_at = time.monotonic()

            s.agent.proc.send_signal(signal.SIGKILL)
            s.agent.proc.wait(timeout=10)
            s.agent.log.close()
            s.agent.start()
            wait_until(lambda: "notifier_state_loaded" in s.agent.logs(),
                       timeout=10, what="notifier state loaded")
            self.assertIn("alertmanager_repushed=1", s.agent.logs().replace('"', ""))
            # The reminder comes on the schedule set before the crash (6 s
            # after the firing mail).
            wait_until(lambda: s.subjects("REMINDER", "asic_temperature", name),
                       timeout=20, what="reminder after the restart")
            self.assertLess(time.monotonic() - fired_at, 14)
            # Still red: Alertmanager still has it, nothing said twice.
            self.assertTrue(s.am.alerts(alertname="asic_temperature", miner=name))
            self.assertEqual(len(s.subjects("FIRING", "asic_temperature")), 1,
                             s.smtp.subjects())

            s.cool(name)
            wait_until(lambda: s.subjects("RESOLVED", "asic_temperature", name),
                       timeout=30, what="resolved mail")
            wait_until(lambda: not s.am.alerts(alertname="asic_temperature",
                                               miner=name),
                       timeout=20, what="alert resolved in Alertmanager")
            wait_rounds(s, 2)
            self.assertEqual(len(s.subjects("RESOLVED", "asic_temperature")), 1,
                             s.smtp.subjects())
            self.assertEqual(len(s.subjects("FIRING", "asic_temperature")), 1)
            ids = [m["Message-ID"] for m in s.smtp.mails()]
            self.assertEqual(len(ids), len(set(ids)), ids)
        finally:
            s.close()


if __name__ == "__main__":
    rigwatch_testlib.main()
