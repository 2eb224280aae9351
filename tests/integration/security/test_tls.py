"""Native TLS on the agent's port, against the real agent with throwaway
certificates made by the openssl CLI in a temp dir: a real Prometheus
scrapes over https with a CA file (and with a client certificate where one
is required); RequireAndVerifyClientCert refuses a client without a
certificate and one with a certificate from another CA; TLS 1.0/1.1 are
refused by the server; a bad certificate or key stops the start with a
clear error (unreadable, non-PEM, mismatched, or one the self-check handshake
cannot use); renewed certificate files are picked up while running."""

import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse
import warnings

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from rigwatch_testlib import (RIGWATCH, Agent, free_port, http_get,  # noqa: E402
                              main, require_tool, wait_until)

PROMETHEUS = "/usr/bin/prometheus"
# TLS 1.0/1.1 are named on purpose: the server must refuse them.
warnings.filterwarnings("ignore", category=DeprecationWarning)

CONFIG = """
http:
  listen: "127.0.0.1:{PORT}"
  tls:
%s
storage: { path: "{TMP}/data" }
scrape: { interval: 1s, timeout: 300ms }
host: { enabled: false }
"""


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def make_ca(d, name):
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt",
            "ec_paramgen_curve:P-256", "-nodes", "-keyout", f"{name}.key",
            "-out", f"{name}.crt", "-days", "2", "-subj", f"/CN={name}",
            cwd=d)


def make_cert(d, name, ca, usage):
    ext = os.path.join(d, f"{name}.ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\n"
                f"extendedKeyUsage={usage}\n"
                "keyUsage=digitalSignature\n")
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
            "-subj", f"/CN={name}", cwd=d)
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt",
            "-CAkey", f"{ca}.key", "-CAcreateserial", "-out", f"{name}.crt",
            "-days", "2", "-extfile", ext, cwd=d)


def tls_block(**kv):
    return "\n".join(f"    {k}: {json.dumps(v)}" for k, v in kv.items())


