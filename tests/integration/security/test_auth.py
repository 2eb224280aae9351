"""Basic auth against the real agent: an unknown user costs the same bcrypt
time as a known one, wrong passwords cost bcrypt time each until the client
address is rate-limited (429, counted in rigwatch_http_auth_failures_total),
a guesser does not hold up other requests, and the plaintext password is not
left in the agent's memory after a login."""

import os
import re
import statistics
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from rigwatch_testlib import (SANITIZER, Agent, basic_auth,  # noqa: E402
                              http_get)

# bcrypt cost 10 of "correct-horse-7x" (made with crypt(3), $2b$10$): slow
# enough (~50 ms) that its cost is measurable next to a plain request.
PASSWORD = "correct-horse-7x"
HASH10 = "$2b$10$2MCFfbRuK2LBQaHj41HUnO7cufr2GmQDrhDlxr8eIZfo1dLVfpECm"
LIMIT = 10  # Authenticator::kFailuresPerWindow

CONFIG = """
http: { listen: "127.0.0.1:{PORT}", threads: 8,
        basic_auth_users: { prom: "%s", ops: "%s" } }
storage: { path: "{TMP}/data" }
scrape: { interval: 1s, timeout: 300ms }
host: { enabled: false }
""" % (HASH10, HASH10)


def timed_get(url, headers):
    t0 = time.monotonic()
    st, _, body = http_get(url, headers=headers, timeout=30)
    return st, time.monotonic() - t0, body


