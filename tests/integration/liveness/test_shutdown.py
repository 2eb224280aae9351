"""Shutdown within 5 s under a stuck delivery, and nothing lost.

An SMTP server that accepts the TCP connection and then never answers (a
black hole on 127.0.0.1) holds the agent's first mail in its delivery
(30 s SMTP timeout). SIGTERM then must end the agent within 5 s with exit
status 0; restarted with a working SMTP server (aiosmtpd) on the same port,
the agent delivers the interrupted mail, once.
"""

import os
import signal
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import rigwatch_testlib  # noqa: E402
from rigwatch_testlib import (Agent, BlackHole, FleetSim, SmtpSink,  # noqa: E402
                              free_port, main, wait_until)

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


if __name__ == "__main__":
    main()
