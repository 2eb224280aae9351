"""HTTP framing and methods against the real agent, with raw sockets on
127.0.0.1: 405 + Allow for wrong methods, chunked bodies under the 413
limit, Content-Length together with Transfer-Encoding refused, time
arguments past the representable range refused."""

import json
import os
import socket
import sys
import unittest
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from rigwatch_testlib import Agent, http_get  # noqa: E402

CONFIG = """
http: { listen: "127.0.0.1:{PORT}", threads: 4, read_timeout: 2s }
storage: { path: "{TMP}/data" }
scrape: { interval: 1s, timeout: 300ms }
host: { enabled: false }
"""
MAX_BODY = 1 << 20  # HttpServerOptions::max_body_bytes


def raw(port, data, timeout=5.0):
    """Sends bytes, reads until the server closes or goes quiet; returns
    (status line, headers dict, body bytes, closed)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer and close before all is sent
        buf = b""
        closed = False
        s.settimeout(1.5)
        while True:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                closed = True
                break
            if not chunk:
                closed = True
                break
            buf += chunk
            head, sep, rest = buf.partition(b"\r\n\r\n")
            if sep:
                hdrs = parse_headers(head)
                n = int(hdrs.get("content-length", "-1"))
                if n >= 0 and len(rest) >= n:
                    # Full response: see if the server then closes.
                    try:
                        s.settimeout(1.0)
                        closed = s.recv(1) == b""
                    except socket.timeout:
                        closed = False
                    except ConnectionResetError:
                        closed = True
                    break
    finally:
        s.close()
    head, _, body = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    return lines[0], parse_headers(head), body, closed


def parse_headers(head):
    out = {}
    for line in head.decode("latin-1").split("\r\n")[1:]:
        k, _, v = line.partition(":")
        out[k.strip().lower()] = v.strip()
    return out


def chunked(payload, piece=65536):
    out = b""
    for i in range(0, len(payload), piece):
        part = payload[i:i + piece]
        out += b"%x\r\n" % len(part) + part + b"\r\n"
    return out + b"0\r\n\r\n"


class HttpFramingTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.agent = Agent(CONFIG).start()
        cls.port = cls.agent.port

    @classmethod
    def tearDownClass(cls):
        cls.agent.cleanup()

    def tearDown(self):
        self.assertIsNone(self.agent.proc.poll(), self.agent.logs()[-2000:])
        self.assertEqual(http_get(self.agent.base + "/metrics", timeout=5)[0], 200)

    def test_wrong_method_is_405_with_allow(self):
        for method in ("PUT", "POST", "DELETE", "PATCH", "OPTIONS"):
            line, hdrs, body, _ = raw(
                self.port, f"{method} /metrics HTTP/1.1\r\nHost: x\r\n"
                           "Content-Length: 0\r\n\r\n".encode())
            self.assertIn(" 405 ", line, (method, line, body))
            self.assertEqual(hdrs.get("allow"), "GET, HEAD", method)
        for path in ("/api/v1/series", "/api/v1/targets", "/healthz"):
            line, hdrs, _, _ = raw(
                self.port, f"PUT {path} HTTP/1.1\r\nHost: x\r\n"
                           "Content-Length: 0\r\n\r\n".encode())
            self.assertIn(" 405 ", line, path)
        line, _, _, _ = raw(self.port, b"HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertIn(" 200 ", line)

    def test_mute_is_post_or_delete_only(self):
        line, hdrs, _, _ = raw(
            self.port, b"GET /api/v1/mute?target=x&for=1h HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertIn(" 405 ", line)
        self.assertEqual(hdrs.get("allow"), "POST, DELETE")

    def test_chunked_body_over_limit_is_413(self):
        body = chunked(b"x" * (MAX_BODY + 4096))
        line, _, text, closed = raw(
            self.port, b"POST /api/v1/mute?target=x HTTP/1.1\r\nHost: x\r\n"
                       b"Transfer-Encoding: chunked\r\n\r\n" + body, timeout=10)
        self.assertIn(" 413 ", line, text)
        self.assertIn(b"request body larger than", text)
        self.assertTrue(closed, "connection left open after an unread body")

    def test_content_length_over_limit_is_413(self):
        line, _, _, _ = raw(
            self.port, b"POST /api/v1/mute?target=x HTTP/1.1\r\nHost: x\r\n"
                       b"Content-Length: %d\r\n\r\n" % (MAX_BODY + 1))
        self.assertIn(" 413 ", line)

    def test_small_chunked_body_is_accepted(self):
        line, _, text, _ = raw(
            self.port, b"POST /api/v1/mute?target=x&for=1m HTTP/1.1\r\nHost: x\r\n"
                       b"Transfer-Encoding: chunked\r\n\r\n" + chunked(b"{}"))
        self.assertNotIn(" 413 ", line)
        self.assertNotIn(" 400 ", line, text)

    def test_content_length_with_transfer_encoding_is_400(self):
        line, _, text, closed = raw(
            self.port, b"POST /api/v1/mute?target=x HTTP/1.1\r\nHost: x\r\n"
                       b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
                       b"0\r\n\r\n")
        self.assertIn(" 400 ", line, text)
        self.assertIn(b"ambiguous request framing", text)
        self.assertTrue(closed)

    def test_unknown_transfer_coding_is_400(self):
        line, _, _, _ = raw(
            self.port, b"POST /api/v1/mute?target=x HTTP/1.1\r\nHost: x\r\n"
                       b"Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n")
        self.assertIn(" 400 ", line)

    def test_mute_for_is_bounded(self):
        for dur in ("100000000000h", "366d", "0s"):
            line, _, text, _ = raw(
                self.port, f"POST /api/v1/mute?target=x&for={dur} HTTP/1.1\r\n"
                           "Host: x\r\nContent-Length: 0\r\n\r\n".encode())
            self.assertIn(" 400 ", line, (dur, text))
            self.assertIn(b"at most 365d", text)
        line, _, text, _ = raw(
            self.port, b"POST /api/v1/mute?target=x&for=365d HTTP/1.1\r\n"
                       b"Host: x\r\nContent-Length: 0\r\n\r\n")
        self.assertNotIn(" 400 ", line, text)

    def test_time_out_of_range_is_400(self):
        sel = 'miner_up{miner="x"}'
        for frm, to in (("-4000000h", None), ("-100000000000000000ms", None),
                        ("99999999999999", None), ("1e300", None),
                        ("9999-01-01T00:00:00Z", None),
                        ("-1h", "2300-01-01T00:00:00Z")):
            q = {"match": sel, "from": frm}
            if to:
                q["to"] = to
            st, _, body = http_get(self.agent.base + "/api/v1/series?" +
                                   urllib.parse.urlencode(q), timeout=5)
            self.assertEqual(st, 400, (frm, to, body[:200]))
            self.assertIn("error", json.loads(body))
        st, _, _ = http_get(self.agent.base + "/api/v1/series?" +
                            urllib.parse.urlencode({"match": sel, "from": "-1700000h"}))
        self.assertEqual(st, 200)


if __name__ == "__main__":
    unittest.main(verbosity=2)
