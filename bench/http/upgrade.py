#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Binary upgrades (SIGUSR1) under load: socket errors, non-2xx, refused connections, and what
becomes of the requests in flight on each old process.

lifetime-demo runs from a copy in a scratch directory with --pid-file. wrk keeps keep-alive
connections busy on GET /hello, and a prober thread opens a new connection for every GET /hello,
as fast as it can, recording every failure (refused, reset, non-200). Then, K times: N
requests of /api/work?seconds=1 are put in flight on the serving process, it is sent SIGUSR1,
the pid file is awaited until it names the new process, and the old process's exit code and its
in-flight answers are collected. Midway, the binary is replaced by a script that exits 1 (a
broken release): SIGUSR1 must leave the old process serving, its log must say why, and the next
upgrade, with the good binary put back, must work.

    bench/http/upgrade.py [--quick] [--upgrades K] [--in-flight N] [--demo PATH] [--drain-delay D]

Targets: 0 socket errors (wrk and the prober), 0 non-2xx, 0 refused connections, every in-flight
request answered 200, every old process exits 0; the broken binary fails no request. The last
line says "targets: met" or "targets: MISSED" (the exit status is 0 either way, as for the other
load scripts; non-zero only when the run itself fails).
"""

from __future__ import annotations

import argparse
import ctypes
import os
import select
import shutil
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchlib  # noqa: E402

PR_SET_CHILD_SUBREAPER = 36


class InFlight(threading.Thread):
    """One /api/work request on its own connection; keeps the status (or the error)."""

    def __init__(self, port: int, seconds: float):
        super().__init__(daemon=True)
        self.port = port
        self.seconds = seconds
        self.result: str | int = "pending"

    def run(self) -> None:
        try:
            c = benchlib.Connection(self.port, timeout=30)
            try:
                self.result = c.get(f"/api/work?seconds={self.seconds}").status
            finally:
                c.close()
        except OSError as e:
            self.result = type(e).__name__


def read_pid(path: str) -> int | None:
    try:
        return int(Path(path).read_text().strip())
    except (OSError, ValueError):
        return None


class Adopted:
    """A process started by an upgrade, reaped here once its parent is gone (subreaper)."""

    def __init__(self, pid: int):
        self.pid = pid
        self.pidfd = os.pidfd_open(pid)
        self.code: int | None = None

    def wait_exit(self, timeout: float) -> int | None:
        ready, _, _ = select.select([self.pidfd], [], [], timeout)
        if not ready:
            return None
        deadline = time.monotonic() + timeout
        while self.code is None and time.monotonic() < deadline:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                pid, status = 0, 0
            if pid == self.pid:
                self.code = os.waitstatus_to_exitcode(status)
            else:
                time.sleep(0.005)
        os.close(self.pidfd)
        return self.code


def replace(path: Path, content: bytes | None = None, source: str | None = None) -> None:
    """A new file renamed over `path`, as a deployment does."""
    tmp = path.with_name(path.name + ".next")
    if source is not None:
        shutil.copyfile(source, tmp)
    else:
        tmp.write_bytes(content or b"")
    os.chmod(tmp, 0o755)
    os.replace(tmp, path)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--upgrades", type=int, default=10)
    parser.add_argument("--in-flight", type=int, default=20)
    parser.add_argument("--demo")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--load-connections", type=int, default=16)
    parser.add_argument("--drain-delay", default="0s",
                        help="the demo's --drain-delay (keep-alive clients are told to close)")
    args = parser.parse_args()
    upgrades = 3 if args.quick else args.upgrades
    source = benchlib.find_demo(args.demo)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise SystemExit("prctl(PR_SET_CHILD_SUBREAPER) failed")

    scratch = Path(tempfile.mkdtemp(prefix="lifetime-upgrade-bench-"))
    binary = scratch / "lifetime-demo"
    shutil.copyfile(source, binary)
    os.chmod(binary, 0o755)
    pid_file = str(scratch / "demo.pid")
    broken_at = upgrades // 2

    in_flight: list[InFlight] = []
    old_codes: list[int | None] = []
    took: list[float] = []
    broken = {}
    with benchlib.Demo(str(binary), "--pid-file", pid_file, "--drain-delay", args.drain_delay,
                       threads=args.threads, workdir=str(scratch)) as demo:
        port = demo.port
        duration = upgrades * 5 + 30  # stopped with SIGINT once the upgrades are done
        wrk = benchlib.Wrk(f"http://127.0.0.1:{port}/hello", seconds=duration,
                           connections=args.load_connections)
        prober = benchlib.NewConnectionProber(port)
        prober.start()
        time.sleep(0.5)
        current: int = demo.pid
        first = True
        for i in range(upgrades):
            if i == broken_at:
                replace(binary, b"#!/bin/sh\nexit 1\n")
                before = demo.log().count("upgrade failed")
                os.kill(current, signal.SIGUSR1)
                benchlib.wait_for(lambda: demo.log().count("upgrade failed") > before, 30,
                                  what="the failed upgrade to be logged")
                line = [l for l in demo.log().splitlines() if "upgrade failed" in l][-1]
                broken = {"line": line.split("]", 3)[-1].strip(),
                          "same pid": read_pid(pid_file) == current}
                replace(binary, source=source)
            batch = [InFlight(port, 1) for _ in range(args.in_flight)]
            for t in batch:
                t.start()
            benchlib.wait_for(
                lambda: benchlib.metric(demo.metrics(), "demo_work_in_progress") >= len(batch),
                timeout=10, what="the in-flight requests to arrive")
            in_flight += batch
            asked = time.monotonic()
            os.kill(current, signal.SIGUSR1)
            new = benchlib.wait_for(lambda: (p := read_pid(pid_file)) != current and p, 30,
                                    what="the pid file to name the new process")
            took.append(time.monotonic() - asked)
            adopted = Adopted(new)
            if first:
                code = None if demo.wait_exit(30) is None else demo.proc.returncode
                first = False
            else:
                code = previous.wait_exit(30)
            old_codes.append(code)
            previous = adopted
            current = new
            time.sleep(0.3)
        time.sleep(0.5)
        prober.stopping.set()
        prober.join()
        if wrk.available:
            wrk.proc.send_signal(signal.SIGINT)
        result = wrk.result() if wrk.available else {}
        os.kill(current, signal.SIGTERM)
        last_code = previous.wait_exit(30)
        for t in in_flight:
            t.join(10)
        log = demo.log()
    shutil.rmtree(scratch, ignore_errors=True)

    statuses = [t.result for t in in_flight]
    answered_200 = sum(1 for s in statuses if s == 200)
    print()
    print("| measurement | result |")
    print("|---|---|")
    print(f"| upgrades under load | {upgrades} good (+1 broken binary), wrk -c{args.load_connections}"
          f" keep-alive on /hello + a new-connection prober, --drain-delay {args.drain_delay} |")
    if result:
        errors_line = [l.strip() for l in str(result["output"]).splitlines()
                       if "Socket errors" in l]
        print(f"| wrk: requests, socket errors, non-2xx | {result['requests']:.0f}, "
              f"{result['socket_errors']:.0f} {errors_line}, {result['non_2xx']:.0f} |")
    others = [kind for _, kind in prober.failures if kind != "ConnectionRefusedError"]
    print(f"| prober: answers, refused, other failures | {len(prober.ok)}, {prober.refused}, "
          f"{len(others)} {sorted(set(others))} |")
    print(f"| in-flight /api/work?seconds=1 on each old process | {answered_200}/{len(statuses)} "
          f"answered 200 {sorted(set(str(s) for s in statuses if s != 200))} |")
    print(f"| old processes' exit codes | {old_codes} (last one on SIGTERM: {last_code}) |")
    print(f"| SIGUSR1 → pid file names the new process | median "
          f"{1000 * sorted(took)[len(took) // 2]:.1f} ms, max {1000 * max(took):.1f} ms |")
    print(f"| broken binary | {broken.get('line', 'not logged')}; old process still named by "
          f"the pid file: {broken.get('same pid')} |")
    errors = (result.get("socket_errors", 0) + result.get("non_2xx", 0) if result else 0) + \
        len(prober.failures)
    met = (errors == 0 and answered_200 == len(statuses)
           and all(c == 0 for c in old_codes) and broken.get("same pid"))
    print()
    print(f"targets: {'met' if met else 'MISSED'}")
    if not met:
        print(log[-3000:])
    return 0


if __name__ == "__main__":
    benchlib.run_main(main)