def client_context(ca, cert=None, key=None, minimum=None, maximum=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(ca)
    if minimum is not None or maximum is not None:
        # OpenSSL's default security level refuses TLS < 1.2 on the client
        # side already; lowered so the server is what refuses.
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        ctx.minimum_version = minimum or ssl.TLSVersion.MINIMUM_SUPPORTED
        ctx.maximum_version = maximum or ssl.TLSVersion.MAXIMUM_SUPPORTED
    if cert:
        ctx.load_cert_chain(cert, key)
    return ctx


def https_get(port, path, ctx, timeout=5):
    """(status, body) over TLS with `ctx`; raises ssl.SSLError / OSError when
    the handshake or the connection fails."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as raw:
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      "Connection: close\r\n\r\n".encode())
            buf = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                buf += chunk
    if not buf:
        # TLS 1.3: the client finishes its side of the handshake before the
        # server has checked the client certificate; a refusal is then the
        # server closing the connection without an answer.
        raise ConnectionError("closed by the server without a response")
    head, _, body = buf.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), body


def peer_cert(port, ctx):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
            return s.getpeercert(binary_form=True)


def start_tls_agent(certs, **tls):
    agent = Agent(CONFIG % tls_block(**tls))
    agent.start(wait_ready=False)
    ctx = client_context(os.path.join(certs, "ca.crt"),
                         os.path.join(certs, "client.crt"),
                         os.path.join(certs, "client.key"))

    def ready():
        if agent.proc.poll() is not None:
            raise AssertionError(f"agent exited:\n{agent.logs()}")
        return https_get(agent.port, "/readyz", ctx, timeout=2)[0] == 200
    wait_until(ready, timeout=30, what="agent /readyz over https")
    return agent


def setUpModule():
    require_tool("openssl")
    require_tool(PROMETHEUS)


class TlsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.certs = tempfile.mkdtemp(prefix="rigwatch-tls-")
        d = cls.certs
        make_ca(d, "ca")            # signs the server and the good client
        make_ca(d, "other-ca")      # an unrelated CA
        make_cert(d, "server", "ca", "serverAuth")
        make_cert(d, "client", "ca", "clientAuth")
        make_cert(d, "stranger", "other-ca", "clientAuth")
        p = lambda n: os.path.join(d, n)  # noqa: E731
        cls.p = staticmethod(p)
        cls.agents = []
        # Server certificate only.
        cls.plain = start_tls_agent(d, cert_file=p("server.crt"),
                                    key_file=p("server.key"))
        cls.agents.append(cls.plain)
        # Client certificates required and verified against ca.crt.
        cls.mtls = start_tls_agent(
            d, cert_file=p("server.crt"), key_file=p("server.key"),
            client_auth_type="RequireAndVerifyClientCert",
            client_ca_file=p("ca.crt"))
        cls.agents.append(cls.mtls)

    @classmethod
    def tearDownClass(cls):
        for a in cls.agents:
            a.cleanup()
        shutil.rmtree(cls.certs, ignore_errors=True)

    def ctx(self, **kw):
        return client_context(self.p("ca.crt"), **kw)

    def test_self_check_logged(self):
        for a in self.agents:
            self.assertIn("event=http_tls_self_check_ok", a.logs())

    def test_prometheus_scrapes_over_https(self):
        tmp = tempfile.mkdtemp(prefix="rigwatch-tls-prom-")
        self.addCleanup(shutil.rmtree, tmp, True)
        prom_port = free_port()
        conf = f"""
global: {{ scrape_interval: 1s, scrape_timeout: 900ms }}
scrape_configs:
  - job_name: tls
    scheme: https
    tls_config: {{ ca_file: {self.p('ca.crt')} }}
    static_configs: [{{ targets: ["127.0.0.1:{self.plain.port}"] }}]
  - job_name: mtls
    scheme: https
    tls_config: {{ ca_file: {self.p('ca.crt')}, cert_file: {self.p('client.crt')},
                  key_file: {self.p('client.key')} }}
    static_configs: [{{ targets: ["127.0.0.1:{self.mtls.port}"] }}]
  - job_name: mtls-without-cert
    scheme: https
    tls_config: {{ ca_file: {self.p('ca.crt')} }}
    static_configs: [{{ targets: ["127.0.0.1:{self.mtls.port}"] }}]
"""
        with open(os.path.join(tmp, "prometheus.yml"), "w") as f:
            f.write(conf)
        log = open(os.path.join(tmp, "prometheus.log"), "wb")
        prom = subprocess.Popen(
            [PROMETHEUS, f"--config.file={tmp}/prometheus.yml",
             f"--storage.tsdb.path={tmp}/tsdb",
             f"--web.listen-address=127.0.0.1:{prom_port}", "--log.level=warn"],
            stdout=log, stderr=subprocess.STDOUT, cwd=tmp)

        def stop():
            prom.terminate()
            try:
                prom.wait(10)
            except subprocess.TimeoutExpired:
                prom.kill()
                prom.wait()
            log.close()
        self.addCleanup(stop)

        def targets():
            if prom.poll() is not None:
                raise AssertionError("prometheus exited")
            st, _, body = http_get(
                f"http://127.0.0.1:{prom_port}/api/v1/targets", timeout=2)
            if st != 200:
                return None
            out = {t["labels"]["job"]: t for t in
                   json.loads(body)["data"]["activeTargets"]}
            # Every job scraped at least once, the two good ones up.
            if len(out) == 3 and all(t["lastScrape"] > "2000" for t in out.values()) \
                    and out["tls"]["health"] == "up" and out["mtls"]["health"] == "up" \
                    and out["mtls-without-cert"]["health"] == "down":
                return out
            return None
        out = wait_until(targets, timeout=60, interval=0.5,
                         what="Prometheus scrapes over https")
        err = out["mtls-without-cert"]["lastError"]
        print(f"prometheus without a client cert: {err}", file=sys.stderr)
        self.assertTrue(err, out["mtls-without-cert"])
        # And the samples are really the agent's.
        q = urllib.parse.quote('rigwatch_build_info{job="tls"}')
        st, _, body = http_get(
            f"http://127.0.0.1:{prom_port}/api/v1/query?query={q}", timeout=5)
        self.assertEqual(st, 200)
        self.assertEqual(len(json.loads(body)["data"]["result"]), 1, body)

    def test_client_certificates(self):
        port = self.mtls.port
        good = self.ctx(cert=self.p("client.crt"), key=self.p("client.key"))
        self.assertEqual(https_get(port, "/healthz", good)[0], 200)
        # No certificate at all: refused during the handshake, and logged
        # like a bad one (the first refusal since start, so not held back
        # by the 10 s rate limit).
        with self.assertRaises((ssl.SSLError, OSError)):
            https_get(port, "/healthz", self.ctx())
        wait_until(lambda: re.search(
            r"event=http_tls_client_cert_refused .*reason=\"?no_certificate",
            self.mtls.logs()), timeout=5, what="no-certificate refusal logged")
        # TLS 1.2 sends its (empty) certificate at another point of the
        # handshake: refused too.
        with self.assertRaises((ssl.SSLError, OSError)):
            https_get(port, "/healthz",
                      self.ctx(maximum=ssl.TLSVersion.TLSv1_2))
        with self.assertRaises((ssl.SSLError, OSError)):
            https_get(port, "/healthz",
                      self.ctx(cert=self.p("stranger.crt"),
                               key=self.p("stranger.key")))
        # Still serving the right client afterwards.
        self.assertEqual(https_get(port, "/healthz", good)[0], 200)
        # Plain HTTP on a TLS port gets no answer.
        st = None
        try:
            st = http_get(f"http://127.0.0.1:{port}/healthz", timeout=3)[0]
        except OSError:
            pass
        self.assertNotEqual(st, 200)

    def test_cli_health_over_tls(self):
        # `rigwatch health --web` (the Docker HEALTHCHECK) reaches an agent
        # that requires client certificates: it presents the agent's own.
        for agent in (self.plain, self.mtls):
            r = subprocess.run(
                [RIGWATCH, "health", "--config", agent.config_path, "--web",
                 "--exit-code"], capture_output=True, text=True, timeout=30,
                cwd=agent.tmp)
            self.assertIn("ok    web: /healthz answered 200", r.stdout,
                          r.stdout + r.stderr)

    def test_old_tls_versions_refused(self):
        port = self.plain.port
        # The same client lowered to TLS 1.2 works: the refusals below are
        # the server's.
        self.assertEqual(https_get(port, "/healthz", self.ctx(
            maximum=ssl.TLSVersion.TLSv1_2))[0], 200)
        self.assertEqual(https_get(port, "/healthz", self.ctx(
            minimum=ssl.TLSVersion.TLSv1_3))[0], 200)
        for v in (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1):
            with self.assertRaises(ssl.SSLError, msg=v) as cm:
                https_get(port, "/healthz", self.ctx(minimum=v, maximum=v))
            print(f"{v.name}: {cm.exception}", file=sys.stderr)
            self.assertNotIn("NO_PROTOCOLS_AVAILABLE", str(cm.exception))

    def test_renewed_certificate_is_picked_up(self):
        d = tempfile.mkdtemp(prefix="rigwatch-tls-renew-")
        self.addCleanup(shutil.rmtree, d, True)
        for n in ("ca.crt", "ca.key", "server.crt", "server.key"):
            shutil.copy(self.p(n), d)
        agent = start_tls_agent(self.certs, cert_file=f"{d}/server.crt",
                                key_file=f"{d}/server.key")
        self.addCleanup(agent.cleanup)
        before = peer_cert(agent.port, self.ctx())
        make_cert(d, "renewed", "ca", "serverAuth")
        # Key first, then certificate: the pair is inconsistent in between
        # and the old one must stay in use until it fits again.
        shutil.copy(f"{d}/renewed.key", f"{d}/server.key.new")
        shutil.copy(f"{d}/renewed.crt", f"{d}/server.crt.new")
        os.replace(f"{d}/server.key.new", f"{d}/server.key")
        time.sleep(1.5)  # at least one mtime check sees the mismatch
        self.assertEqual(peer_cert(agent.port, self.ctx()), before)
        os.replace(f"{d}/server.crt.new", f"{d}/server.crt")
        wait_until(lambda: peer_cert(agent.port, self.ctx()) != before,
                   timeout=10, what="renewed certificate served")
        logs = agent.logs()
        self.assertIn("event=http_tls_reload_failed", logs)
        self.assertIn("event=http_tls_reloaded", logs)


class TlsStartErrorTest(unittest.TestCase):
    def setUp(self):
        self.d = tempfile.mkdtemp(prefix="rigwatch-tls-bad-")
        make_ca(self.d, "ca")
        make_cert(self.d, "server", "ca", "serverAuth")
        make_cert(self.d, "other", "ca", "serverAuth")
        with open(os.path.join(self.d, "garbage.crt"), "w") as f:
            f.write("-----BEGIN CERTIFICATE-----\nnot base64\n"
                    "-----END CERTIFICATE-----\n")

    def tearDown(self):
        shutil.rmtree(self.d, ignore_errors=True)

    def start_fails(self, tls, expect):
        agent = Agent(CONFIG % tls_block(**tls))
        try:
            agent.start(wait_ready=False)
            rc = agent.proc.wait(timeout=30)
            self.assertNotEqual(rc, 0)
            logs = agent.logs()
            self.assertIn("event=start_failed", logs)
            self.assertRegex(logs, expect)
            print(logs.strip().splitlines()[-1][:300], file=sys.stderr)
        finally:
            agent.cleanup()

    def test_bad_certificate_fails_start(self):
        p = lambda n: os.path.join(self.d, n)  # noqa: E731
        self.start_fails(dict(cert_file=p("garbage.crt"),
                              key_file=p("server.key")),
                         r"http\.tls\.cert_file .*garbage\.crt: no PEM")
        self.start_fails(dict(cert_file=p("server.crt"),
                              key_file=p("other.key")),
                         r"key_file .*other\.key does not fit cert_file")
        self.start_fails(dict(cert_file=p("missing.crt"),
                              key_file=p("server.key")),
                         r"missing\.crt: No such file")
        # Loads, but no TLS 1.2+ handshake can use a DSA key: only the
        # self-check finds that out.
        openssl("dsaparam", "-out", "dsa.param", "2048", cwd=self.d)
        openssl("req", "-x509", "-newkey", "dsa:dsa.param", "-nodes",
                "-keyout", "dsa.key", "-out", "dsa.crt", "-days", "2",
                "-subj", "/CN=dsa", cwd=self.d)
        self.start_fails(dict(cert_file=p("dsa.crt"), key_file=p("dsa.key")),
                         r"TLS self-check: no handshake with 127\.0\.0\.1:\d+")

    def test_bad_tls_config_is_a_located_error(self):
        p = lambda n: os.path.join(self.d, n)  # noqa: E731
        for tls, expect in (
                (dict(cert_file=p("server.crt"), key_file=p("server.key"),
                      min_version="TLS11"), r"min_version: TLS11 is not supported"),
                (dict(cert_file=p("server.crt"), key_file=p("server.key"),
                      cipher_suites=["TLS_AES_128_GCM_SHA256"]),
                 r"cipher_suites: not supported"),
                (dict(cert_file=p("server.crt"), key_file=p("server.key"),
                      client_auth_type="RequireAndVerifyClientCert"),
                 r"need client_ca_file")):
            agent = Agent(CONFIG % tls_block(**tls))
            try:
                agent.start(wait_ready=False)
                self.assertNotEqual(agent.proc.wait(timeout=30), 0)
                self.assertRegex(agent.logs(), r"rigwatch\.yaml:\d+:\d+.*" + expect)
            finally:
                agent.cleanup()


if __name__ == "__main__":
    main()
