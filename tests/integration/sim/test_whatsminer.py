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
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
sys.path.insert(0, os.path.dirname(__file__))
import rigwatch_testlib  # noqa: E402
from kind_fleet import KindFleetTest, shipped_asic_rules  # noqa: E402
from rigwatch_testlib import metric, wait_until  # noqa: E402

OK, BAD = "sim-whatsminer-0001", "sim-whatsminer-0002"
PASSWORD = "wm-s3cret"


class WhatsminerTest(KindFleetTest):
    PASSWORD = PASSWORD

    @classmethod
    def setUpClass(cls):
        cls.start_fleet(2, "whatsminer-m50=1", "127.44.0.0",
                        rules=shipped_asic_rules("whatsminer_chip_temperature"))
        # The owner set the agent's password on OK; BAD keeps the factory one.
        cls.sim.fault(OK, "password", PASSWORD)
        cls.start_agent([
            f'  - {{name: {n}, kind: whatsminer, address: "{cls.address(n)}", '
            f'auth: {{password_file: "{cls.password_file}"}}}}'
            for n in (OK, BAD)])

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

        wait_until(lambda: self.restarts(OK, "ok") >= 1, timeout=20,
                   what="restart accepted")
        wait_until(lambda: self.restarts(BAD, "denied") >= 1, timeout=20,
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
