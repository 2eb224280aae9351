"""The store through the real agent and CLI: CSV export while the agent
runs, the series API, scheduled backups, verify, restore (refusing a live or
non-empty directory and a damaged backup), db check, export from a restored
copy."""

import csv
import glob
import json
import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import rigwatch_testlib  # noqa: E402
from rigwatch_testlib import RIGWATCH, Agent, FleetSim, http_get, wait_until  # noqa: E402


def run(*args, timeout=120):
    return subprocess.run([RIGWATCH, *args], capture_output=True, text=True,
                          timeout=timeout)


class StoreCliTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.agent = Agent("""
http: { listen: "127.0.0.1:{PORT}" }
storage: { path: "{TMP}/data" }
scrape: { interval: 1s, timeout: 500ms }
host: { enabled: true, root: /, filesystems: [/] }
miner_files: [ "{TMP}/targets.yaml" ]
backup: { dir: "{TMP}/backups", every: 4s, keep: 2 }
""")
        cls.sim = FleetSim(cls.agent.tmp, miners=4, mix="axeos=0.5,cgminer=0.5",
                           base_address="127.40.0.0")
        cls.agent.start()
        time.sleep(6)
        cls.cfg = cls.agent.config_path
        cls.tmp = cls.agent.tmp

    @classmethod
    def tearDownClass(cls):
        cls.agent.cleanup()
        cls.sim.stop()

    def read_csv(self, path):
        with open(path, newline="") as f:
            return list(csv.reader(f))

    def test_1_export_while_running(self):
        out = os.path.join(self.tmp, "export.csv")
        p = run("export", "--config", self.cfg, "--from", "-10m", "--output", out)
        self.assertEqual(p.returncode, 0, p.stderr)
        rows = self.read_csv(out)
        self.assertEqual(rows[0], ["timestamp", "miner", "metric", "labels", "value"])
        self.assertGreater(len(rows), 100)
        miners = {r[1] for r in rows[1:]}
        self.assertIn("sim-axeos-0001", miners)
        self.assertIn("sim-cgminer-0001", miners)
        self.assertIn("host", miners)
        stamps = [r[0] for r in rows[1:]]
        self.assertEqual(stamps, sorted(stamps), "rows in time order")
        self.assertTrue(stamps[0].endswith("Z"))
        # Filters.
        p = run("export", "--config", self.cfg, "--hours", "1", "--miner",
                "sim-axeos-0001", "--metric", "miner_power_watts", "--output", "-")
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = p.stdout.strip().splitlines()[1:]
        self.assertGreater(len(lines), 2)
        self.assertTrue(all(",sim-axeos-0001,miner_power_watts,," in l for l in lines), lines[:3])

    def test_2_bad_ranges_are_clear_errors(self):
        p = run("export", "--config", self.cfg, "--from", "now", "--to", "-1h",
                "--output", "-")
        self.assertEqual(p.returncode, 2)
        self.assertIn("--from must be before --to", p.stderr)
        p = run("export", "--config", self.cfg, "--from", "yesterday-ish", "--output", "-")
        self.assertEqual(p.returncode, 2)
        self.assertIn("invalid time", p.stderr)
        p = run("export", "--config", self.cfg, "--hours", "-3", "--output", "-")
        self.assertEqual(p.returncode, 2)

    def test_3_series_api_and_http_export(self):
        st, _, body = http_get(self.agent.base +
                               "/api/v1/series?match=miner_up%7Bminer%3D%22sim-axeos-0001%22%7D&from=-5m")
        self.assertEqual(st, 200, body)
        data = json.loads(body)
        self.assertEqual(len(data["series"]), 1)
        self.assertGreater(len(data["series"][0]["points"]), 2)
        st, _, body = http_get(self.agent.base + "/api/v1/series?match=miner_up%7Bbad")
        self.assertEqual(st, 400)
        self.assertIn("selector", json.loads(body)["error"])
        st, headers, body = http_get(self.agent.base +
                                     "/api/v1/export?from=-5m&miner=sim-cgminer-0002")
        self.assertEqual(st, 200)
        lines = body.decode().strip().splitlines()
        self.assertEqual(lines[0], "timestamp,miner,metric,labels,value")
        self.assertTrue(all(",sim-cgminer-0002," in l for l in lines[1:]))

    def test_3b_target_page(self):
        st, _, body = http_get(self.agent.base + "/api/v1/targets/sim-axeos-0001")
        self.assertEqual(st, 200, body)
        data = json.loads(body)
        self.assertEqual(data["target"], "sim-axeos-0001")
        self.assertIsInstance(data["states"], list)
        self.assertGreater(len(data["miner_up"][0]["points"]), 2)
        st, _, body = http_get(self.agent.base + "/api/v1/targets")
        self.assertEqual(st, 200)
        self.assertIn("states", json.loads(body))

    def test_4_backups_verify_restore(self):
        backups = os.path.join(self.tmp, "backups")
        def backup_with_samples():
            # id, time, size, "MB", files, "files", samples, "samples", verified
            for line in run("backup", "list", "--config", self.cfg).stdout.splitlines():
                f = line.split()
                if len(f) >= 9 and f[-1] == "verified" and int(f[-3]) > 0:
                    return True
            return False
        wait_until(backup_with_samples, timeout=60, interval=0.5,
                   what="a scheduled backup holding samples")
        p = run("backup", "list", "--config", self.cfg)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("verified", p.stdout)
        st, _, body = http_get(self.agent.base + "/metrics")
        self.assertIn(b"rigwatch_backup_failures_total 0", body)
        # Never onto the live store, never into a non-empty directory.
        p = run("backup", "restore", "--config", self.cfg, "--to", os.path.join(self.tmp, "data"))
        self.assertNotEqual(p.returncode, 0)
        # Stop the agent, then restore and read the copy.
        self.assertEqual(self.agent.stop(), 0)
        p = run("backup", "verify", "--config", self.cfg)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        restored = os.path.join(self.tmp, "restored")
        p = run("backup", "restore", "--config", self.cfg, "--to", restored)
        self.assertEqual(p.returncode, 0, p.stderr)
        cfg2 = os.path.join(self.tmp, "restored.yaml")
        with open(cfg2, "w") as f:
            f.write(f'storage: {{ path: "{restored}" }}\n')
        p = run("db", "check", "--config", cfg2)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        p = run("export", "--config", cfg2, "--hours", "1", "--output", "-")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertGreater(len(p.stdout.splitlines()), 50)
        # A damaged backup fails verification and is not restored.
        files = sorted(glob.glob(os.path.join(backups, "**", "*.sst"), recursive=True),
                       key=os.path.getsize)
        self.assertTrue(files, os.listdir(backups))
        victim = files[-1]
        size = os.path.getsize(victim)
        with open(victim, "r+b") as f:
            f.truncate(size // 2)
        p = run("backup", "verify", "--config", self.cfg)
        self.assertEqual(p.returncode, 1, p.stdout)
        p = run("backup", "restore", "--config", self.cfg, "--to",
                os.path.join(self.tmp, "restored2"))
        self.assertEqual(p.returncode, 1)
        self.assertIn("data_loss", p.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "restored2", "CURRENT")))


if __name__ == "__main__":
    rigwatch_testlib.main()