class AuthTest(unittest.TestCase):
    def setUp(self):
        # A fresh agent per test: the failure allowance is per process.
        self.agent = Agent(CONFIG)
        self.agent.start(wait_ready=False)
        auth = basic_auth("prom", PASSWORD)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if http_get(self.agent.base + "/readyz", headers=auth,
                            timeout=5)[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        else:
            self.fail("agent not ready:\n" + self.agent.logs())

    def tearDown(self):
        self.agent.cleanup()

    def metrics(self):
        st, _, body = http_get(self.agent.base + "/metrics",
                               headers=basic_auth("prom", PASSWORD))
        self.assertEqual(st, 200)
        return body.decode()

    def failures_metric(self):
        m = re.search(r"^rigwatch_http_auth_failures_total (\S+)$",
                      self.metrics(), re.M)
        self.assertIsNotNone(m)
        return float(m.group(1))

    def test_unknown_user_costs_as_much_as_known(self):
        url = self.agent.base + "/healthz"
        known, unknown = [], []
        # "ops" has never logged in: nothing cached can answer for it.
        for i in range(4):  # 8 failures, under the allowance of 10
            st, t, _ = timed_get(url, basic_auth("ops", f"wrong{i}"))
            self.assertEqual(st, 401)
            known.append(t)
            st, t, _ = timed_get(url, basic_auth(f"nobody{i}", f"wrong{i}"))
            self.assertEqual(st, 401)
            unknown.append(t)
        k, u = statistics.median(known), statistics.median(unknown)
        print(f"wrong password: known user {k * 1000:.1f} ms, unknown user "
              f"{u * 1000:.1f} ms (median of 4)", file=sys.stderr)
        self.assertLess(max(k, u) / min(k, u), 3.0, (known, unknown))

    def test_wrong_passwords_cost_bcrypt_then_are_rate_limited(self):
        url = self.agent.base + "/healthz"
        # The reference: a request answered from the credential cache.
        cached = [timed_get(url, basic_auth("prom", PASSWORD))[1]
                  for _ in range(5)]
        times, statuses = [], []
        t_all = time.monotonic()
        for i in range(100):
            st, t, _ = timed_get(url, basic_auth("prom", f"guess{i}"))
            statuses.append(st)
            times.append(t)
        total = time.monotonic() - t_all
        self.assertEqual(statuses[:LIMIT], [401] * LIMIT)
        self.assertEqual(statuses[LIMIT:], [429] * (100 - LIMIT))
        slow = statistics.median(times[:LIMIT])
        fast = statistics.median(cached)
        print(f"100 wrong passwords: {total:.2f} s; first {LIMIT} (bcrypt) "
              f"median {slow * 1000:.1f} ms, cached login median "
              f"{fast * 1000:.1f} ms, then 429", file=sys.stderr)
        # Every one of the first guesses paid for bcrypt: none was answered
        # as fast as a cached login (which a plaintext cache would allow).
        # The reference is the fastest cached login: under ThreadSanitizer
        # on busy cores their median rose to 19.6 ms next to 47 ms bcrypts,
        # so there the margin is 2x instead of 3x.
        margin = 2 if SANITIZER == "thread" else 3
        self.assertGreater(min(times[:LIMIT]), margin * min(cached),
                           (times[:LIMIT], cached))
        # 100 failures, each counted, and the right password from the same
        # address is refused too while the address is limited.
        st, _, _ = http_get(url, headers=basic_auth("prom", PASSWORD))
        self.assertEqual(st, 429)
        log = self.agent.logs()
        self.assertIn("event=http_auth_rate_limited", log)

    def test_failures_are_counted(self):
        before = self.failures_metric()
        for i in range(3):
            http_get(self.agent.base + "/healthz",
                     headers=basic_auth("prom", f"x{i}"))
        http_get(self.agent.base + "/healthz")  # no credentials at all
        # The counter is collected with the agent's own series each second.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.failures_metric() >= before + 4:
                break
            time.sleep(0.3)
        self.assertEqual(self.failures_metric(), before + 4)

    def test_guessers_do_not_block_cached_logins(self):
        url = self.agent.base + "/healthz"
        stop = threading.Event()

        def guess(n):
            # Different user names: each is a bcrypt run (allowance permitting).
            for i in range(2):
                if stop.is_set():
                    return
                http_get(url, headers=basic_auth(f"g{n}", f"p{i}"), timeout=30)
        threads = [threading.Thread(target=guess, args=(n,)) for n in range(4)]
        one_bcrypt = timed_get(url, basic_auth("ops", "nope"))[1]
        for t in threads:
            t.start()
        time.sleep(0.02)
        lat = [timed_get(url, basic_auth("prom", PASSWORD))[1] for _ in range(5)]
        stop.set()
        for t in threads:
            t.join(30)
        print(f"cached login while 4 guessers run bcrypt: max "
              f"{max(lat) * 1000:.1f} ms (one bcrypt {one_bcrypt * 1000:.1f} ms)",
              file=sys.stderr)
        # Under one global lock each would wait for the guessers' bcrypt runs.
        # ThreadSanitizer on two cores runs four bcrypts and the login
        # threads several times slower, so there a cached login may wait
        # for CPU up to twice one bcrypt without any lock.
        bound = one_bcrypt * (2 if SANITIZER == "thread" else 1)
        self.assertLess(statistics.median(lat), bound, lat)

    def test_no_plaintext_password_in_memory(self):
        for _ in range(3):
            self.metrics()
        pid = self.agent.proc.pid
        needle = PASSWORD.encode()
        try:
            with open(f"/proc/{pid}/maps") as f:
                maps = f.read().splitlines()
            mem = open(f"/proc/{pid}/mem", "rb", 0)
        except PermissionError as e:
            self.fail(f"cannot read /proc/{pid}/mem ({e}); the test needs "
                      "ptrace access to its own child")
        hits = []
        scanned = 0
        with mem:
            for line in maps:
                parts = line.split()
                if "r" not in parts[1] or (len(parts) > 5 and parts[5].startswith("/")):
                    continue  # unreadable, or a mapped file (code, libraries)
                start, end = (int(x, 16) for x in parts[0].split("-"))
                if end - start > (1 << 31):
                    continue  # ASan's shadow and reserved ranges, never written
                try:
                    mem.seek(start)
                    data = mem.read(end - start)
                except (OSError, OverflowError, ValueError):
                    continue
                scanned += len(data)
                if needle in data:
                    hits.append(line)
        self.assertGreater(scanned, 1 << 20)
        self.assertEqual(hits, [], "plaintext password found in agent memory")


if __name__ == "__main__":
    unittest.main(verbosity=2)
