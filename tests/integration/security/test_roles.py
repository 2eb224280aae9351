"""Roles and safe mutations against the real agent (all on 127.0.0.1): a read
user or read token gets 403 on every mutation, an admin (Basic or Bearer)
may mute, a wrong token is 401; with no admin configured and
allow_loopback_admin false every mutation is refused; a cross-origin POST
needs the CSRF token; an unknown mute target is 404; every mutation is
journaled (log and /api/v1/journal); `rigwatch mute` refuses a missing
password file and takes a token file. Refusal from non-loopback addresses is
tested on the policy function (tests/unit/http/auth_test.cc)."""

import json
import os
import signal
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from rigwatch_testlib import (RIGWATCH, Agent, basic_auth, http_get,  # noqa: E402
                              http_request, wait_until)

# bcrypt of "s3cret" (cost 4, made with glibc crypt): cheap under ASan.
PASSWORD = "s3cret"
HASH = "$2b$04$abcdefghijklmnopqrstuuLZYjhNQAOdpbzt4WxWlUHjv1wsyH5DG"
ADMIN_TOKEN = "a" * 24 + "0123456789abcdef"
READ_TOKEN = "r" * 24 + "0123456789abcdef"

# Miner rig-1 points at a closed port: it is a known target, never polled ok.
MINERS = """
miners:
  - { name: rig-1, kind: cgminer, address: "127.0.0.1:1" }
"""

ROLES_CONFIG = """
http:
  listen: "127.0.0.1:{PORT}"
  threads: 4
  allow_loopback_admin: false
  basic_auth_users: { prom: "%s" }
  users:
    - { name: ops, bcrypt_hash: "%s", role: admin }
  tokens:
    - { name: ci, token_file: "{TMP}/ci.token", role: admin }
    - { name: grafana, token_file: "{TMP}/grafana.token" }
storage: { path: "{TMP}/data" }
scrape: { interval: 1s, timeout: 300ms }
host: { enabled: false }
""" % (HASH, HASH) + MINERS

OPEN_CONFIG = """
http: { listen: "127.0.0.1:{PORT}", threads: 4%s }
storage: { path: "{TMP}/data" }
scrape: { interval: 1s, timeout: 300ms }
host: { enabled: false }
""" + MINERS

MUTATIONS = [("POST", "/api/v1/mute?target=rig-1&for=10m"),
             ("DELETE", "/api/v1/mute?target=rig-1")]


def bearer(token):
    return {"Authorization": "Bearer " + token}


def error_of(body):
    doc = json.loads(body)
    return doc["error"]


def start(config, files=None):
    agent = Agent(config)
    for name, text in (files or {}).items():
        with open(os.path.join(agent.tmp, name), "w") as f:
            f.write(text)
    agent.start(wait_ready=False)
    wait_until(lambda: agent.proc.poll() is None and http_get(
        agent.base + "/healthz", headers=basic_auth("prom", PASSWORD),
        timeout=2)[0] == 200, timeout=30, what="agent /healthz")
    return agent


class RolesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.agent = start(ROLES_CONFIG, {"ci.token": ADMIN_TOKEN + "\n",
                                         "grafana.token": READ_TOKEN})

    @classmethod
    def tearDownClass(cls):
        cls.agent.cleanup()

    def call(self, method, path, headers=None, body=None):
        return http_request(method, self.agent.base + path, headers=headers,
                            body=body)

    def test_read_credentials_get_403_on_every_mutation(self):
        for who, hdrs in (("prom", basic_auth("prom", PASSWORD)),
                          ("grafana", bearer(READ_TOKEN))):
            st, _, _ = self.call("GET", "/metrics", hdrs)
            self.assertEqual(st, 200, who)
            for method, path in MUTATIONS:
                st, h, body = self.call(method, path, hdrs)
                self.assertEqual(st, 403, (who, method, body))
                self.assertEqual(h.get("Content-Type"), "application/json")
                self.assertEqual(error_of(body),
                                 f'"{who}" has role read; this needs role admin')
        log = self.agent.logs()
        self.assertRegex(log, r"event=http_mutation who=prom method=POST "
                              r"path=/api/v1/mute target=rig-1 .*status=403")

    def test_admin_may_mute_and_is_journaled(self):
        for hdrs, who in ((basic_auth("ops", PASSWORD), "ops"),
                          (bearer(ADMIN_TOKEN), "ci")):
            for method, path in MUTATIONS:
                st, _, body = self.call(method, path, hdrs)
                self.assertEqual(st, 200, (who, method, body))
            st, _, body = self.call("GET", "/api/v1/journal?limit=2",
                                    basic_auth("prom", PASSWORD))
            self.assertEqual(st, 200, body)
            newest = json.loads(body)["mutations"]
            self.assertEqual(len(newest), 2)
            self.assertEqual([m["method"] for m in newest], ["DELETE", "POST"])
            for m in newest:
                self.assertEqual(m["who"], who)
                self.assertEqual(m["target"], "rig-1")
                self.assertEqual(m["remote"], "127.0.0.1")
                self.assertEqual(m["status"], 200)
            self.assertEqual(newest[1]["params"], "target=rig-1&for=10m")
        self.assertIn("event=http_mutation who=ci method=DELETE", self.agent.logs())

    def journal(self):
        st, _, body = self.call("GET", "/api/v1/journal?limit=1000",
                                bearer(READ_TOKEN))
        self.assertEqual(st, 200, body)
        return json.loads(body)["mutations"]

    def test_wrong_token_is_401(self):
        before = len(self.journal())
        for hdrs in (bearer("x" * 40), bearer(ADMIN_TOKEN[:-1]),
                     {"Authorization": "Bearer"}):
            st, h, body = self.call("POST", MUTATIONS[0][1], hdrs)
            self.assertEqual(st, 401, (hdrs, body))
            self.assertIn("Basic", h.get("WWW-Authenticate", ""))
            self.assertTrue(error_of(body))
        st, _, _ = self.call("GET", "/metrics", bearer("y" * 40))
        self.assertEqual(st, 401)
        # Refusals without an identity are counted, not journaled.
        self.assertEqual(len(self.journal()), before)

    def test_unknown_target_is_404(self):
        for method in ("POST", "DELETE"):
            st, _, body = self.call(method, "/api/v1/mute?target=rig-404&for=1m",
                                    basic_auth("ops", PASSWORD))
            self.assertEqual(st, 404, body)
            self.assertIn('unknown target "rig-404"', error_of(body))

    def test_cross_origin_post_needs_the_csrf_token(self):
        admin = basic_auth("ops", PASSWORD)
        evil = dict(admin, Origin="http://evil.example")
        st, _, body = self.call(*MUTATIONS[0], headers=evil)
        self.assertEqual(st, 403, body)
        self.assertIn("cross-origin request", error_of(body))
        st, h, body = self.call("GET", "/api/v1/csrf", admin)
        self.assertEqual(st, 200, body)
        self.assertEqual(h.get("Cache-Control"), "no-store")
        token = json.loads(body)["csrf_token"]
        st, _, body = self.call(*MUTATIONS[0],
                                headers=dict(evil, **{"X-CSRF-Token": token}))
        self.assertEqual(st, 200, body)
        # The same token as a form field in the query, on a cookie request.
        st, _, body = self.call(
            "DELETE", "/api/v1/mute?target=rig-1&csrf_token=" + token,
            headers=dict(admin, Cookie="session=1"))
        self.assertEqual(st, 200, body)
        # Another principal's token is refused; the journal has no secret.
        other = json.loads(self.call("GET", "/api/v1/csrf",
                                     bearer(ADMIN_TOKEN))[2])["csrf_token"]
        self.assertNotEqual(other, token)
        st, _, _ = self.call(*MUTATIONS[0],
                             headers=dict(evil, **{"X-CSRF-Token": other}))
        self.assertEqual(st, 403)
        self.assertNotIn(token, self.agent.logs())

    def test_browser_form_post_carries_the_csrf_token_in_its_body(self):
        # What an HTML <form method=post> sends: fields URL-encoded in the
        # body, Origin set by the browser. The token counts there as well.
        admin = basic_auth("ops", PASSWORD)
        token = json.loads(self.call("GET", "/api/v1/csrf", admin)[2])["csrf_token"]
        form = dict(admin, Origin="http://evil.example",
                    **{"Content-Type": "application/x-www-form-urlencoded"})
        fields = "target=rig-1&for=7m"
        st, _, body = self.call("POST", "/api/v1/mute", form, fields.encode())
        self.assertEqual(st, 403, body)
        self.assertIn("without a valid CSRF token", error_of(body))
        st, _, body = self.call("POST", "/api/v1/mute", form,
                                (fields + "&csrf_token=" + token).encode())
        self.assertEqual(st, 200, body)
        entry = self.journal()[0]
        self.assertEqual((entry["status"], entry["params"]),
                         (200, "target=rig-1&for=7m"), entry)
        # A wrong token in the body is refused; the body limit still holds.
        st, _, body = self.call("POST", "/api/v1/mute", form,
                                (fields + "&csrf_token=" + "0" * 64).encode())
        self.assertEqual(st, 403, body)
        st, _, body = self.call(
            "POST", "/api/v1/mute", form,
            (fields + "&csrf_token=" + token + "&pad=" + "x" * 5000).encode())
        self.assertEqual(st, 413, body)
        self.assertNotIn(token, self.agent.logs())

    def test_mute_body_json_and_its_limit(self):
        admin = dict(basic_auth("ops", PASSWORD),
                     **{"Content-Type": "application/json"})
        st, _, body = self.call("POST", "/api/v1/mute", admin,
                                json.dumps({"target": "rig-1", "for": "5m"}).encode())
        self.assertEqual(st, 200, body)
        for doc, msg in (({"target": "rig-1", "for": 5}, '"for" must be a string'),
                         ({"target": "rig-1", "until": "x"}, 'unknown field "until"'),
                         ([1], "expected a JSON object")):
            st, _, body = self.call("POST", "/api/v1/mute", admin,
                                    json.dumps(doc).encode())
            self.assertEqual(st, 400, body)
            self.assertIn(msg, error_of(body))
        st, _, body = self.call("POST", "/api/v1/mute", admin, b"{" * 5000)
        self.assertEqual(st, 413, body)
        self.assertIn("larger than 4096 bytes", error_of(body))

    def test_cli_mute_password_and_token_files(self):
        before = len(self.journal())
        cfg = self.agent.config_path
        missing = os.path.join(self.agent.tmp, "no-such-password")
        r = subprocess.run([RIGWATCH, "mute", "rig-1", "--for", "5m", "--config",
                            cfg, "--user", "ops", "--password-file", missing],
                           capture_output=True, text=True, timeout=30)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(missing, r.stderr)
        self.assertIn("--password-file", r.stderr)
        self.assertIn("No such file", r.stderr)
        token_file = os.path.join(self.agent.tmp, "ci.token")
        r = subprocess.run([RIGWATCH, "mute", "rig-1", "--for", "5m", "--config",
                            cfg, "--token-file", token_file],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("rig-1 muted for 5m", r.stdout)
        after = self.journal()
        # Only the token run reached the agent.
        self.assertEqual(len(after), before + 1)
        self.assertEqual(after[0]["who"], "ci")


class ReloadTest(unittest.TestCase):
    def test_sighup_rereads_token_files(self):
        agent = start(ROLES_CONFIG, {"ci.token": ADMIN_TOKEN,
                                     "grafana.token": READ_TOKEN})
        try:
            url = agent.base + MUTATIONS[0][1]
            self.assertEqual(http_request("POST", url, bearer(ADMIN_TOKEN))[0], 200)
            new = "n" * 24 + "fedcba9876543210"
            with open(os.path.join(agent.tmp, "ci.token"), "w") as f:
                f.write(new + "\n")
            agent.signal(signal.SIGHUP)
            wait_until(lambda: http_request("POST", url, bearer(new))[0] == 200,
                       timeout=20, what="the new token after SIGHUP")
            self.assertEqual(http_request("POST", url, bearer(ADMIN_TOKEN))[0], 401)
            # A token file that became too short is a reload error: the
            # running credentials stay.
            with open(os.path.join(agent.tmp, "ci.token"), "w") as f:
                f.write("short")
            agent.signal(signal.SIGHUP)
            wait_until(lambda: "must hold one token of at least 16" in agent.logs(),
                       timeout=20, what="the reload error")
            self.assertEqual(http_request("POST", url, bearer(new))[0], 200)
        finally:
            agent.cleanup()


class NoAdminTest(unittest.TestCase):
    def test_no_admin_and_no_loopback_admin_refuses_mutations(self):
        agent = start(OPEN_CONFIG % ", allow_loopback_admin: false")
        try:
            self.assertEqual(http_get(agent.base + "/metrics")[0], 200)
            for method, path in MUTATIONS:
                st, _, body = http_request(method, agent.base + path)
                self.assertEqual(st, 403, (method, body))
                self.assertIn("none is configured", error_of(body))
            self.assertIn("event=http_mutations_disabled", agent.logs())
        finally:
            agent.cleanup()

    def test_loopback_listener_allows_loopback_admin_by_default(self):
        agent = start(OPEN_CONFIG % "")
        try:
            st, _, body = http_request("POST", agent.base + MUTATIONS[0][1])
            self.assertEqual(st, 200, body)
            self.assertRegex(agent.logs(),
                             r"event=http_mutation who=loopback method=POST")
        finally:
            agent.cleanup()


if __name__ == "__main__":
    unittest.main(verbosity=2)
