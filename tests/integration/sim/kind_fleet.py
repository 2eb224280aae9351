"""The frame of the per-kind suites (test_families.py, test_token_kinds.py,
test_whatsminer.py): one agent with the shipped ASIC temperature rules,
shortened so an episode fits in a test, over a simulated fleet of the
kinds under test."""

import os
import re
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from rigwatch_testlib import (SOURCE_DIR, Agent, FleetSim,  # noqa: E402
                              http_get, metric, parse_metrics)


def shipped_asic_rules(first_rule=None):
    """The ASIC section of rules/default.yaml (from the rule named
    `first_rule` on, when given), with a short `for:` and a restart on red
    so the episode fits in a test."""
    with open(os.path.join(SOURCE_DIR, "rules", "default.yaml")) as f:
        text = f.read()
    start = (text.index(f"  - name: {first_rule}\n") if first_rule
             else text.index("# ---- ASIC kinds"))
    end = text.index("# ---- end of ASIC kinds")
    section = text[start:end]
    section = section.replace("for: 1m", "for: 2s")
    section = section.replace("on_red: [notify]", "on_red: [restart]")
    section = re.sub(r"\n\s*on_yellow: \[notify\]", "", section)
    return "rules:\n" + (section if first_rule else "  " + section)


class KindFleetTest(unittest.TestCase):
    """Subclasses call start_fleet(), set up the simulated miners, then
    start_agent() with their `miners:` lines."""

    PASSWORD = "s3cret-pw"  # in cls.password_file; the agent's miner login

    @classmethod
    def start_fleet(cls, miners, mix, base_address, rules=None):
        cls.agent = Agent("placeholder: {}\n")
        cls.sim = FleetSim(cls.agent.tmp, miners=miners, mix=mix,
                           base_address=base_address,
                           extra=["--reboot-downtime", "1s"])
        cls.miners = {m["name"]: m
                      for m in cls.sim.call("GET", "/miners")["miners"]}
        for name in cls.miners:
            cls.sim.call("POST", f"/miners/{name}/params", {"temp_c": 60})
        cls.password_file = os.path.join(cls.agent.tmp, "miner.pw")
        with open(cls.password_file, "w") as f:
            f.write(cls.PASSWORD + "\n")
        with open(os.path.join(cls.agent.tmp, "rules.yaml"), "w") as f:
            f.write(rules if rules is not None else shipped_asic_rules())

    @classmethod
    def address(cls, name):
        return cls.miners[name]["address"]

    @classmethod
    def port(cls, name):
        """The simulated miner's one port (its web side shares it)."""
        return cls.address(name).rsplit(":", 1)[1]

    @classmethod
    def start_agent(cls, miner_lines):
        miners = "\n".join(miner_lines)
        cls.agent.write_config(f"""
http: {{ listen: "127.0.0.1:{{PORT}}" }}
storage: {{ path: "{{TMP}}/data" }}
scrape: {{ interval: 1s, timeout: 800ms, breaker_failures: 1000 }}
host: {{ enabled: false }}
rule_files: [ "{{TMP}}/rules.yaml" ]
actions: {{ restart_cooldown: 2s, restart_grace: 3s, guard_fraction: 0.9 }}
log: {{ level: info }}
miners:
{miners}
""")
        cls.agent.start()

    @classmethod
    def tearDownClass(cls):
        cls.agent.cleanup()
        cls.sim.stop()

    def metrics(self):
        return parse_metrics(http_get(self.agent.base + "/metrics")[2].decode())

    def temp(self, m, miner, sensor):
        return metric(m, "miner_temperature_celsius", miner=miner,
                      sensor=sensor)

    def seen(self, miner):
        return [r["what"] for r in self.sim.requests(miner)]

    def restarts(self, name, result):
        return metric(self.metrics(), "rigwatch_restarts_total", miner=name,
                      result=result) or 0
