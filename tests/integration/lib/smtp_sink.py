#!/usr/bin/python3
"""A real SMTP server (aiosmtpd) for rigwatch's mail tests and the demo;
loopback addresses only.

Every accepted message is written to DIR as <n>.eml, with <n>.json beside it
(envelope, whether the session used TLS, the login). Files appear atomically
(written under a temporary name, then renamed), so a test can count them.
Once the server accepts connections, DIR/.ready appears and
"smtp_sink ready HOST:PORT" is printed. With --print every message is also
printed (sender, recipients, subject, text body). Runs until SIGTERM/SIGINT.

  smtp_sink.py --port 2525 --dir /tmp/x [--print] [--starttls CERT KEY]
               [--require-starttls] [--smtps CERT KEY] [--auth USER PASSWORD]
"""

import argparse
import email
import email.policy
import itertools
import json
import os
import signal
import ssl
import sys
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Store:
    def __init__(self, directory, echo):
        self.directory = directory
        self.echo = echo
        self.counter = itertools.count(1)
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            n = next(self.counter)
        base = os.path.join(self.directory, "%06d" % n)
        meta = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            # session.ssl covers STARTTLS, the transport covers SMTPS.
            "tls": (session.ssl is not None or server.transport.get_extra_info(
                "ssl_object") is not None),
            "login": (session.auth_data.login.decode("utf-8", "replace")
                      if isinstance(session.auth_data, LoginPassword)
                      else None),
        }
        for suffix, data in ((".json", json.dumps(meta).encode()),
                             (".eml", envelope.original_content)):
            tmp = base + suffix + ".tmp"
            with open(tmp, "wb") as f:
                f.write(data)
            os.rename(tmp, base + suffix)
        if self.echo:
            print_message(n, envelope)
        return "250 Message accepted for delivery"


def print_message(n, envelope):
    msg = email.message_from_bytes(envelope.original_content,
                                   policy=email.policy.default)
    body = msg.get_body(preferencelist=("plain", "html"))
    text = body.get_content() if body is not None else ""
    print(f"--- mail #{n} from {envelope.mail_from} to "
          f"{', '.join(envelope.rcpt_tos)}\n"
          f"Subject: {msg.get('Subject', '')}\n{text.rstrip()}\n---",
          flush=True)


def tls_context(cert, key):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    return ctx


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--dir", required=True)
    p.add_argument("--print", action="store_true", dest="echo",
                   help="also print every message")
    p.add_argument("--starttls", nargs=2, metavar=("CERT", "KEY"))
    p.add_argument("--require-starttls", action="store_true")
    p.add_argument("--smtps", nargs=2, metavar=("CERT", "KEY"))
    p.add_argument("--auth", nargs=2, metavar=("USER", "PASSWORD"))
    a = p.parse_args()
    if not a.host.startswith("127."):
        sys.exit("smtp_sink: loopback addresses only")
    os.makedirs(a.dir, exist_ok=True)

    kwargs = {}
    if a.starttls:
        kwargs["tls_context"] = tls_context(*a.starttls)
        kwargs["require_starttls"] = a.require_starttls
    if a.auth:
        user, password = a.auth[0].encode(), a.auth[1].encode()

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = (isinstance(auth_data, LoginPassword)
                  and auth_data.login == user
                  and auth_data.password == password)
            return AuthResult(success=ok, handled=False,
                              auth_data=auth_data if ok else None)

        kwargs["authenticator"] = authenticator
        kwargs["auth_required"] = True
        kwargs["auth_require_tls"] = bool(a.starttls or a.smtps)
    controller = Controller(
        Store(a.dir, a.echo), hostname=a.host, port=a.port,
        ssl_context=tls_context(*a.smtps) if a.smtps else None,
        server_hostname="localhost", **kwargs)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    controller.start()
    with open(os.path.join(a.dir, ".ready"), "w") as f:
        f.write(str(os.getpid()))
    print(f"smtp_sink ready {a.host}:{a.port}", flush=True)
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
