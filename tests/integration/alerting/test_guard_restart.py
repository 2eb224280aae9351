"""The fleet guard across an agent restart, and a restart the firmware cannot
do, on the real agent with the fleet simulator, aiosmtpd and Alertmanager.

- 3 of 4 miners dark: the guard trips (one mail, one Alertmanager alert,
  no restart); SIGKILL, start again while they are still dark: no second
  fleet mail, the Alertmanager alert stays active, still no restart; they
  return: one recovery mail, the alert resolves, no Message-ID twice.
- The cgminer kind against a LuxOS-like simulated miner: its restart
  answers Code 14 (result "unsupported"), and the alert mail says
  "restart not supported by this firmware: ...".
"""

import os
import signal
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import rigwatch_testlib  # noqa: E402
from rigwatch_testlib import metric, wait_until  # noqa: E402
from test_alert_state import Scenario, wait_rounds  # noqa: E402

FLEET_ALERT = "rigwatch_fleet_unreachable"


def setUpModule():
    rigwatch_testlib.require_module("aiosmtpd")


class GuardAcrossRestartTest(unittest.TestCase):
    def test_tripped_sigkill_still_dark_then_back(self):
        s = Scenario("127.37.0.0", miners=4, with_alertmanager=True)
        try:
            s.agent.start()
            wait_rounds(s, 2)
            dark = s.names[:3]
            for name in dark:
                s.sim.fault(name, "refuse")
            wait_until(lambda: s.subjects("fleet unreachable"), timeout=30,
                       what="fleet unreachable mail")
            wait_until(lambda: s.am.alerts(alertname=FLEET_ALERT), timeout=20,
                       what="fleet alert active in Alertmanager")
            # Killed once the outbox has recorded both deliveries: a kill
            # between a receiver's acceptance and that record is the
            # outbox's own window (the same Message-ID again,
            # docs/notifications.md), not what this test is about.
            wait_until(lambda: metric(s.metrics(), "rigwatch_outbox_pending") == 0,
                       timeout=20, what="outbox empty")
            wait_rounds(s, 1)

            s.agent.proc.send_signal(signal.SIGKILL)
            s.agent.proc.wait(timeout=10)
            s.agent.log.close()
            s.agent.start()
            self.assertIn("fleet_guard_restored", s.agent.logs())
            # Still dark: the guard stays tripped, nothing said again.
            wait_rounds(s, 4)
            self.assertEqual(metric(s.metrics(), "rigwatch_fleet_unreachable"), 1.0)
            self.assertEqual(len(s.subjects("fleet unreachable")), 1,
                             s.smtp.subjects())
            self.assertTrue(s.am.alerts(alertname=FLEET_ALERT))
            # No restart while tripped, before or after the agent's restart.
            # (After the return a held restart may follow by design, when a
            # target is still red group_wait after it.)
            self.assertEqual(s.total_restarts(), 0, "zero restarts while dark")

            for name in dark:
                s.sim.call("DELETE", f"/miners/{name}/faults/all")
            wait_until(lambda: s.subjects("fleet reachable again"), timeout=30,
                       what="recovery mail")
            wait_until(lambda: not s.am.alerts(alertname=FLEET_ALERT),
                       timeout=20, what="fleet alert resolved in Alertmanager")
            wait_rounds(s, 3)  # time for a late copy to show
            self.assertEqual(len(s.subjects("fleet unreachable")), 1,
                             s.smtp.subjects())
            self.assertEqual(len(s.subjects("fleet reachable again")), 1,
                             s.smtp.subjects())
            ids = [m["Message-ID"] for m in s.smtp.mails()]
            self.assertEqual(len(ids), len(set(ids)), ids)
        finally:
            s.close()


UNSUPPORTED_RULES = """
rules:
  - name: always_red
    metric: miner_up
    red: ">= 0"
    for: 0s
    on_red: [notify, restart]
"""


class UnsupportedRestartTest(unittest.TestCase):
    def test_code_14_is_named_in_the_mail(self):
        s = Scenario("127.38.0.0", miners=1, mix="luxos-s19=1")
        try:
            with open(os.path.join(s.agent.tmp, "rules.yaml"), "w") as f:
                f.write(UNSUPPORTED_RULES)
            # The plain cgminer kind, not LuxOS's own: its restart is the
            # cgminer command, which this firmware answers with Code 14.
            with open(s.sim.targets) as f:
                targets = f.read()
            self.assertIn("kind: luxos", targets)
            with open(s.sim.targets, "w") as f:
                f.write(targets.replace("kind: luxos", "kind: cgminer"))
            s.agent.start()
            name = s.names[0]
            wait_until(lambda: s.mail_about("FIRING", "always_red", name),
                       timeout=30, what="firing mail")
            body = s.mail_about("FIRING", "always_red", name).get_payload(
                decode=True).decode("utf-8")
            self.assertRegex(body, r"action: +restart not supported by this "
                                   r"firmware: .*Code 14")
            self.assertEqual(metric(s.metrics(), "rigwatch_restarts_total",
                                    miner=name, result="unsupported"), 1.0)
        finally:
            s.close()


if __name__ == "__main__":
    rigwatch_testlib.main()
