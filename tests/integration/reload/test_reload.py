"""SIGHUP on the real binary: a changed notify setting applies live (the
next mail goes to the new SMTP server), a key that needs a restart is
named once and exported as rigwatch_config_restart_required, a truncated
or emptied config file is refused and the miners stay watched.
`rigwatch miner restart` through the running agent against the fleet
simulator: journal, cooldown and --force."""

import os
import signal
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import rigwatch_testlib  # noqa: E402
from rigwatch_testlib import (RIGWATCH, Agent, FleetSim, SmtpSink,  # noqa: E402
                              free_port, http_get, metric, parse_metrics,
                              wait_until)

# The sim's miners are always too hot for this rule: it is red from the
# first judged round, so every agent start mails once (group_wait 1s).
RULES = """
rules:
  - name: asic_temperature
    metric: miner_temperature_celsius{sensor="asic"}
    kinds: [bitaxe]
    red: "> 60"
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
          to: ["{to}"], starttls: "off", timeout: 3s }}
  group_wait: 1s
  repeat_interval: 1h
# The guard would count a miner rebooting after its restart as half of this
# two-miner fleet failing; it is not under test here (restart_test.cc is).
actions: {{ restart_cooldown: {cooldown}, restart_grace: 2s, guard_fraction: 1.0 }}
log: {{ level: info }}
"""


def setUpModule():
    rigwatch_testlib.require_module("aiosmtpd")


def metrics(agent):
    return parse_metrics(http_get(agent.base + "/metrics")[2].decode())


class Scenario:
    def __init__(self, base_address, miners, cooldown="1h"):
        self.smtp_a, self.smtp_b = free_port(), free_port()
        self.cooldown = cooldown
        self.agent = Agent(self.config(self.smtp_a, "a@test.invalid"))
        with open(os.path.join(self.agent.tmp, "rules.yaml"), "w") as f:
            f.write(RULES)
        self.sim = FleetSim(self.agent.tmp, miners=miners,
                            mix="axeos-v2.12=1", base_address=base_address,
                            extra=["--reboot-downtime", "1s"])
        for m in self.sim.call("GET", "/miners")["miners"]:
            self.sim.call("POST", f"/miners/{m['name']}/params",
                          {"temp_c": 75})
        self.names = [m["name"] for m in self.sim.call("GET", "/miners")["miners"]]

    def config(self, smtp_port, to, extra=""):
        return CONFIG.format(smtp=smtp_port, to=to,
                             cooldown=self.cooldown) + extra

    def close(self):
        self.agent.cleanup()
        self.sim.stop()


class ReloadTest(unittest.TestCase):
    def test_notify_change_applies_live_and_truncated_file_is_refused(self):
        s = Scenario("127.33.0.0", miners=2)
        a_sink = SmtpSink(os.path.join(s.agent.tmp, "a"), s.smtp_a)
        b_sink = SmtpSink(os.path.join(s.agent.tmp, "b"), s.smtp_b)
        try:
            a_sink.start()
            b_sink.start()
            s.agent.start()
            # The hot miners are mailed through server A, to a@.
            wait_until(lambda: len(a_sink.mails()) >= 1, timeout=30,
                       what="the first alert mail at server A")
            # notify.smtp now points at server B: a reload, no restart.
            s.agent.write_config(s.config(s.smtp_b, "b@test.invalid"))
            s.agent.signal(signal.SIGHUP)
            wait_until(lambda: "changed=notify/actions" in s.agent.logs(),
                       what="the reload that applied notify")
            self.assertEqual(metric(metrics(s.agent),
                                    "rigwatch_config_restart_required"), 0)
            # The test mail path: a third miner turns hot now, its alert
            # goes through B.
            a_count = len(a_sink.mails())
            s.sim.call("POST", f"/miners/{s.names[0]}/params", {"temp_c": 50})
            wait_until(lambda: "to=green" in s.agent.logs(), timeout=20,
                       what="one miner green again")
            s.sim.call("POST", f"/miners/{s.names[0]}/params", {"temp_c": 75})
            wait_until(lambda: any("b@test.invalid" in (m["To"] or "")
                                   for m in b_sink.mails()),
                       timeout=30, what="a mail through server B to b@")
            self.assertEqual(len(a_sink.mails()), a_count,
                             "nothing more went to the old server")

            # A restart-only key: one warning naming it, the gauge at 1.
            moved = s.config(s.smtp_b, "b@test.invalid").replace(
                "/data\"", "/data2\"")
            s.agent.write_config(moved)
            s.agent.signal(signal.SIGHUP)
            wait_until(lambda: metric(metrics(s.agent),
                                      "rigwatch_config_restart_required") == 1,
                       what="rigwatch_config_restart_required 1")
            warnings = [l for l in s.agent.logs().splitlines()
                        if "config_reload_needs_restart" in l]
            self.assertEqual(len(warnings), 1, warnings)
            self.assertIn("keys=storage.path", warnings[0])

            # Truncated mid-write: refused, both miners still polled.
            with open(s.agent.config_path, "w"):
                pass
            s.agent.signal(signal.SIGHUP)
            wait_until(lambda: "config_reload_refused" in s.agent.logs(),
                       what="the empty file refused")
            self.assertIn("the file is empty", s.agent.logs())
            # Half a file (the miner_files line cut): refused as dropping
            # every miner.
            half = s.config(s.smtp_b, "b@test.invalid")
            s.agent.write_config(half[:half.index("miner_files")])
            s.agent.signal(signal.SIGHUP)
            wait_until(lambda: "would stop watching all 2 miners"
                       in s.agent.logs(), what="the cut file refused")
            m = metrics(s.agent)
            for name in s.names:
                self.assertEqual(metric(m, "miner_up", miner=name), 1, name)
            self.assertIsNone(s.agent.proc.poll())
        finally:
            s.close()
            a_sink.stop()
            b_sink.stop()


