"""Long handlers against the real agent with one HTTP worker: a
/api/v1/series query that runs past http.handler_timeout stops with a 503
that says why, and one whose client goes away frees the worker at once.

The query is made slow with the test-only hook RIGWATCH_TEST_SLOW_SERIES_MS
(each series read waits that long first; compiled only into test builds),
so a few dozen series of a small simulated fleet take seconds. Prints the
deadline answer's time and how soon the worker served the next request
after the client left."""

import json
import os
import socket
import sys
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from rigwatch_testlib import Agent, FleetSim, http_get, main, wait_until  # noqa: E402

HANDLER_TIMEOUT_S = 2.0
SLOW_SERIES_MS = 50
CONFIG = """
http: { listen: "127.0.0.1:{PORT}", threads: 1, handler_timeout: 2s }
storage: { path: "{TMP}/data" }
scrape: { interval: 1s, timeout: 300ms }
host: { enabled: false }
miner_files: [ "{TMP}/targets.yaml" ]
"""
SELECTOR = '{miner=~"sim-.*"}'
QUERY = "/api/v1/series?" + urllib.parse.urlencode(
    {"match": SELECTOR, "from": "-10m"})


class LongHandlerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.agent = Agent(CONFIG)
        cls.sim = FleetSim(cls.agent.tmp, miners=4, base_address="127.46.0.0")
        saved = os.environ.copy()
        os.environ["RIGWATCH_TEST_SLOW_SERIES_MS"] = str(SLOW_SERIES_MS)
        try:
            cls.agent.start()  # inherits the hook's variable
        finally:
            os.environ.clear()
            os.environ.update(saved)
        # Enough series that reading them all takes well past the deadline.
        want = int(2 * HANDLER_TIMEOUT_S * 1000 / SLOW_SERIES_MS)
        cls.series = 0

        def enough():
            q = "/api/v1/series?" + urllib.parse.urlencode(
                {"match": 'miner_up{miner=~"sim-.*"}', "from": "-10m"})
            st, _, body = http_get(cls.agent.base + q, timeout=10)
            if st != 200 or len(json.loads(body)["series"]) < 4:
                return False
            # Every miner polled: count what the slow query will read.
            st, _, body = http_get(cls.agent.base + "/metrics", timeout=10)
            cls.series = sum(1 for line in body.decode().splitlines()
                             if 'miner="sim-' in line and not line.startswith("#"))
            return cls.series >= want
        wait_until(enough, timeout=30, interval=0.5, what=f"{want} series")

    @classmethod
    def tearDownClass(cls):
        cls.agent.cleanup()
        cls.sim.stop()

    def test_deadline_answer(self):
        t0 = time.monotonic()
        st, _, body = http_get(self.agent.base + QUERY, timeout=30)
        took = time.monotonic() - t0
        print(f"series query past http.handler_timeout ({HANDLER_TIMEOUT_S:g} s,"
              f" ~{self.series} series x {SLOW_SERIES_MS} ms): {st} after "
              f"{took:.2f} s", file=sys.stderr)
        self.assertEqual(st, 503, body)
        err = json.loads(body)["error"]
        self.assertIn("longer than http.handler_timeout (2s)", err)
        self.assertIn("narrow the selector", err)
        self.assertGreaterEqual(took, HANDLER_TIMEOUT_S)
        self.assertLess(took, HANDLER_TIMEOUT_S + 2.0)
        wait_until(lambda: "event=http_handler_stopped" in self.agent.logs(),
                   timeout=5, what="stop logged")

    def test_client_that_leaves_frees_the_worker(self):
        s = socket.create_connection(("127.0.0.1", self.agent.port), timeout=5)
        s.sendall(f"GET {QUERY} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        time.sleep(0.325)  # the only worker is reading series now
        s.close()
        t0 = time.monotonic()
        st, _, body = http_get(self.agent.base + "/api/v1/health", timeout=10)
        took = time.monotonic() - t0
        print(f"worker free after the client left: /api/v1/health answered "
              f"{took * 1000:.0f} ms after the close (threads: 1; the "
              f"deadline would have freed it after "
              f"{HANDLER_TIMEOUT_S - 0.325:.1f} s)", file=sys.stderr)
        self.assertEqual(st, 200, body)
        # Well before the deadline would have ended the query.
        self.assertLess(took, 1.0)


if __name__ == "__main__":
    main()
