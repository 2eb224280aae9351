"""Real services for test_services.py (run with /usr/bin/python3):

  service_helpers.py start-worker PIDFILE COUNTFILE
      starts a sleeping worker in its own session, writes its pid to
      PIDFILE, appends one line to COUNTFILE and exits (a `restart` argv);
  service_helpers.py http PORT MODEFILE
      serves GET /health on 127.0.0.1:PORT; MODEFILE says how: "ok" (200,
      body "ok"), "500" (500) or "stall" (answers after 10 s).
"""

import http.server
import os
import subprocess
import sys
import time


def start_worker(pidfile, countfile):
    p = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(600)"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True)
    tmp = pidfile + ".tmp"
    with open(tmp, "w") as f:
        f.write(f"{p.pid}\n")
    os.rename(tmp, pidfile)
    with open(countfile, "a") as f:
        f.write(f"{time.time()}\n")


def serve(port, modefile):
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the stdlib's name
            with open(modefile) as f:
                mode = f.read().strip()
            if mode == "stall":
                time.sleep(10)
            status = 500 if mode == "500" else 200
            body = b"ok\n" if status == 200 else b"broken\n"
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", int(port)), Handler)
    srv.daemon_threads = True
    srv.serve_forever()


if __name__ == "__main__":
    if sys.argv[1] == "start-worker":
        start_worker(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "http":
        serve(sys.argv[2], sys.argv[3])
    else:
        sys.exit(f"unknown command {sys.argv[1]}")
