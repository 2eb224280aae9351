"""One outbox lane per channel: SMTP black-holed (connections accepted,
never answered, 30 s timeout) while a real Alertmanager receives every push
on time. Three miners turn red a few seconds apart; each alert must be in
Alertmanager within a few seconds of its transition. With one shared lane
the second push would wait behind the stuck mail for the SMTP timeout.
"""

import os
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import rigwatch_testlib  # noqa: E402
from rigwatch_testlib import (Agent, Alertmanager, BlackHole,  # noqa: E402
                              FleetSim, free_port, http_get, main, metric,
                              parse_metrics, wait_until)

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
  alertmanager: {{ url: "{am}" }}
  group_wait: 1s
log: {{ level: info }}
"""

# From the transition (rule `for` 1 s, a 1 s round, group_wait 1 s) to the
# alert listed by Alertmanager, with room for sanitizer builds.
ON_TIME = 8.0


def setUpModule():
    rigwatch_testlib.require_tool(Alertmanager.BINARY)


class LanesTest(unittest.TestCase):
    def test_black_holed_smtp_never_delays_alertmanager(self):
        smtp_port = free_port()
        tmp = tempfile.mkdtemp(prefix="rigwatch-it-")
        am = Alertmanager(tmp)
        agent = Agent(CONFIG.format(smtp=smtp_port, am=am.base), tmpdir=tmp)
        with open(os.path.join(agent.tmp, "rules.yaml"), "w") as f:
            f.write(RULES)
        sim = FleetSim(agent.tmp, miners=3, mix="axeos-v2.12=1",
                       base_address="127.43.0.0")
        hole = BlackHole(smtp_port)
        try:
            am.start()
            names = [m["name"] for m in sim.call("GET", "/miners")["miners"]]
            agent.start()
            firing = lambda n: any(  # noqa: E731
                a["labels"].get("miner") == n and
                a["labels"].get("alertname") == "asic_temperature"
                for a in am.alerts())
            for i, name in enumerate(names):
                t0 = time.monotonic()
                sim.call("POST", f"/miners/{name}/params", {"temp_c": 90})
                wait_until(lambda: firing(name), timeout=ON_TIME,
                           interval=0.1, what=f"{name} in Alertmanager")
                took = time.monotonic() - t0
                print(f"{name}: red to Alertmanager in {took:.2f} s "
                      f"(SMTP connections held: {hole.accepted})",
                      file=sys.stderr)
                if i == 0:
                    # From here on the mail lane is stuck in a delivery.
                    wait_until(lambda: hole.accepted >= 1, timeout=10,
                               what="a mail stuck in the black hole")
            def samples():
                return parse_metrics(http_get(agent.base + "/metrics")[2].decode())
            # The actions counters reach /metrics with the next collection.
            wait_until(lambda: (metric(samples(), "rigwatch_notifications_total",
                                       channel="alertmanager", result="sent")
                                or 0) >= 3,
                       timeout=5, what="three Alertmanager pushes counted")
            self.assertIn(
                metric(samples(), "rigwatch_notifications_total",
                       channel="smtp", result="sent"), (None, 0.0),
                "no mail can have gone out")
            # A stuck delivery is a receiver's problem, not a stuck agent.
            self.assertEqual(http_get(agent.base + "/healthz")[0], 200)
            self.assertEqual(agent.stop(), 0)
        finally:
            hole.stop()
            agent.cleanup()
            sim.stop()
            am.stop()


if __name__ == "__main__":
    main()
