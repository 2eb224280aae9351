#!/usr/bin/python3
"""A local SMTP server that accepts every message, prints it, and (with
--out DIR) also stores each one as DIR/NNNN.eml. For the demo and the
end-to-end test; listens on loopback only.

  /usr/bin/python3 tests/demo/smtp_sink.py --port 2525 [--out DIR]

Prints "smtp_sink ready 127.0.0.1:PORT" once listening; stops on SIGTERM or
SIGINT.
"""

import argparse
import email
import email.policy
import os
import signal
import sys
import threading

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, out_dir):
        self.out_dir = out_dir
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        with self.lock:
            self.count += 1
            n = self.count
        raw = envelope.original_content or envelope.content
        if self.out_dir:
            tmp = os.path.join(self.out_dir, f".{n:04d}.eml.tmp")
            with open(tmp, "wb") as f:
                f.write(raw)
            os.rename(tmp, os.path.join(self.out_dir, f"{n:04d}.eml"))
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        body = msg.get_body(preferencelist=("plain", "html"))
        text = body.get_content() if body is not None else ""
        print(f"--- mail #{n} from {envelope.mail_from} to "
              f"{', '.join(envelope.rcpt_tos)}\n"
              f"Subject: {msg.get('Subject', '')}\n{text.rstrip()}\n---",
              flush=True)
        return "250 OK"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--out", default="")
    args = ap.parse_args()
    if not args.host.startswith("127."):
        sys.exit("smtp_sink: loopback addresses only")
    if args.out:
        os.makedirs(args.out, exist_ok=True)
    controller = Controller(Sink(args.out), hostname=args.host, port=args.port)
    controller.start()
    print(f"smtp_sink ready {args.host}:{args.port}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    while not stop.wait(0.5):
        pass
    controller.stop()


if __name__ == "__main__":
    main()
