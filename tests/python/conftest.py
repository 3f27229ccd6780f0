# SPDX-License-Identifier: MIT
"""Shared helpers for the Python tests: a child process read line by line with deadlines."""
import os
import selectors
import signal
import subprocess
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))


class Child:
    """`python3 host_app.py args...`, stdout and stderr on one pipe, read with deadlines."""

    def __init__(self, *args):
        self.process = subprocess.Popen([sys.executable, os.path.join(HERE, "host_app.py"), *args],
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.lines = []
        self._buffer = b""
        self._selector = selectors.DefaultSelector()
        self._selector.register(self.process.stdout, selectors.EVENT_READ)
        os.set_blocking(self.process.stdout.fileno(), False)

    def _read(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0 or not self._selector.select(left):
            return False
        chunk = self.process.stdout.read()
        if not chunk:
            return False
        self._buffer += chunk
        *complete, self._buffer = self._buffer.split(b"\n")
        self.lines.extend(line.decode(errors="replace") for line in complete)
        return True

    def wait_for_line(self, text, timeout=10.0):
        """The first line not seen before containing `text` (with the time it was read)."""
        deadline = time.monotonic() + timeout
        start = getattr(self, "_next", 0)
        while True:
            for i in range(start, len(self.lines)):
                if text in self.lines[i]:
                    self._next = i + 1
                    return self.lines[i], time.monotonic_ns()
            start = len(self.lines)
            if not self._read(deadline):
                return None, None

    def signal(self, number=signal.SIGTERM):
        self.process.send_signal(number)

    def wait(self, timeout=10.0):
        """The exit code, after reading all output."""
        deadline = time.monotonic() + timeout
        while self._read(deadline):
            pass
        return self.process.wait(timeout=max(deadline - time.monotonic(), 0.1))

    def output(self):
        return "\n".join(self.lines)

    def close(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._selector.close()
        self.process.stdout.close()


@pytest.fixture
def child():
    children = []

    def spawn(*args):
        c = Child(*args)
        children.append(c)
        return c

    yield spawn
    for c in children:
        c.close()
