"""Shared helpers for rigwatch integration tests: free ports, temp configs,
starting the real binary, HTTP with deadlines. Standard library only."""

import base64
import ctypes
import faulthandler
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

SOURCE_DIR = os.environ.get(
    "RIGWATCH_SOURCE_DIR",
    os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..")))
BUILD_DIR = os.environ.get("RIGWATCH_BUILD_DIR", os.path.join(SOURCE_DIR, "build"))
RIGWATCH = os.path.join(BUILD_DIR, "rigwatch")
FLEET_SIM = os.path.join(BUILD_DIR, "fleet_sim")
# "", "address" or "thread": the build's sanitizer, for bounds that must
# scale with its overhead (tests/CMakeLists.txt sets it).
SANITIZER = os.environ.get("RIGWATCH_SANITIZER", "")
# The one SMTP server of the tests and the demo (aiosmtpd).
SMTP_SINK = os.path.join(SOURCE_DIR, "tests", "integration", "lib",
                         "smtp_sink.py")


# prctl(PR_SET_PDEATHSIG, SIGKILL) for the children tests start: looked up
# once here, so the child only calls it between fork and exec.
_PR_SET_PDEATHSIG = 1
_SIGKILL = int(signal.SIGKILL)
try:
    _prctl = ctypes.CDLL(None, use_errno=True).prctl
except (OSError, AttributeError):
    _prctl = None


def _die_with_parent():
    _prctl(_PR_SET_PDEATHSIG, _SIGKILL, 0, 0, 0)


def spawn(args, **kwargs):
    """subprocess.Popen for a process a test starts (agent, simulator,
    receivers). The child is killed when the test process dies, also by
    CTest's timeout (SIGKILL), so no orphan outlives its test and slows the
    tests that run after it. Only from the main thread: the kernel sends the
    signal when the thread that forked exits."""
    if _prctl is not None and threading.current_thread() is threading.main_thread():
        kwargs.setdefault("preexec_fn", _die_with_parent)
    return subprocess.Popen(args, **kwargs)


# Agents started and not yet stopped, for the report of a test that hangs.
_live_agents = []


def free_port(host="127.0.0.1"):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def wait_until(pred, timeout=20.0, interval=0.05, what="condition"):
    """Polls pred() until it returns a truthy value or the deadline passes."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = pred()
            if last:
                return last
        except Exception as e:  # noqa: BLE001 - keep polling until deadline
            last = e
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def http_get(url, headers=None, timeout=10.0):
    """Returns (status, headers, body bytes); never raises on HTTP errors."""
    return http_request("GET", url, headers=headers, timeout=timeout)


def http_request(method, url, headers=None, body=None, timeout=10.0):
    """Any method; returns (status, headers, body bytes), never raises on
    HTTP errors."""
    req = urllib.request.Request(url, headers=headers or {}, data=body,
                                 method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def basic_auth(user, password):
    tok = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": "Basic " + tok}


class Agent:
    """The real rigwatch binary with a temp config and data dir."""

    def __init__(self, config_text, tmpdir=None, extra_args=()):
        self.tmp = tmpdir or tempfile.mkdtemp(prefix="rigwatch-it-")
        self.port = free_port()
        self.config_path = os.path.join(self.tmp, "rigwatch.yaml")
        self.log_path = os.path.join(self.tmp, "agent.log")
        self.write_config(config_text)
        self.extra_args = list(extra_args)
        self.proc = None

    def write_config(self, text):
        text = text.replace("{PORT}", str(self.port)).replace("{TMP}", self.tmp)
        with open(self.config_path, "w") as f:
            f.write(text)

    @property
    def base(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self, wait_ready=True):
        self.log = open(self.log_path, "ab")
        self.proc = spawn(
            [RIGWATCH, "run", "--config", self.config_path] + self.extra_args,
            stdout=self.log, stderr=subprocess.STDOUT, cwd=self.tmp)
        _live_agents.append(self)
        if wait_ready:
            wait_until(lambda: self._ready(), timeout=30, what="agent /readyz")
        return self

    def _ready(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"agent exited with {self.proc.returncode}:\n{self.logs()}")
        return http_get(self.base + "/readyz", timeout=2)[0] == 200

    def logs(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, timeout=10):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self in _live_agents:
            _live_agents.remove(self)
        if getattr(self, "log", None):
            self.log.close()
        return self.proc.returncode if self.proc else None

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)


def promtool_check_metrics(text):
    """Runs `promtool check metrics` on exposition text: (exit code, output)."""
    require_tool("promtool")
    p = subprocess.run(["promtool", "check", "metrics"], input=text,
                       capture_output=True, timeout=60)
    return p.returncode, (p.stdout + p.stderr).decode()


# node_exporter's meminfo names keep the kernel's field names
# (node_memory_MemAvailable_bytes); promtool's linter flags them as camelCase,
# exactly as it flags node_exporter's own output. rigwatch keeps the names so
# node_exporter dashboards work unchanged; that one lint is the only one
# tolerated, and only for node_memory_* names.
_NODE_MEMORY_CAMEL = re.compile(
    r"^node_memory_\w+ metric names should be written in 'snake_case' not 'camelCase'$")


def promtool_problems(text):
    """promtool's problems with `text`, minus node_exporter's camelCase names."""
    rc, out = promtool_check_metrics(text)
    problems = [l for l in out.splitlines()
                if l.strip() and not _NODE_MEMORY_CAMEL.match(l.strip())]
    if rc != 0 and not problems and not out.strip():
        problems = [f"promtool exited {rc} without output"]
    return problems


class FleetSim:
    """The real fleet simulator (build/fleet_sim) on its own 127.x range."""

    def __init__(self, tmpdir, miners=20, mix="axeos=0.5,cgminer=0.5",
                 base_address="127.10.0.0", faults=None, extra=()):
        self.tmp = tmpdir
        self.targets = os.path.join(tmpdir, "targets.yaml")
        args = [FLEET_SIM, "--miners", str(miners), "--mix", mix,
                "--base-address", base_address, "--http-port", "0",
                "--cgminer-port", "0", "--targets-out", self.targets]
        if faults:
            args += ["--faults", faults]
        args += list(extra)
        self.out = open(os.path.join(tmpdir, "sim.log"), "w+b")
        self.proc = spawn(args, stdout=subprocess.PIPE, stderr=self.out)
        line = self.proc.stdout.readline().decode()
        self.proc.stdout.close()  # the ready line is all it prints there
        if not line.startswith("fleet_sim ready"):
            raise AssertionError(f"fleet_sim did not start: {line!r}")
        self.control = line.split("control=")[1].strip()

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(f"http://{self.control}{path}", data=data,
                                     method=method)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return json.loads(r.read() or b"{}")
        except urllib.error.HTTPError as e:
            raise AssertionError(f"{method} {path}: {e.code} {e.read()!r}")

    def fault(self, miner, fault, value=None):
        body = {"fault": fault}
        if value is not None:
            body["value"] = value
        return self.call("POST", f"/miners/{miner}/faults", body)

    def requests(self, miner):
        return self.call("GET", f"/miners/{miner}/requests")["requests"]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.out.close()


class SmtpSink:
    """smtp_sink.py on 127.0.0.1:port, storing mail in tmp/mail."""

    def __init__(self, tmp, port):
        self.dir = os.path.join(tmp, "mail")
        os.makedirs(self.dir, exist_ok=True)
        self.port = port
        self.proc = None

    def start(self):
        ready = os.path.join(self.dir, ".ready")
        if os.path.exists(ready):
            os.unlink(ready)  # a restart: wait for the new server
        self.proc = spawn(
            ["/usr/bin/python3", SMTP_SINK, "--port", str(self.port),
             "--dir", self.dir],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: self._ready(ready), what="SMTP sink ready")
        return self

    def _ready(self, ready):
        if self.proc.poll() is not None:
            raise AssertionError(f"smtp_sink exited with {self.proc.returncode}")
        return os.path.exists(ready)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)

    def mails(self):
        """Every stored message (email.message.Message), oldest first."""
        import email
        import glob
        out = []
        for p in sorted(glob.glob(os.path.join(self.dir, "*.eml"))):
            with open(p, "rb") as f:
                out.append(email.message_from_bytes(f.read()))
        return out

    def subjects(self):
        return [m["Subject"] for m in self.mails()]


class BlackHole:
    """A TCP server on 127.0.0.1:port that accepts every connection and then
    never sends a byte: an SMTP (or HTTP) receiver that hangs."""

    def __init__(self, port):
        self.port = port
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.held = []
        self.accepted = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.held.append(conn)  # kept open, never answered
            self.accepted += 1

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=5)
        for c in self.held:
            c.close()
        self.sock.close()


ALERTMANAGER = "/usr/bin/prometheus-alertmanager"


class Alertmanager:
    """The real Alertmanager on 127.0.0.1:port with one receiver that sends
    nothing (the tests read its API), no clustering, state in tmp/am."""

    BINARY = ALERTMANAGER

    def __init__(self, tmp, port=None):
        self.dir = os.path.join(tmp, "am")
        os.makedirs(self.dir, exist_ok=True)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.base = self.url
        self.proc = None
        with open(os.path.join(self.dir, "am.yml"), "w") as f:
            f.write("route:\n  receiver: 'null'\n  group_wait: 1s\n"
                    "receivers:\n  - name: 'null'\n")

    def start(self):
        require_tool(ALERTMANAGER)
        self.log = open(os.path.join(self.dir, "am.log"), "ab")
        self.proc = spawn(
            [ALERTMANAGER, "--config.file=" + os.path.join(self.dir, "am.yml"),
             f"--web.listen-address=127.0.0.1:{self.port}",
             "--cluster.listen-address=",
             "--storage.path=" + os.path.join(self.dir, "data")],
            stdout=self.log, stderr=subprocess.STDOUT)
        wait_until(lambda: http_get(self.url + "/api/v2/status", timeout=2)[0] == 200,
                   timeout=30, what="Alertmanager ready")
        return self

    def alerts(self, **labels):
        """Alerts Alertmanager lists (active ones; resolved ones drop out)
        whose labels include `labels`."""
        status, _, body = http_get(self.url + "/api/v2/alerts", timeout=5)
        if status != 200:
            raise AssertionError(f"Alertmanager /api/v2/alerts: {status}")
        return [a for a in json.loads(body)
                if all(a["labels"].get(k) == v for k, v in labels.items())]

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if getattr(self, "log", None):
            self.log.close()


def parse_metrics(text):
    """{(name, frozenset(labels.items())): value} from exposition text."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$', line)
        if not m:
            raise AssertionError(f"unparseable line: {line!r}")
        labels = dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"',
                                 m.group(3) or ""))
        out[(m.group(1), frozenset(labels.items()))] = float(m.group(4))
    return out


