"""`kind: auto` with the real agent over the fleet simulator:

- one miner of every simulated variant (AxeOS, NerdQAxe, cgminer 4.11,
  Antminer S9 and S19, Avalon, LuxOS, Vnish, Braiins OS on BOSer and on
  BOSminer+, Whatsminer), configured with `kind: auto` only:
  each is told its kind (miner_info{kind} on /metrics), polled (miner_up 1)
  and the decision is logged once with its evidence;
- a miner reflashed under the agent: the simulator is restarted with LuxOS
  where a stock Antminer answered on the same address and port; the new
  firmware string triggers a new probe and the kind becomes luxos;
- an address where nothing answers stays down with a `could not tell`
  reason.
"""

import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from rigwatch_testlib import (Agent, FleetSim, free_port,  # noqa: E402
                              http_get, metric, parse_metrics, wait_until)

FLEET_BASE = "127.46.0.0"
# The reflash pair: an Antminer at BASE + 2/16 + 1 (the antminer /16); the
# second simulator's base is two /16s lower, so its LuxOS (the luxos /16,
# BASE + 4/16) lands on the same address.
FLASH_BASE, FLASH_BASE_AFTER = "127.52.0.0", "127.50.0.0"
FLASH_IP = "127.54.0.1"

EXPECTED = {
    "axeos-v2.12": "bitaxe",
    "axeos-v2.15": "bitaxe",
    "nerdqaxe-v1.0.35": "bitaxe",
    "cgminer-4.11": "cgminer",
    "antminer-s9": "antminer",
    "antminer-s19": "antminer",
    "avalon-1366": "avalon",
    "luxos-s19": "luxos",
    "vnish-s19xp": "vnish",
    "braiins-s19": "braiins",
    "braiins-s9": "braiins",
    "whatsminer-m50": "whatsminer",
}


class AutoKindTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.agent = Agent("placeholder: {}\n")
        mix = ",".join(f"{v}=1" for v in EXPECTED)
        cls.sim = FleetSim(cls.agent.tmp, miners=len(EXPECTED), mix=mix,
                           base_address=FLEET_BASE)
        cls.miners = cls.sim.call("GET", "/miners")["miners"]
        cls.flash_port = free_port(FLASH_IP)
        cls.flash_sim = cls.start_flash_sim("antminer-s19", FLASH_BASE)
        entries = []
        for m in cls.miners:
            host, port = m["address"].rsplit(":", 1)
            if m["variant"].startswith(("axeos", "nerdqaxe")):
                # The web side is the API: nothing listens on 4028 there.
                entries.append(f'  - {{name: {m["name"]}, kind: auto, '
                               f'address: "{host}", http_port: {port}}}')
            elif m["variant"].startswith("vnish"):
                # Told from 4028, polled over REST on the same port.
                entries.append(f'  - {{name: {m["name"]}, kind: auto, '
                               f'address: "{m["address"]}", http_port: {port}}}')
            else:
                entries.append(f'  - {{name: {m["name"]}, kind: auto, '
                               f'address: "{m["address"]}"}}')
        entries.append(f'  - {{name: reflashed, kind: auto, '
                       f'address: "{FLASH_IP}:{cls.flash_port}"}}')
        # Nothing listens there, neither on 4028 nor on the web port.
        entries.append('  - {name: nothing, kind: auto, address: "127.46.255.250", '
                       'http_port: 1}')
        cls.agent.write_config(f"""
http: {{ listen: "127.0.0.1:{{PORT}}" }}
storage: {{ path: "{{TMP}}/data" }}
scrape: {{ interval: 1s, timeout: 800ms, breaker_failures: 1000 }}
host: {{ enabled: false }}
log: {{ level: info }}
miners:
""" + "\n".join(entries) + "\n")
        cls.agent.start()

    @classmethod
    def start_flash_sim(cls, variant, base):
        d = os.path.join(cls.agent.tmp, variant)
        os.makedirs(d, exist_ok=True)
        return FleetSim(d, miners=1, mix=f"{variant}=1", base_address=base,
                        extra=["--cgminer-port", str(cls.flash_port)])

    @classmethod
    def tearDownClass(cls):
        cls.agent.cleanup()
        cls.sim.stop()
        cls.flash_sim.stop()

    def metrics(self):
        return parse_metrics(http_get(self.agent.base + "/metrics")[2].decode())

    def detected(self):
        return [line for line in self.agent.logs().splitlines()
                if "event=miner_kind_detected" in line]

    def test_1_every_family_is_told_its_kind(self):
        def not_up():
            m = self.metrics()
            return [x["name"] for x in self.miners
                    if metric(m, "miner_up", miner=x["name"],
                              kind=EXPECTED[x["variant"]]) != 1]
        try:
            wait_until(lambda: not not_up(), timeout=30,
                       what="every auto miner up with its kind")
        except AssertionError as e:
            raise AssertionError(f"{e}; not up: {not_up()}\n"
                                 + "\n".join(self.detected())) from None
        m = self.metrics()
        for x in self.miners:
            kind = EXPECTED[x["variant"]]
            self.assertEqual(metric(m, "miner_info", miner=x["name"], kind=kind),
                             1, x)
            lines = [line for line in self.detected()
                     if f"miner={x['name']} " in line]
            self.assertEqual(len(lines), 1, (x, lines))
            self.assertIn(f"kind={kind} ", lines[0])
            self.assertIn("evidence=", lines[0])
        self.assertEqual(metric(m, "miner_info", miner="sim-luxos-0001",
                                kind="luxos", model="Antminer S19j Pro"), 1)

    def test_2_nothing_there_stays_down_with_the_reason(self):
        wait_until(lambda: metric(self.metrics(), "miner_up", miner="nothing",
                                  kind="auto") == 0,
                   timeout=20, what="the empty address down")
        wait_until(lambda: "kind: auto could not tell: version: " in self.agent.logs(),
                   timeout=20, what="the reason logged")

    def test_3_a_reflash_is_probed_again(self):
        wait_until(lambda: metric(self.metrics(), "miner_up", miner="reflashed",
                                  kind="antminer") == 1,
                   timeout=30, what="the stock Antminer up")
        self.flash_sim.stop()
        type(self).flash_sim = self.start_flash_sim("luxos-s19", FLASH_BASE_AFTER)
        self.assertEqual(self.flash_sim.call("GET", "/miners")["miners"][0]["address"],
                         f"{FLASH_IP}:{self.flash_port}")
        wait_until(lambda: metric(self.metrics(), "miner_info", miner="reflashed",
                                  kind="luxos") == 1,
                   timeout=40, what="the reflashed miner told luxos")
        self.assertEqual(metric(self.metrics(), "miner_up", miner="reflashed",
                                kind="luxos"), 1)
        logs = self.agent.logs()
        self.assertIn("event=miner_kind_reprobe miner=reflashed", logs)
        lines = [line for line in self.detected() if "miner=reflashed " in line]
        self.assertEqual([("kind=antminer " in x, "kind=luxos " in x) for x in lines],
                         [(True, False), (False, True)], lines)


if __name__ == "__main__":
    unittest.main()
