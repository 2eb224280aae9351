"""One agent over simulated miners whose restart logs in for a token
(vnish: Vnish 1.2.6 on an S19 XP, REST /api/v1 next to its 4028 API;
braiins: BOSer 25.07 on an S19j Pro, 4028 plus the REST API, and BOSminer+
0.2.0 on an S9 without one):

- each is polled with the right values in base units, without a token;
- the shipped ASIC temperature rules (as in test_families.py) turn an
  overheating one red;
- the restart reaches the simulated miner through its login chain (vnish:
  unlock with the password, reboot with the Bearer token; braiins: version,
  login, reboot with the raw token) and the simulator counts it;
- a wrong password is `denied` with the miner's reply, and the password is
  never logged; the Braiins OS without a REST API is `unsupported` with the
  reason.
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
sys.path.insert(0, os.path.dirname(__file__))
import rigwatch_testlib  # noqa: E402
from kind_fleet import KindFleetTest  # noqa: E402
from rigwatch_testlib import metric, wait_until  # noqa: E402

VN = "sim-vnish-0001"
BR, BR9 = "sim-braiins-0001", "sim-braiins-0002"
PASSWORD = "vn-s3cret"


class TokenKindsTest(KindFleetTest):
    PASSWORD = PASSWORD

    @classmethod
    def setUpClass(cls):
        cls.start_fleet(3, "vnish-s19xp=1,braiins-s19=1,braiins-s9=1",
                        "127.41.0.0")
        pw = cls.password_file
        cls.start_agent([
            # The simulated Vnish serves its REST API on its one port.
            f'  - {{name: {VN}, kind: vnish, address: "{cls.address(VN)}", '
            f'auth: {{password_file: "{pw}"}}}}',
        ] + [
            # The simulated Braiins miners serve their web side on their
            # one port.
            f'  - {{name: {n}, kind: braiins, address: "{cls.address(n)}", '
            f'http_port: {cls.port(n)}, '
            f'auth: {{username: root, password_file: "{pw}"}}}}'
            for n in (BR, BR9)
        ])

    def reboots(self, name):
        return [x for x in self.sim.call("GET", "/miners")["miners"]
                if x["name"] == name][0]["reboots"]

    def set_temp(self, name, c):
        self.sim.call("POST", f"/miners/{name}/params", {"temp_c": c})

    def rule_state(self, name):
        rule = "asic_chip_temperature" if name == VN else "braiins_chip_temperature"
        return metric(self.metrics(), "rigwatch_rule_state", rule=rule,
                      miner=name)

    def up(self, *names):
        wait_until(lambda: all(metric(self.metrics(), "miner_up", miner=n) == 1
                               for n in names),
                   timeout=20, what=f"{names} up")

    def test_1_vnish_polled_with_the_right_values(self):
        self.up(VN)
        wait_until(lambda: self.temp(self.metrics(), VN, "chain1_chip") is not None,
                   timeout=10, what="summary polled")
        m = self.metrics()
        self.assertEqual(metric(m, "miner_up", miner=VN, kind="vnish"), 1)
        chip = self.temp(m, VN, "chip")
        self.assertTrue(55 <= chip <= 65, chip)
        # Chains 0..2 as Vnish numbers them; chain 1 the hottest.
        for n in (0, 1, 2):
            c = self.temp(m, VN, f"chain{n}_chip")
            self.assertAlmostEqual(c - self.temp(m, VN, f"chain{n}_board"), 12,
                                   delta=1)
            self.assertEqual(metric(m, "miner_device_up", miner=VN,
                                    device=f"chain{n}"), 1)
            self.assertGreater(metric(m, "miner_chain_hashrate_hashes_per_second",
                                      miner=VN, chain=str(n)), 3e13)
        self.assertEqual(chip, self.temp(m, VN, "chain1_chip"))
        self.assertIsNone(self.temp(m, VN, "chain3_chip"))
        rate = metric(m, "miner_hashrate_hashes_per_second", miner=VN)
        self.assertTrue(1e14 < rate < 2e14, rate)  # ~140 TH/s in H/s
        self.assertGreater(metric(m, "miner_fan_speed_rpm", miner=VN, fan="1"), 1000)
        self.assertGreater(metric(m, "miner_power_watts", miner=VN), 2000)
        self.assertEqual(metric(m, "miner_pool_up", miner=VN, pool="0"), 1)
        self.assertIsNone(metric(m, "miner_pool_up", miner=VN, pool="1"),
                          "the DevFee pool is not the owner's")
        labels = [dict(ls) for (n, ls), _ in m.items() if n == "miner_info"]
        self.assertIn(("Antminer S19 XP", "1.2.6", "vnish"),
                      [(x.get("model"), x.get("firmware"), x.get("kind"))
                       for x in labels])
        seen = self.seen(VN)
        self.assertIn("GET /api/v1/summary", seen)
        self.assertIn("GET /api/v1/info", seen)
        self.assertFalse([w for w in seen if "unlock" in w],
                         "polls need no token")

    def test_3_braiins_polled_with_the_right_values(self):
        self.up(BR, BR9)
        wait_until(lambda: self.temp(self.metrics(), BR9, "chain8_chip") is not None,
                   timeout=10, what="temps polled")
        m = self.metrics()
        for name, chains in ((BR, (1, 2, 3)), (BR9, (6, 7, 8))):
            self.assertEqual(metric(m, "miner_up", miner=name, kind="braiins"), 1)
            chip = self.temp(m, name, "chip")
            self.assertTrue(55 <= chip <= 65, (name, chip))
            self.assertEqual(chip, self.temp(m, name, f"chain{chains[1]}_chip"))
            for n in chains:
                self.assertAlmostEqual(
                    self.temp(m, name, f"chain{n}_chip")
                    - self.temp(m, name, f"chain{n}_board"), 15, delta=0.01)
                self.assertEqual(metric(m, "miner_device_up", miner=name,
                                        device=f"chain{n}"), 1)
            self.assertGreater(metric(m, "miner_fan_speed_rpm", miner=name,
                                      fan="1"), 1000)
            self.assertGreater(metric(m, "miner_fan_duty_ratio", miner=name), 0.2)
            self.assertEqual(metric(m, "miner_pool_up", miner=name, pool="0"), 1)
        rate = metric(m, "miner_hashrate_hashes_per_second", miner=BR)
        self.assertTrue(5e13 < rate < 2e14, rate)  # ~100 TH/s in H/s
        self.assertGreater(metric(m, "miner_power_watts", miner=BR), 2000)
        self.assertGreater(metric(m, "miner_power_watts", miner=BR9), 1000)
        labels = [dict(ls) for (n, ls), _ in m.items() if n == "miner_info"]
        self.assertIn(("Antminer S19j Pro", "BOSer boser-buildroot 0.1.0-26ba61b9"),
                      [(x.get("model"), x.get("firmware")) for x in labels])
        self.assertFalse([w for w in self.seen(BR) if "/api/" in w],
                         "polls use 4028 only")

    def test_4_braiins_red_restart_denied_unsupported_then_through(self):
        self.up(BR, BR9)
        for name in (BR, BR9):
            self.set_temp(name, 135)
        for name in (BR, BR9):
            wait_until(lambda: self.rule_state(name) == 2, timeout=20,
                       what=f"{name} red")
        wait_until(lambda: self.restarts(BR, "denied") == 1, timeout=20,
                   what="restart denied")
        wait_until(lambda: self.restarts(BR9, "unsupported") == 1, timeout=20,
                   what="no REST API: unsupported")
        self.assertIn("POST /api/v1/auth/login (password wrong)", self.seen(BR))
        self.assertEqual(self.seen(BR9).count("GET /api/v1/version/"), 1)
        self.assertFalse([w for w in self.seen(BR9) if "login" in w])
        logs = self.agent.logs()
        self.assertIn("invalid username or password", logs, "the miner's reply")
        self.assertIn("GraphQL, gRPC or LuCI", logs, "the reason")
        self.assertNotIn(PASSWORD, logs)
        self.sim.fault(BR, "password", PASSWORD)
        for name in (BR, BR9):
            self.set_temp(name, 60)
        wait_until(lambda: self.rule_state(BR) == 0, timeout=20, what="green")
        self.set_temp(BR, 135)
        wait_until(lambda: self.restarts(BR, "ok") == 1, timeout=20,
                   what="restarted")
        self.set_temp(BR, 60)
        seen = self.seen(BR)
        i = seen.index("POST /api/v1/auth/login (password ok)")
        self.assertEqual(seen[i - 1], "GET /api/v1/version/")
        self.assertEqual(seen[i + 1], "PUT /api/v1/actions/reboot (token ok)")
        wait_until(lambda: self.reboots(BR) >= 1, timeout=10, what="rebooted")
        self.assertEqual(self.reboots(BR9), 0)
        self.assertNotIn(PASSWORD, self.agent.logs())

    def test_2_vnish_red_restart_denied_then_through_the_token(self):
        self.up(VN)
        # The simulator's password is its default, not the agent's.
        self.set_temp(VN, 112)
        wait_until(lambda: self.rule_state(VN) == 2, timeout=20, what="red")
        wait_until(lambda: self.restarts(VN, "denied") == 1, timeout=20,
                   what="restart denied")
        self.assertIn("POST /api/v1/unlock (password wrong)", self.seen(VN))
        self.assertFalse([w for w in self.seen(VN) if "reboot" in w])
        logs = self.agent.logs()
        self.assertIn("unlock_timeout", logs, "the miner's own reply")
        self.assertNotIn(PASSWORD, logs, "the password is never logged")
        self.assertEqual(self.reboots(VN), 0)
        # The owner sets the password the agent has; the next red episode
        # gets through.
        self.sim.fault(VN, "password", PASSWORD)
        self.set_temp(VN, 60)
        wait_until(lambda: self.rule_state(VN) == 0, timeout=20, what="green")
        self.set_temp(VN, 112)
        wait_until(lambda: self.restarts(VN, "ok") == 1, timeout=20,
                   what="restarted")
        self.set_temp(VN, 60)
        seen = self.seen(VN)
        i = seen.index("POST /api/v1/unlock (password ok)")
        self.assertEqual(seen[i + 1], "POST /api/v1/system/reboot (token ok)")
        wait_until(lambda: self.reboots(VN) >= 1, timeout=10, what="rebooted")
        self.assertEqual(self.restarts(VN, "denied"), 1)
        self.assertNotIn(PASSWORD, self.agent.logs())


if __name__ == "__main__":
    rigwatch_testlib.main()