def metric(samples, name, **labels):
    """The value of the one series of `name` whose labels include `labels`."""
    found = [v for (n, ls), v in samples.items()
             if n == name and all((k, str(x)) in ls for k, x in labels.items())]
    if len(found) != 1:
        return None
    return found[0]


def metric_sum(samples, name, **labels):
    return sum(v for (n, ls), v in samples.items()
               if n == name and all((k, str(x)) in ls for k, x in labels.items()))


# --- Prerequisites and the skip policy -------------------------------------
# A test that needs a tool (promtool, Alertmanager, systemd-analyze, ...)
# FAILS when CI=true and the tool is missing; elsewhere it is skipped with
# one line naming what is missing, and the script exits 77, which CTest
# counts as a skipped test (SKIP_RETURN_CODE in tests/CMakeLists.txt).
SKIP_EXIT_CODE = 77


def in_ci():
    return os.environ.get("CI", "").lower() in ("true", "1")


def require(present, what):
    """Fails (CI=true) or skips the calling test, or the whole module when
    called from setUpModule(), unless `present`."""
    import unittest
    if present:
        return
    if in_ci():
        raise AssertionError(f"CI=true and a prerequisite is missing: {what}")
    raise unittest.SkipTest(f"missing: {what}")


def require_tool(tool):
    """require() an executable: an absolute path or a name on $PATH."""
    found = (os.access(tool, os.X_OK) if os.sep in tool
             else shutil.which(tool) is not None)
    require(found, tool)


