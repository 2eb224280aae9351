"""One agent over two simulated Whatsminer M50S (btminer API v2.0.5):

- each is polled with the right values in base units (chip/board/env and
  per-board temperatures, hashrate in H/s, fans in/out, power, chains,
  pools, model and firmware);
- the shipped Whatsminer temperature rules (their selectors and
  thresholds, with a short `for:` and `restart` on red) turn an overheating
  one red;
- the restart reaches the simulated miner through the signed, encrypted
  write (get_version, get_token, restart_btminer under AES-256-ECB), the
  simulator checks the sign and counts it, and the miner reboots;
- the miner whose password differs from the agent's answers Code 135
  "check token err" to both tries: the restart is `denied` with the
  miner's words, and the password is never logged.
"""

import os
import re
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import rigwatch_testlib  # noqa: E402
from rigwatch_testlib import (SOURCE_DIR, Agent,  # noqa: E402
                              FleetSim, http_get, metric, parse_metrics,
                              wait_until)

OK, BAD = "sim-whatsminer-0001", "sim-whatsminer-0002"
PASSWORD = "wm-s3cret"


def shipped_whatsminer_rules():
    """The whatsminer rules of rules/default.yaml's ASIC section, with a
    short `for:` and a restart on red so the episode fits in a test."""
    with open(os.path.join(SOURCE_DIR, "rules", "default.yaml")) as f:
        text = f.read()
    start = text.index("  - name: whatsminer_chip_temperature")
    end = text.index("# ---- end of ASIC kinds")
    section = text[start:end]
    section = section.replace("for: 1m", "for: 2s")
    section = section.replace("on_red: [notify]", "on_red: [restart]")
    section = re.sub(r"\n\s*on_yellow: \[notify\]", "", section)
    return "rules:\n" + section


class WhatsminerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.agent = Agent("placeholder: {}\n")
        cls.sim = FleetSim(cls.agent.tmp, miners=2, mix="whatsminer-m50=1",
                           base_address="127.44.0.0",
                           extra=["--reboot-downtime", "1s"])
        cls.miners = {m["name"]: m for m in cls.sim.call("GET", "/miners")["miners"]}
        for name in cls.miners:
            cls.sim.call("POST", f"/miners/{name}/params", {"temp_c": 60})
        # The owner set the agent's password on OK; BAD keeps the factory one.
        cls.sim.fault(OK, "password", PASSWORD)
        pw = os.path.join(cls.agent.tmp, "whatsminer.pw")
        with open(pw, "w") as f:
            f.write(PASSWORD + "\n")
        with open(os.path.join(cls.agent.tmp, "rules.yaml"), "w") as f:
            f.write(shipped_whatsminer_rules())
        miners = "\n".join(
            f'  - {{name: {n}, kind: whatsminer, address: "{cls.miners[n]["address"]}", '
            f'auth: {{password_file: "{pw}"}}}}' for n in (OK, BAD))
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
        return metric(m, "miner_temperature_celsius", miner=miner, sensor=sensor)

    def seen(self, miner):
        return [r["what"] for r in self.sim.requests(miner)]

    def test_1_polled_with_the_right_values(self):
        wait_until(lambda: all(metric(self.metrics(), "miner_up", miner=n,
                                      kind="whatsminer") == 1
                               for n in (OK, BAD)),
                   timeout=20, what="both up")
        wait_until(lambda: self.temp(self.metrics(), OK, "chain2_chip") is not None,
                   timeout=10, what="edevs polled")
        m = self.metrics()
        chip = self.temp(m, OK, "chip")
        self.assertTrue(55 <= chip <= 65, chip)
        self.assertEqual(self.temp(m, OK, "chain2_chip"), chip + 1)
        self.assertEqual(self.temp(m, OK, "chain2_board"), chip + 1 - 14)
        self.assertEqual(self.temp(m, OK, "board"), chip - 14)
        self.assertEqual(self.temp(m, OK, "chip_max"), chip + 7)
        self.assertEqual(self.temp(m, OK, "env"), 25)
        rate = metric(m, "miner_hashrate_hashes_per_second", miner=OK)
        self.assertTrue(5e13 < rate < 2e14, rate)  # ~118 TH/s in H/s
        self.assertGreater(metric(m, "miner_fan_speed_rpm", miner=OK, fan="in"), 1000)
        self.assertGreater(metric(m, "miner_power_watts", miner=OK), 1000)
        self.assertEqual(metric(m, "miner_chain_chips", miner=OK, chain="3"), 148)
        self.assertEqual(metric(m, "miner_device_up", miner=OK, device="chain1"), 1)
        self.assertEqual(metric(m, "miner_pool_up", miner=OK, pool="0"), 1)
        labels = [dict(ls) for (n, ls), _ in m.items() if n == "miner_info"]
        self.assertIn(("M50SVH40", "20240326.18.REL", "whatsminer"),
                      [(x.get("model"), x.get("firmware"), x.get("kind"))
                       for x in labels])
        # Polls never asked for a token or wrote anything.
        self.assertFalse([w for w in self.seen(OK) if "token" in w or "enc" in w])

    def test_2_overheating_goes_red_and_restarts_through_the_signed_write(self):
        wait_until(lambda: all(metric(self.metrics(), "miner_up", miner=n) == 1
                               for n in (OK, BAD)),
                   timeout=20, what="both up")
        for name in (OK, BAD):
            self.sim.call("POST", f"/miners/{name}/params", {"temp_c": 104})

        def red(name):
            return metric(self.metrics(), "rigwatch_rule_state",
                          rule="whatsminer_chip_temperature", miner=name) == 2
        for name in (OK, BAD):
            wait_until(lambda: red(name), timeout=20, what=f"{name} red")

        def restarts(name, result):
            return metric(self.metrics(), "rigwatch_restarts_total", miner=name,
                          result=result) or 0
        wait_until(lambda: restarts(OK, "ok") >= 1, timeout=20,
                   what="restart accepted")
        wait_until(lambda: restarts(BAD, "denied") >= 1, timeout=20,
                   what="wrong password denied")
        for name in (OK, BAD):
            self.sim.call("POST", f"/miners/{name}/params", {"temp_c": 60})
        ok = self.seen(OK)
        i = ok.index("restart_btminer accepted")
        self.assertEqual(ok[i - 2:i], ["get_version", "get_token"])
        bad = self.seen(BAD)
        i = bad.index("get_token")
        self.assertEqual(bad[i:i + 4], ["get_token", "enc check token err",
                                        "get_token", "enc check token err"])
        self.assertNotIn("restart_btminer accepted", bad)
        logs = self.agent.logs()
        self.assertIn("check token err", logs, "the miner's own words")
        self.assertNotIn(PASSWORD, logs, "the password is never logged")

        def sim_miner(name):
            return [x for x in self.sim.call("GET", "/miners")["miners"]
                    if x["name"] == name][0]
        self.assertGreaterEqual(sim_miner(OK)["restarts"], 1)  # the sim counts it
        wait_until(lambda: sim_miner(OK)["reboots"] >= 1, timeout=10,
                   what="whatsminer rebooted")
        self.assertEqual(sim_miner(BAD)["restarts"], 0)
        wait_until(lambda: metric(self.metrics(), "miner_up", miner=OK) == 1,
                   timeout=20, what="back after the reboot")


if __name__ == "__main__":
    rigwatch_testlib.main()
