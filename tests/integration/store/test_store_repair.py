"""Repair through the real agent: a store whose MANIFEST and CURRENT are
lost is called damaged by `db check` (not "not a rigwatch store"), refused
by a plain `rigwatch run`, and one `rigwatch run --repair` brings every row
back."""

import csv
import glob
import io
import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import rigwatch_testlib  # noqa: E402
from rigwatch_testlib import RIGWATCH, Agent, FleetSim, wait_until  # noqa: E402

CONFIG = """
http: { listen: "127.0.0.1:{PORT}" }
storage: { path: "{TMP}/data" }
scrape: { interval: 1s, timeout: 500ms }
miner_files: [ "{TMP}/targets.yaml" ]
"""


def run(*args, timeout=120):
    return subprocess.run([RIGWATCH, *args], capture_output=True, text=True,
                          timeout=timeout)


class StoreRepairTest(unittest.TestCase):
    def setUp(self):
        self.agent = Agent(CONFIG)
        self.tmp = self.agent.tmp
        self.data = os.path.join(self.tmp, "data")
        self.sim = FleetSim(self.tmp, miners=4, base_address="127.41.0.0")
        # db check judges staleness by the scrape interval; the agent is
        # stopped for most of this test, so the checks use a long one.
        self.check_cfg = os.path.join(self.tmp, "check.yaml")
        with open(self.check_cfg, "w") as f:
            f.write(f'storage: {{ path: "{self.data}" }}\n'
                    'scrape: { interval: 1h }\n')

    def tearDown(self):
        self.agent.cleanup()
        self.sim.stop()

    def rows(self, since, until):
        p = run("export", "--config", self.check_cfg, "--from", str(since),
                "--to", str(until), "--output", "-")
        self.assertEqual(p.returncode, 0, p.stderr)
        return list(csv.reader(io.StringIO(p.stdout)))[1:]

    def test_one_repair_after_a_lost_manifest_brings_every_row_back(self):
        since = int(time.time()) - 60
        self.agent.start()
        wait_until(lambda: len(self.rows(since, int(time.time()) + 60)) > 200,
                   timeout=30, interval=0.5, what="rows in the store")
        self.assertEqual(self.agent.stop(), 0)
        until = f"{time.time():.3f}"
        time.sleep(0.5)  # whatever the repaired agent writes comes later
        before = self.rows(since, until)
        p = run("db", "check", "--config", self.check_cfg)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

        lost = glob.glob(os.path.join(self.data, "MANIFEST-*"))
        lost.append(os.path.join(self.data, "CURRENT"))
        for f in lost:
            os.remove(f)
        p = run("db", "check", "--config", self.check_cfg)
        self.assertNotEqual(p.returncode, 0, p.stdout)
        self.assertIn("damaged, run rigwatch run --repair", p.stdout)
        self.assertNotIn("not a rigwatch store", p.stdout)
        # A plain run must not build a new, empty database over the files.
        self.sim.stop()  # no new rows from here on
        plain = subprocess.run([RIGWATCH, "run", "--config", self.agent.config_path],
                               capture_output=True, text=True, timeout=60)
        self.assertNotEqual(plain.returncode, 0)
        self.assertIn("run rigwatch run --repair", plain.stdout + plain.stderr)

        repaired = Agent(CONFIG, tmpdir=self.tmp, extra_args=["--repair"])
        repaired.port = self.agent.port
        repaired.write_config(CONFIG)
        repaired.start()
        self.assertEqual(repaired.stop(), 0)
        self.assertIn("store_repair", repaired.logs())
        after = self.rows(since, until)
        print(f"rows before {len(before)}, after one repair {len(after)}",
              file=sys.stderr)
        self.assertEqual(len(after), len(before))
        self.assertEqual(sorted(after), sorted(before))
        p = run("db", "check", "--config", self.check_cfg)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    def test_a_directory_that_is_no_store_is_called_so(self):
        os.makedirs(self.data)
        with open(os.path.join(self.data, "notes.txt"), "w") as f:
            f.write("not a database\n")
        p = run("db", "check", "--config", self.check_cfg)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("not a rigwatch store", p.stdout)
        self.assertNotIn("damaged", p.stdout)


if __name__ == "__main__":
    rigwatch_testlib.main()