def require_module(name, python="/usr/bin/python3"):
    """require() a module importable by `python` (the interpreter the
    tests run their helper servers with, e.g. aiosmtpd for SMTP sinks)."""
    ok = subprocess.run([python, "-c", f"import {name}"],
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL).returncode == 0
    require(ok, f"Python module {name} for {python}")


def _report_hang():
    print(f"\n=== still running {HANG_REPORT_MARGIN}s before CTest's timeout: "
          "every thread's stack, then the tail of each running agent's log",
          file=sys.stderr, flush=True)
    faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
    for agent in list(_live_agents):
        try:
            tail = agent.logs()[-4000:]
        except OSError as e:
            tail = f"(log unreadable: {e})"
        print(f"--- {agent.log_path} (last 4000 bytes)\n{tail}",
              file=sys.stderr, flush=True)


# How long before CTest's TIMEOUT (RIGWATCH_TEST_TIMEOUT, set per test by
# tests/CMakeLists.txt) a test that is still running reports where it is.
HANG_REPORT_MARGIN = 20


def _arm_hang_report():
    try:
        timeout = float(os.environ.get("RIGWATCH_TEST_TIMEOUT", ""))
    except ValueError:
        return
    if timeout <= HANG_REPORT_MARGIN * 2:
        return
    timer = threading.Timer(timeout - HANG_REPORT_MARGIN, _report_hang)
    timer.daemon = True
    timer.start()


# Armed on import, so every test that uses this library reports a hang.
_arm_hang_report()


def main():
    """unittest.main() that exits 77 when every test passed but some were
    skipped, so CTest reports the skip instead of a pass."""
    import unittest
    prog = unittest.main(verbosity=2, exit=False)
    result = prog.result
    if not result.wasSuccessful():
        sys.exit(1)
    if result.skipped:
        for test, why in result.skipped:
            print(f"SKIPPED {test.id()}: {why}", file=sys.stderr)
        sys.exit(SKIP_EXIT_CODE)
    sys.exit(0)
