"""A real CPU burn on the host turns the shipped CPU rule yellow, then red,
then green again after the burn.

The rule is rules/default.yaml's host_cpu_busy with its expression and
thresholds unchanged; only the rate window (1m -> 12s) and `for` (5m -> 2s)
are shortened, so the test takes seconds. The window is long enough that
the busy ratio climbs from 80% to 95% over more than a second (rounds are
1 s apart), so yellow is due before red. The burn is one bounded busy loop
per CPU (`timeout`, in its own process group), ended once the rule is
red."""

import os
import re
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import rigwatch_testlib  # noqa: E402
from rigwatch_testlib import SOURCE_DIR, Agent, http_get, wait_until  # noqa: E402

RULE = "host_cpu_busy"
WINDOW = "12s"
FOR = "2s"
BURN_S = 30  # upper bound of each busy loop; ended earlier once red

CONFIG = """
http: { listen: "127.0.0.1:{PORT}", read_timeout: 2s, threads: 2 }
storage: { path: "{TMP}/data" }
scrape: { interval: 1s, timeout: 500ms }
host: { enabled: true, root: "/", filesystems: [/] }
rule_files: [ "{TMP}/rules.yaml" ]
log: { level: info }
"""


def shipped_rule_text(name):
    """The YAML text of one rule of rules/default.yaml (from its `- name:`
    line to the next rule or comment block)."""
    with open(os.path.join(SOURCE_DIR, "rules", "default.yaml")) as f:
        text = f.read()
    m = re.search(r"^  - name: " + name + r"\n(?:    .*\n)+", text, re.M)
    if not m:
        raise AssertionError(f"rules/default.yaml has no rule {name}")
    return m.group(0)


def host_busy():
    """The host's busy ratio over 2 s from /proc/stat (all CPUs)."""
    def read():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        return sum(v), v[3]
    t0, i0 = read()
    time.sleep(2)
    t1, i1 = read()
    return 1 - (i1 - i0) / max(1, t1 - t0)


class HostCpuRuleTest(unittest.TestCase):
    def setUp(self):
        rule = shipped_rule_text(RULE)
        scaled = re.sub(r"\[1m\]", f"[{WINDOW}]", rule)
        scaled = re.sub(r"^(    for: ).*$", r"\g<1>" + FOR, scaled, flags=re.M)
        # The same expression and thresholds; only the durations change.
        self.assertNotEqual(scaled, rule)
        self.assertIn('yellow: "> 80%"', scaled)
        self.assertIn('red: "> 95%"', scaled)
        self.agent = Agent(CONFIG)
        with open(os.path.join(self.agent.tmp, "rules.yaml"), "w") as f:
            f.write("rules:\n" + scaled)
        self.burners = []
        self.agent.start()

    def stop_burners(self):
        # The group: killing `timeout` alone would leave its loop running.
        for p in self.burners:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait()
        self.burners = []

    def tearDown(self):
        self.stop_burners()
        if any(e for _, e in getattr(self._outcome, "errors", []) if e):
            print(self.agent.logs()[-4000:], file=sys.stderr)
        self.agent.cleanup()

    def level(self):
        """The rule's level from /metrics: 0 green, 1 yellow, 2 red, None
        while the rate window is not covered."""
        _, _, body = http_get(self.agent.base + "/metrics")
        samples = rigwatch_testlib.parse_metrics(body.decode())
        return rigwatch_testlib.metric(samples, "rigwatch_rule_state",
                                       rule=RULE)

    def transitions(self):
        _, _, body = http_get(self.agent.base + "/metrics")
        samples = rigwatch_testlib.parse_metrics(body.decode())
        return {to: rigwatch_testlib.metric(
                    samples, "rigwatch_rule_transitions_total", rule=RULE,
                    to=to) or 0
                for to in ("yellow", "red", "green")}

    def test_burn_turns_yellow_then_red_then_green(self):
        # Green first: a host already above 80% (other load) cannot show
        # the transitions; that is reported, not passed.
        # Green for longer than `for`: not a pending yellow or red.
        since = [None]

        def steady_green():
            if self.level() != 0:
                since[0] = None
                return False
            since[0] = since[0] or time.monotonic()
            return time.monotonic() - since[0] >= 3
        try:
            wait_until(steady_green, timeout=30, interval=0.5,
                       what=f"{RULE} green for 3 s before the burn")
        except AssertionError:
            rigwatch_testlib.require(
                False, f"a host below 80% busy before the burn (now "
                       f"{host_busy():.0%}: other load)")
        self.assertEqual(self.transitions(),
                         {"yellow": 0, "red": 0, "green": 0})
        for _ in range(os.cpu_count() or 1):
            self.burners.append(subprocess.Popen(
                ["timeout", str(BURN_S), "sh", "-c", "while :; do :; done"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                start_new_session=True))
        seen = []
        deadline = time.monotonic() + BURN_S
        while time.monotonic() < deadline:
            lv = self.level()
            if lv is not None and (not seen or seen[-1] != lv):
                seen.append(lv)
            if lv == 2:
                break
            time.sleep(0.2)
        self.stop_burners()
        self.assertEqual(seen[-1:], [2], seen)
        # Yellow was entered before red (the transition counters catch a
        # yellow shorter than the polling).
        t = self.transitions()
        self.assertEqual((t["yellow"], t["red"]), (1, 1), (seen, t))
        wait_until(lambda: self.level() == 0, timeout=60, interval=0.5,
                   what=f"{RULE} green after the burn")
        self.assertEqual(self.transitions()["green"], 1)


if __name__ == "__main__":
    rigwatch_testlib.main()
