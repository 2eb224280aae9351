"""The contract deploy/rigwatch.service relies on (Type=notify,
WatchdogSec=): the real binary, started with NOTIFY_SOCKET and WATCHDOG_USEC
as systemd would, sends READY=1 once serving, WATCHDOG=1 at least every half
interval, RELOADING=1 then READY=1 on SIGHUP, STOPPING=1 on SIGTERM. A real
datagram socket plays the service manager."""

import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import rigwatch_testlib  # noqa: E402
from rigwatch_testlib import RIGWATCH, free_port, spawn  # noqa: E402

WATCHDOG_USEC = 2_000_000  # 2 s: pings expected at least every 1 s

CONFIG = """
http: {{ listen: "127.0.0.1:{port}" }}
storage: {{ path: "{tmp}/data" }}
scrape: {{ interval: 10s, timeout: 5s }}
host: {{ enabled: false }}
log: {{ level: info }}
"""


class ServiceNotifyTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="rigwatch-notify-")
        self.sock_path = os.path.join(self.tmp, "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.sock_path)
        config = os.path.join(self.tmp, "rigwatch.yaml")
        with open(config, "w") as f:
            f.write(CONFIG.format(port=free_port(), tmp=self.tmp))
        env = dict(os.environ, NOTIFY_SOCKET=self.sock_path,
                   WATCHDOG_USEC=str(WATCHDOG_USEC))
        env.pop("WATCHDOG_PID", None)
        self.log = open(os.path.join(self.tmp, "agent.log"), "wb")
        self.proc = spawn([RIGWATCH, "run", "--config", config],
                          stdout=self.log, stderr=subprocess.STDOUT,
                          env=env, cwd=self.tmp)

    def tearDown(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        self.sock.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def logs(self):
        with open(os.path.join(self.tmp, "agent.log"), "rb") as f:
            return f.read().decode("utf-8", "replace")[-3000:]

    def next_message(self, timeout):
        """The next datagram (as text) within timeout seconds, or None."""
        ready, _, _ = select.select([self.sock], [], [], timeout)
        if not ready:
            return None
        return self.sock.recv(4096).decode()

    def expect(self, assignment, timeout):
        """Reads messages until one holds `assignment`; returns the time it
        took. Fails with everything seen when it does not come in time."""
        start = time.monotonic()
        seen = []
        while time.monotonic() - start < timeout:
            msg = self.next_message(timeout - (time.monotonic() - start))
            if msg is None:
                break
            seen.append(msg)
            if assignment in msg.split("\n"):
                return time.monotonic() - start
        self.fail(f"no {assignment} within {timeout}s (got {seen!r}; "
                  f"exit={self.proc.poll()})\n{self.logs()}")

    def test_ready_watchdog_reload_stopping(self):
        self.expect("READY=1", timeout=30)
        # Three pings in a row, each within the watchdog's half interval
        # (plus scheduling slack on a loaded 2-core machine).
        for _ in range(3):
            took = self.expect("WATCHDOG=1", timeout=WATCHDOG_USEC / 1e6)
            self.assertLess(took, WATCHDOG_USEC / 1e6)
        self.proc.send_signal(signal.SIGHUP)
        self.expect("RELOADING=1", timeout=10)
        self.expect("READY=1", timeout=10)
        self.proc.send_signal(signal.SIGTERM)
        self.expect("STOPPING=1", timeout=10)
        self.assertEqual(self.proc.wait(timeout=30), 0, self.logs())


if __name__ == "__main__":
    rigwatch_testlib.main()
