# SPDX-License-Identifier: MIT
"""Helpers for the load and restart scripts: run lifetime-demo, talk HTTP, read /proc.

Python standard library only. Every wait has a deadline.
"""
import glob
import http.client
import os
import re
import signal
import socket
import subprocess
import threading
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def find_demo(explicit=None):
    """The lifetime-demo binary: explicit, $LIFETIME_DEMO, or the newest one under build/."""
    for candidate in (explicit, os.environ.get("LIFETIME_DEMO")):
        if candidate:
            return os.path.abspath(candidate)
    found = glob.glob(os.path.join(REPO, "build", "*", "demo", "lifetime-demo"))
    if not found:
        raise SystemExit("lifetime-demo not found: build it (scripts/demo, or cmake --preset "
                         "release && cmake --build --preset release --target lifetime-demo) "
                         "or pass --demo PATH")
    release = [f for f in found if f"{os.sep}release{os.sep}" in f]
    return max(release or found, key=os.path.getmtime)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Demo:
    """One lifetime-demo process on 127.0.0.1; its log is collected in memory."""

    def __init__(self, binary, args, port=0, storage=None, name="demo"):
        self.name = name
        cmd = [binary, "--listen", f"127.0.0.1:{port}"] + list(args)
        if storage:
            cmd += ["--storage-dir", storage]
        self.lines = []
        self._cond = threading.Condition()
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, text=True, errors="replace")
        self.pid = self.proc.pid
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if port:
            # A known port: the log may be quiet (--log-level warn); readiness is /readyz.
            self.port = port
            return
        line = self.wait_for_line(r"listening on 127\.0\.0\.1:(\d+)", 30)
        if not line:
            self.kill()
            raise RuntimeError(f"{name} did not start:\n" + "\n".join(self.lines[-30:]))
        self.port = int(re.search(r"listening on 127\.0\.0\.1:(\d+)", line).group(1))

    def _read(self):
        for line in self.proc.stdout:
            with self._cond:
                self.lines.append(line.rstrip("\n"))
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def wait_for_line(self, pattern, timeout):
        """The first line matching `pattern` (regex), waiting up to `timeout` seconds."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        seen = 0
        with self._cond:
            while True:
                for line in self.lines[seen:]:
                    if rx.search(line):
                        return line
                seen = len(self.lines)
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self._reader.is_alive()):
                    return None
                self._cond.wait(min(left, 0.2))

    def count(self, text):
        with self._cond:
            return sum(1 for line in self.lines if text in line)

    def wait_ready(self, timeout=30):
        """Polls /readyz until it answers 200."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                if get(self.port, "/readyz", timeout=1)[0] == 200:
                    return True
            except OSError:
                pass
            time.sleep(0.02)
        return False

    def fds(self):
        try:
            return len(os.listdir(f"/proc/{self.pid}/fd"))
        except OSError:
            return None

    def rss_kib(self):
        try:
            with open(f"/proc/{self.pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1])
        except OSError:
            return None
        return None

    def cpu_seconds(self):
        try:
            with open(f"/proc/{self.pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except OSError:
            return None

    def signal(self, signum=signal.SIGTERM):
        self.proc.send_signal(signum)

    def wait(self, timeout):
        """Exit code, or None if still running at `timeout` (then killed)."""
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return None
        self._reader.join(5)
        return code

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def get(port, path, timeout=10, headers=None):
    """(status, headers dict lower-case, body) on a fresh connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers=headers or {})
        res = conn.getresponse()
        body = res.read()
        return res.status, {k.lower(): v for k, v in res.getheaders()}, body
    finally:
        conn.close()


def metrics(port):
    """The Prometheus text of /metrics as {series: value}."""
    status, _, body = get(port, "/metrics", timeout=5)
    values = {}
    if status != 200:
        return values
    for line in body.decode(errors="replace").splitlines():
        if not line or line.startswith("#"):
            continue
        series, _, value = line.rpartition(" ")
        try:
            values[series] = float(value)
        except ValueError:
            pass
    return values


WRK_TOTAL = re.compile(r"(\d+) requests in ([\d.]+)(\w+)")
WRK_ERRORS = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")
WRK_NON2XX = re.compile(r"Non-2xx or 3xx responses: (\d+)")


def parse_wrk(output):
    result = {"requests": 0, "connect": 0, "read": 0, "write": 0, "timeout": 0, "non2xx": 0}
    if m := WRK_TOTAL.search(output):
        result["requests"] = int(m.group(1))
    if m := WRK_ERRORS.search(output):
        for key, value in zip(("connect", "read", "write", "timeout"), m.groups()):
            result[key] = int(value)
    if m := WRK_NON2XX.search(output):
        result["non2xx"] = int(m.group(1))
    return result
