"""One agent over a simulated fleet with one miner of each vendor kind
(antminer: stock S19 bmminer with its web CGI; avalon: AvalonMiner 1366;
luxos: LuxOS on an S19):

- each is polled with the right values in base units (temperatures by the
  sensor names the shipped rules select, hashrate in H/s, fans, power,
  chains, pools, identity);
- the shipped ASIC temperature rules (their selectors and thresholds, with a
  short `for:` and `restart` on red) turn an overheating one red;
- the restart reaches each simulated miner through its own protocol and
  auth: HTTP Digest on /cgi-bin/reboot.cgi, ascset 0,reboot,0, and the
  LuxOS session chain (session, logon, rebootdevice <sid>);
- wrong Antminer credentials are `denied` with the miner's message, and the
  password is never logged;
- an Antminer whose 4028 API is off is polled through its web CGI
  (stats.cgi, summary.cgi with Digest), and through the API again once it
  is back.
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
sys.path.insert(0, os.path.dirname(__file__))
import rigwatch_testlib  # noqa: E402
from kind_fleet import KindFleetTest  # noqa: E402
from rigwatch_testlib import metric, metric_sum, wait_until  # noqa: E402

ANT, AVA, LUX = "sim-antminer-0001", "sim-avalon-0001", "sim-luxos-0001"
PASSWORD = "s3cret-pw"


class FamiliesTest(KindFleetTest):
    PASSWORD = PASSWORD

    @classmethod
    def setUpClass(cls):
        cls.start_fleet(3, "antminer-s19=1,avalon-1366=1,luxos-s19=1",
                        "127.40.0.0")
        cls.start_agent([
            # The simulated Antminer serves its CGI on its one port.
            f'  - {{name: {ANT}, kind: antminer, address: "{cls.address(ANT)}", '
            f'http_port: {cls.port(ANT)}, '
            f'auth: {{username: root, password_file: "{cls.password_file}"}}}}',
            f'  - {{name: {AVA}, kind: avalon, address: "{cls.address(AVA)}"}}',
            f'  - {{name: {LUX}, kind: luxos, address: "{cls.address(LUX)}"}}',
        ])

    def test_1_polled_with_the_right_values(self):
        wait_until(lambda: all(metric(self.metrics(), "miner_up", miner=n) == 1
                               for n in (ANT, AVA, LUX)),
                   timeout=20, what="every kind up")
        wait_until(lambda: self.temp(self.metrics(), LUX, "chain2_chip") is not None,
                   timeout=10, what="stats polled")
        m = self.metrics()
        for name, kind in ((ANT, "antminer"), (AVA, "avalon"), (LUX, "luxos")):
            self.assertEqual(metric(m, "miner_up", miner=name, kind=kind), 1)
            chip = self.temp(m, name, "chip")
            self.assertIsNotNone(chip, name)
            self.assertTrue(55 <= chip <= 65, (name, chip))
            rate = metric(m, "miner_hashrate_hashes_per_second", miner=name)
            self.assertTrue(5e13 < rate < 2e14, (name, rate))  # ~100 TH/s in H/s
            self.assertGreater(metric(m, "miner_fan_speed_rpm", miner=name, fan="1"), 1000)
            self.assertEqual(metric(m, "miner_pool_up", miner=name, pool="0"), 1)
        # Antminer and LuxOS: per-chain chip and board from the dash strings.
        for name in (ANT, LUX):
            for n in (1, 2, 3):
                chip = self.temp(m, name, f"chain{n}_chip")
                board = self.temp(m, name, f"chain{n}_board")
                self.assertAlmostEqual(chip - board, 12, delta=1, msg=(name, n))
                self.assertEqual(metric(m, "miner_chain_chips", miner=name,
                                        chain=str(n)), 76)
            self.assertIsNone(self.temp(m, name, "chain4_chip"), "absent chain")
            self.assertEqual(self.temp(m, name, "chip"), self.temp(m, name, "chain2_chip"))
            self.assertIsNotNone(self.temp(m, name, "inlet"))
            self.assertIsNotNone(self.temp(m, name, "outlet"))
        self.assertEqual(metric(m, "miner_device_up", miner=ANT, device="chain1"), 1)
        # Avalon: MM ID0 into inlet, per-board chips, power from PS[4].
        self.assertEqual(self.temp(m, AVA, "inlet"), 25)
        self.assertIsNotNone(self.temp(m, AVA, "chain2_chip"))
        self.assertGreater(metric(m, "miner_power_watts", miner=AVA), 1000)
        self.assertGreater(metric(m, "miner_power_watts", miner=LUX), 1000)
        infos = {ls: v for (n, ls), v in m.items() if n == "miner_info"}
        labels = [dict(ls) for ls in infos]
        self.assertIn(("AVALONMINER 1366", "avalon"),
                      [(x.get("model"), x.get("kind")) for x in labels])
        self.assertIn(("Antminer S19j Pro", "antminer"),
                      [(x.get("model"), x.get("kind")) for x in labels])
        # Polls never asked the Antminer's web side or a privileged command.
        self.assertFalse([w for w in self.seen(ANT) if "cgi" in w])

    def test_2_overheating_goes_red_and_restarts_through_each_protocol(self):
        wait_until(lambda: all(metric(self.metrics(), "miner_up", miner=n) == 1
                               for n in (ANT, AVA, LUX)),
                   timeout=20, what="every kind up")
        # The simulated Antminer still has the factory login: the agent's
        # configured password is wrong at first.
        for name in (ANT, AVA, LUX):
            self.sim.call("POST", f"/miners/{name}/params", {"temp_c": 112})
        rule = {ANT: "asic_chip_temperature", LUX: "asic_chip_temperature",
                AVA: "avalon_chip_temperature"}

        def red(name):
            return metric(self.metrics(), "rigwatch_rule_state", rule=rule[name],
                          miner=name) == 2
        for name in (ANT, AVA, LUX):
            wait_until(lambda: red(name), timeout=20, what=f"{name} red")

        wait_until(lambda: self.restarts(ANT, "denied") == 1, timeout=20,
                   what="antminer restart denied")
        self.assertIn("GET /cgi-bin/reboot.cgi (digest wrong)", self.seen(ANT))
        logs = self.agent.logs()
        self.assertIn("401 - Unauthorized", logs, "the miner's own words")
        self.assertNotIn(PASSWORD, logs, "the password is never logged")
        for name in (AVA, LUX):
            wait_until(lambda: self.restarts(name, "ok") >= 1, timeout=20,
                       what=f"{name} restarted")
        # The owner gives the miner the password the agent has; the next red
        # episode (a restart is sent on the transition to red) gets through
        # with Digest.
        self.sim.fault(ANT, "password", PASSWORD)
        for name in (ANT, AVA, LUX):
            self.sim.call("POST", f"/miners/{name}/params", {"temp_c": 60})
        wait_until(lambda: metric(self.metrics(), "rigwatch_rule_state",
                                  rule=rule[ANT], miner=ANT) == 0,
                   timeout=20, what="antminer green again")
        self.sim.call("POST", f"/miners/{ANT}/params", {"temp_c": 112})
        wait_until(lambda: self.restarts(ANT, "ok") == 1, timeout=20,
                   what="antminer restarted")
        self.sim.call("POST", f"/miners/{ANT}/params", {"temp_c": 60})
        self.assertEqual(self.restarts(ANT, "denied"), 1)
        ant = self.seen(ANT)
        self.assertIn("GET /cgi-bin/reboot.cgi (challenge)", ant)
        self.assertIn("GET /cgi-bin/reboot.cgi (digest ok)", ant)
        self.assertIn("ascset 0,reboot,0", self.seen(AVA))
        lux = self.seen(LUX)
        i = lux.index("session")
        self.assertEqual(lux[i + 1], "logon sid=sim1")
        self.assertEqual(lux[i + 2], "rebootdevice sid=sim1 accepted")
        def reboots(name):
            return [x for x in self.sim.call("GET", "/miners")["miners"]
                    if x["name"] == name][0]["reboots"]
        for name in (ANT, AVA, LUX):
            wait_until(lambda: reboots(name) >= 1, timeout=10,
                       what=f"{name} rebooted")
        self.assertNotIn(PASSWORD, self.agent.logs())


CGI_OK, CGI_DENIED = "sim-antminer-0001", "sim-antminer-0002"


class AntminerCgiFallbackTest(KindFleetTest):
    """Two stock Antminers whose 4028 API is off (`api_off`: every request
    on it is reset) while their web CGI answers: the agent polls stats.cgi
    and summary.cgi with HTTP Digest instead. One has the factory login
    (up, temperatures from the CGI), the other is given a wrong password
    (the poll is denied). Turning the API back on returns to the API."""

    PASSWORD = PASSWORD  # not the simulated miners' factory login

    @classmethod
    def setUpClass(cls):
        cls.start_fleet(2, "antminer-s19=1", "127.40.1.0")
        for name in cls.miners:
            cls.sim.fault(name, "api_off")
        cls.start_agent([
            f'  - {{name: {name}, kind: antminer, address: "{cls.address(name)}", '
            f'http_port: {cls.port(name)}{auth}}}'
            for name, auth in (
                (CGI_OK, ""),
                (CGI_DENIED, f', auth: {{username: root, '
                             f'password_file: "{cls.password_file}"}}'))])

    def test_api_off_polls_the_cgi_then_the_api_again(self):
        def temp(m, sensor):
            return metric(m, "miner_temperature_celsius", miner=CGI_OK,
                          sensor=sensor)
        wait_until(lambda: temp(self.metrics(), "chip") is not None,
                   timeout=20, what="antminer polled through the CGI")
        m = self.metrics()
        self.assertEqual(metric(m, "miner_up", miner=CGI_OK, kind="antminer"), 1)
        # The sim's chain index 1 is its hottest board, at about temp_c.
        self.assertTrue(55 <= temp(m, "chip") <= 65, temp(m, "chip"))
        self.assertEqual(temp(m, "chip"), temp(m, "chain2_chip"))
        for n in (1, 2, 3):
            self.assertAlmostEqual(temp(m, f"chain{n}_chip") - temp(m, f"chain{n}_board"),
                                   12, delta=1)
            self.assertEqual(metric(m, "miner_chain_chips", miner=CGI_OK,
                                    chain=str(n)), 76)
        self.assertIsNone(temp(m, "chain4_chip"), "the board that is down")
        rate = metric(m, "miner_hashrate_hashes_per_second", miner=CGI_OK)
        self.assertTrue(5e13 < rate < 2e14, rate)
        self.assertGreater(metric(m, "miner_fan_speed_rpm", miner=CGI_OK, fan="1"), 1000)
        self.assertEqual(metric(m, "miner_fault", miner=CGI_OK, fault="temp"), 0)
        self.assertIsNone(metric(m, "miner_pool_up", miner=CGI_OK, pool="0"),
                          "the CGI carries no pool status")
        infos = [dict(ls) for (n, ls), _ in m.items() if n == "miner_info"]
        self.assertIn(("Antminer S19j Pro", CGI_OK),
                      [(x.get("model"), x.get("miner")) for x in infos])
        seen = self.seen(CGI_OK)
        self.assertIn("GET /cgi-bin/stats.cgi (digest ok)", seen)
        self.assertIn("GET /cgi-bin/summary.cgi (digest ok)", seen)
        self.assertTrue([w for w in seen if w.endswith("(api off)")])
        self.assertFalse([w for w in seen if w.startswith("pools")],
                         "after the API failed the rest of it is skipped")

        # Wrong password: denied, with the miner's words, never the password.
        wait_until(lambda: (metric_sum(self.metrics(), "rigwatch_poll_total",
                                       kind="antminer", result="denied") or 0) > 0,
                   timeout=20, what="the wrong login is denied")
        self.assertEqual(metric(self.metrics(), "miner_up", miner=CGI_DENIED), 0)
        self.assertIn("GET /cgi-bin/stats.cgi (digest wrong)", self.seen(CGI_DENIED))
        logs = self.agent.logs()
        self.assertNotIn(PASSWORD, logs)
        self.assertEqual(logs.count(f"event=miner_data_source miner={CGI_OK} "
                                    "source=fallback"), 1, "once per change")

        # The API comes back: the next polls use it and the CGI is left alone.
        self.sim.call("DELETE", f"/miners/{CGI_OK}/faults/api_off")
        wait_until(lambda: f"miner={CGI_OK} source=primary" in self.agent.logs(),
                   timeout=20, what="back on the API")
        def since_api_back():
            seen = self.seen(CGI_OK)
            off = [i for i, w in enumerate(seen) if w.endswith("(api off)")]
            tail = seen[off[-1] + 1:] if off else seen
            while tail and "cgi" in tail[0]:  # the last fallback poll
                tail.pop(0)
            return tail
        wait_until(lambda: since_api_back().count("stats") >= 2, timeout=10,
                   what="two more API polls")
        tail = since_api_back()
        self.assertFalse([w for w in tail if "cgi" in w], tail)
        self.assertEqual(metric(self.metrics(), "miner_pool_up", miner=CGI_OK,
                                pool="0"), 1)


if __name__ == "__main__":
    rigwatch_testlib.main()
