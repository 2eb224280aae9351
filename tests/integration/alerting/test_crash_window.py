"""The crash between the rules' save and the notifier's, on the real agent.

The test-only hook RIGWATCH_TEST_CRASH_AFTER_RULES_SAVE=<file> (test builds
only) kills the agent with SIGKILL when the first yellow or red transition
reaches it: the rules have persisted the red level, the notifier has not
seen it. Started again (without the hook), the restored rule judges red
again, which is no news to the rules; the notifier finds a red it never
recorded and mails it: exactly one firing mail.
"""

import os
import signal
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import rigwatch_testlib  # noqa: E402
from rigwatch_testlib import (Agent, FleetSim, SmtpSink,  # noqa: E402
                              free_port, wait_until)

RULES = """
rules:
  - name: asic_temperature
    metric: miner_temperature_celsius{sensor="asic"}
    kinds: [bitaxe]
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
          to: ["ops@test.invalid"], starttls: "off", timeout: 3s }}
  group_wait: 1s
  repeat_interval: 1h
log: {{ level: info }}
"""


def setUpModule():
    rigwatch_testlib.require_module("aiosmtpd")


class CrashWindowTest(unittest.TestCase):
    def test_red_saved_by_the_rules_only_is_mailed_once_after_restart(self):
        smtp_port = free_port()
        agent = Agent(CONFIG.format(smtp=smtp_port))
        with open(os.path.join(agent.tmp, "rules.yaml"), "w") as f:
            f.write(RULES)
        sim = FleetSim(agent.tmp, miners=1, mix="axeos-v2.12=1",
                       base_address="127.44.0.0")
        smtp = SmtpSink(agent.tmp, smtp_port).start()
        crash = os.path.join(agent.tmp, "crash-once")
        saved = os.environ.copy()
        try:
            name = sim.call("GET", "/miners")["miners"][0]["name"]
            sim.call("POST", f"/miners/{name}/params", {"temp_c": 55})
            open(crash, "w").close()
            os.environ["RIGWATCH_TEST_CRASH_AFTER_RULES_SAVE"] = crash
            try:
                agent.start()
            finally:
                os.environ.clear()
                os.environ.update(saved)
            sim.call("POST", f"/miners/{name}/params", {"temp_c": 90})
            agent.proc.wait(timeout=30)
            self.assertEqual(agent.proc.returncode, -signal.SIGKILL,
                             agent.logs())
            self.assertFalse(os.path.exists(crash), "the hook fired")
            self.assertEqual(smtp.subjects(), [])
            agent.log.close()

            agent.start()  # the environment no longer has the hook
            wait_until(lambda: [s for s in smtp.subjects()
                                if "FIRING" in s and name in s],
                       timeout=20, what="the firing mail after the restart")
            self.assertIn("alert_unrecorded_at_start", agent.logs())
            time.sleep(3)  # a second copy would show by now
            firing = [s for s in smtp.subjects() if "FIRING" in s]
            self.assertEqual(len(firing), 1, smtp.subjects())
            self.assertEqual(agent.stop(), 0)
        finally:
            os.environ.clear()
            os.environ.update(saved)
            agent.cleanup()
            sim.stop()
            smtp.stop()


if __name__ == "__main__":
    rigwatch_testlib.main()