class MinerRestartCliTest(unittest.TestCase):
    def run_cli(self, agent, *args):
        return subprocess.run([RIGWATCH, "miner", "restart", *args,
                               "--config", agent.config_path],
                              capture_output=True, text=True, timeout=30)

    def restarts_seen(self, sim, name):
        return sum(1 for r in sim.requests(name)
                   if r["what"] in ("POST /api/system/restart", "restart"))

    def test_restart_goes_through_the_agent(self):
        s = Scenario("127.34.0.0", miners=2)
        try:
            s.agent.start()
            name = s.names[1]  # from miner_files: the old CLI missed these
            wait_until(lambda: metric(metrics(s.agent), "miner_up",
                                      miner=name) == 1, what="miner polled")
            first = self.run_cli(s.agent, name)
            self.assertEqual(first.returncode, 0, first.stderr)
            self.assertIn("restart accepted", first.stdout)
            wait_until(lambda: self.restarts_seen(s.sim, name) == 1,
                       what="the restart at the simulated miner")

            again = self.run_cli(s.agent, name)
            self.assertEqual(again.returncode, 1)
            self.assertIn("the cooldown is 1h", again.stderr)
            self.assertEqual(self.restarts_seen(s.sim, name), 1)

            # The miner is back when the agent has polled it after its
            # reboot (uptime went down).
            wait_until(lambda: (metric(metrics(s.agent),
                                       "miner_restarts_detected_total",
                                       miner=name) or 0) >= 1,
                       what="the miner up again after its reboot")
            forced = self.run_cli(s.agent, name, "--force")
            self.assertEqual(forced.returncode, 0, forced.stderr)
            self.assertIn("forced", forced.stdout)
            wait_until(lambda: self.restarts_seen(s.sim, name) == 2,
                       what="the forced restart at the simulated miner")
            wait_until(lambda: "event=restart_forced" in s.agent.logs(),
                       what="the forced restart journaled and logged")
            # /metrics shows the counters of the last collection (1 s).
            wait_until(lambda: metric(metrics(s.agent), "rigwatch_restarts_total",
                                      miner=name, result="ok") == 2,
                       what="two restarts counted")
            self.assertEqual(metric(metrics(s.agent), "rigwatch_restarts_total",
                                    miner=name, result="cooldown"), 1)

            unknown = self.run_cli(s.agent, "no-such-rig")
            self.assertEqual(unknown.returncode, 1)
            self.assertIn('no miner named "no-such-rig" is being watched',
                          unknown.stderr)
        finally:
            s.close()


class CheckConfigTest(unittest.TestCase):
    """check-config (the unit's ExecStartPre) loads what run would load."""

    def check(self, tmp, text, binary_args=("check-config",)):
        path = os.path.join(tmp, "rigwatch.yaml")
        with open(path, "w", newline="") as f:
            f.write(text)
        return subprocess.run([RIGWATCH, *binary_args, "--config", path],
                              capture_output=True, text=True, timeout=30,
                              cwd=tmp)

    def test_every_referenced_file_and_address_is_checked(self):
        import tempfile
        with tempfile.TemporaryDirectory(prefix="rigwatch-cc-") as tmp:
            with open(os.path.join(tmp, "bad_rules.yaml"), "w") as f:
                f.write("rules:\n  - name: hot\n    metric: m\n"
                        "    red: \"> lots\"\n")
            os.mkdir(os.path.join(tmp, "a_dir"))
            base = 'storage: { path: "%s/data" }\n' % tmp
            cases = [
                ("rule_files: [bad_rules.yaml]\n",
                 'bad_rules.yaml:4:13: red: unknown function "lots"'),
                ("rule_files: [missing.yaml]\n",
                 "missing.yaml: rule file: cannot open: No such file"),
                ("rule_files: [a_dir]\n",
                 "a_dir: rule file: not a regular file (a directory)"),
                ("miner_files: [a_dir]\n",
                 "a_dir: miner file: not a regular file (a directory)"),
                ('http: { listen: "999.1.1.1:99999" }\n',
                 'rigwatch.yaml:2:17: http.listen: invalid address '
                 '"999.1.1.1:99999": port must be 1-65535'),
                ("notify:\n  smtp: { url: \"smtps://127.0.0.1:1\", "
                 "from: a@b.c, to: [d@e.f], username: u, "
                 "password_file: /dev/zero }\n",
                 "/dev/zero: notify.smtp.password_file: not a regular file"),
                ("notify:\n  smtp: { from: a@b.c, to: [d@e.f], username: u, "
                 "password_file: rigwatch.yaml }\n",
                 "notify.smtp.username: AUTH would be sent without TLS"),
                ("log: { level: info }\rminers: []\r",
                 "rigwatch.yaml:2:21: carriage return without a line feed"),
            ]
            for extra, expected in cases:
                p = self.check(tmp, base + extra)
                self.assertEqual(p.returncode, 3, (extra, p.stdout, p.stderr))
                self.assertIn(expected, p.stderr, extra)
            # run refuses to start on the same problem, before opening the
            # store.
            p = self.check(tmp, base + "rule_files: [bad_rules.yaml]\n",
                           binary_args=("run",))
            self.assertEqual(p.returncode, 3, p.stderr)
            self.assertIn("bad_rules.yaml:4:13", p.stderr)
            self.assertFalse(os.path.exists(os.path.join(tmp, "data")))
            ok = self.check(tmp, base + "miners: []\n")
            self.assertEqual(ok.returncode, 0, ok.stderr)


if __name__ == "__main__":
    rigwatch_testlib.main()
