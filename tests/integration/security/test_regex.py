"""Hostile regexes against the real agent: /api/v1/series?match= with
patterns that overflowed std::regex's stack or backtracked forever. Each
must get a 400 or a bounded answer, and the agent must stay up."""

import json
import os
import sys
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from rigwatch_testlib import Agent, free_port, http_get, wait_until  # noqa: E402

# Names made for `(a+)+$`: a backtracking engine tries 2^30 ways to split the
# a's before it sees the '-'.
MINERS = 100
BACKTRACK_NAME = "a" * 30 + "-{:03d}"
# A label value long enough that a recursive `.*` overflowed the stack.
LONG_NAME = "x" * 400
DEADLINE = 5.0  # seconds one hostile query may take


def config():
    closed = free_port()  # nothing listens: every poll fails, miner_up is 0
    miners = [f'  - {{name: "{BACKTRACK_NAME.format(i)}", kind: bitaxe, '
              f'address: "127.0.0.1:{closed}"}}' for i in range(MINERS)]
    miners.append(f'  - {{name: "{LONG_NAME}", kind: bitaxe, '
                  f'address: "127.0.0.1:{closed}"}}')
    return ("""
http: { listen: "127.0.0.1:{PORT}", threads: 4 }
storage: { path: "{TMP}/data" }
scrape: { interval: 1s, timeout: 300ms }
host: { enabled: false }
miners:
""" + "\n".join(miners) + "\n")


class RegexTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.agent = Agent(config()).start()
        # Wait until the long-named miner's miner_up is stored.
        sel = 'miner_up{miner="%s"}' % LONG_NAME
        wait_until(lambda: json.loads(cls.series(sel)[1]).get("series"),
                   timeout=30, what="the long miner name stored")

    @classmethod
    def tearDownClass(cls):
        cls.agent.cleanup()

    @classmethod
    def series(cls, selector, timeout=DEADLINE):
        q = urllib.parse.urlencode({"match": selector, "from": "-5m"})
        st, _, body = http_get(cls.agent.base + "/api/v1/series?" + q,
                               timeout=timeout)
        return st, body

    def timed(self, selector):
        t0 = time.monotonic()
        st, body = self.series(selector)
        took = time.monotonic() - t0
        self.assertLess(took, DEADLINE, selector[:80])
        return st, body, took

    def assert_alive(self):
        self.assertIsNone(self.agent.proc.poll(), self.agent.logs()[-2000:])
        st, _, body = http_get(self.agent.base + "/metrics", timeout=5)
        self.assertEqual(st, 200)
        self.assertIn(b"rigwatch_build_info", body)

    def assert_json_400(self, st, body, words):
        self.assertEqual(st, 400, body[:300])
        err = json.loads(body)
        self.assertIn(words, err.get("error", ""), err)

    def test_long_regex(self):
        # 700 characters: compiles under RE2 and answers; no series match.
        st, body, _ = self.timed('miner_up{miner=~"%s"}' % ("a" * 700))
        self.assertEqual(st, 200, body[:300])
        self.assertEqual(json.loads(body)["series"], [])
        self.assert_alive()

    def test_too_long_regex_is_400(self):
        st, body, _ = self.timed('miner_up{miner=~"%s"}' % ("a" * 5000))
        self.assert_json_400(st, body, "longer than the limit")
        self.assert_alive()

    def test_nested_500_deep(self):
        pat = "(" * 500 + "a" + ")" * 500
        st, body, _ = self.timed('miner_up{miner=~"%s"}' % pat)
        self.assert_json_400(st, body, "nests groups deeper than")
        self.assert_alive()

    def test_syntax_error_is_400_not_500(self):
        st, body, _ = self.timed('miner_up{miner=~"(unclosed"}')
        self.assert_json_400(st, body, "missing )")
        self.assert_alive()

    def test_dot_star_over_long_label(self):
        st, body, _ = self.timed('miner_up{miner=~"x.*"}')
        self.assertEqual(st, 200, body[:300])
        names = [s["miner"] for s in json.loads(body)["series"]]
        self.assertEqual(names, [LONG_NAME])
        self.assert_alive()

    def test_anchored_like_prometheus(self):
        # `=~"aaa"` must match the whole value, not a prefix.
        st, body, _ = self.timed('miner_up{miner=~"aaa"}')
        self.assertEqual(st, 200)
        self.assertEqual(json.loads(body)["series"], [])

    def test_exponential_backtracking(self):
        st, body, took = self.timed('miner_up{miner=~"(a+)+$"}')
        self.assertEqual(st, 200, body[:300])
        self.assertEqual(json.loads(body)["series"], [])
        # And the same pattern in parallel does not starve /metrics.
        import threading
        errs = []

        def hit():
            try:
                s, _ = self.series('miner_up{miner=~"(a+)+$"}')
                if s != 200:
                    errs.append(s)
            except Exception as e:  # noqa: BLE001
                errs.append(repr(e))
        threads = [threading.Thread(target=hit) for _ in range(8)]
        for t in threads:
            t.start()
        t0 = time.monotonic()
        self.assert_alive()
        self.assertLess(time.monotonic() - t0, 2.0)
        for t in threads:
            t.join(DEADLINE * 2)
        self.assertEqual(errs, [])
        print(f"(a+)+$ over {MINERS} miners: {took * 1000:.0f} ms",
              file=sys.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
