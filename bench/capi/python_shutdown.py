#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A Python asyncio service under lifetime's host: SIGTERM -> its task cancelled, and the exit.

    python3 bench/capi/python_shutdown.py [--runs 10] [--budget 1.0]
        [--library build/release/capi/liblifetime-c.so.1]

Runs tests/python/host_app.py (the Python package over liblifetime-c) as a real process and
sends it SIGTERM once it is ready:
  asyncio        a service whose run() awaits: SIGTERM -> the task's CancelledError (from the
                 service's own time.monotonic_ns() line) and SIGTERM -> exit (waitpid), code 0;
  ignores-token  a service that swallows the cancellation: SIGTERM -> exit, which must come within
                 the budget + 100 ms, code 70;
  blocks         a service that blocks the event loop (time.sleep): the same bound.
Prints the median and maximum of each, in milliseconds, and whether the bound held.
"""
import argparse
import os
import selectors
import signal
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
APP = os.path.join(ROOT, "tests", "python", "host_app.py")


def python3_with_stdlib():
    return "/usr/bin/python3" if os.access("/usr/bin/python3", os.X_OK) else sys.executable


def read_until(process, text, deadline, lines):
    """Reads the child's output (unbuffered, by os.read) until a line contains `text`."""
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    pending = lines.pop() if lines and not lines[-1].endswith("\n") else ""
    try:
        while True:
            for line in lines:
                if text in line:
                    return line
            left = deadline - time.monotonic()
            if left <= 0 or not selector.select(left):
                return None
            chunk = os.read(process.stdout.fileno(), 65536)
            if not chunk:
                return None
            pending += chunk.decode(errors="replace")
            *complete, pending = pending.split("\n")
            lines.extend(line + "\n" for line in complete)
    finally:
        if pending:
            lines.append(pending)
        selector.close()


def one_run(mode, budget, env):
    process = subprocess.Popen([python3_with_stdlib(), APP, mode, str(budget)], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    lines = []
    try:
        ready = "blocking" if mode == "blocks" else "ready"
        if read_until(process, ready, time.monotonic() + 30, lines) is None:
            raise RuntimeError(f"{mode}: never ready: {''.join(lines)}")
        sent = time.monotonic_ns()
        process.send_signal(signal.SIGTERM)
        cancelled_ms = None
        if mode == "asyncio":
            line = read_until(process, "run cancelled", time.monotonic() + 10, lines)
            cancelled_ms = (int(line.split()[-1]) - sent) / 1e6 if line else None
        code = process.wait(timeout=30)
        exit_ms = (time.monotonic_ns() - sent) / 1e6
        return cancelled_ms, exit_ms, code
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--budget", type=float, default=1.0)
    parser.add_argument("--library",
                        default=os.path.join(ROOT, "build/release/capi/liblifetime-c.so.1"))
    args = parser.parse_args()
    env = dict(os.environ, LIFETIME_C_LIBRARY=args.library,
               PYTHONPATH=os.path.join(ROOT, "python"), PYTHONDONTWRITEBYTECODE="1")
    bound_ms = args.budget * 1000 + 100
    print(f"{args.runs} runs per mode, budget {args.budget:g} s, "
          f"load average {os.getloadavg()[0]:.2f}\n")
    for mode, expected in (("asyncio", 0), ("ignores-token", 70), ("blocks", 70)):
        results = [one_run(mode, args.budget, env) for _ in range(args.runs)]
        exits = [r[1] for r in results]
        codes = sorted({r[2] for r in results})
        if mode == "asyncio":
            cancels = [r[0] for r in results if r[0] is not None]
            print(f"{mode:14} SIGTERM -> task cancelled: median {statistics.median(cancels):.2f} "
                  f"ms, max {max(cancels):.2f} ms ({len(cancels)}/{len(results)} runs)")
        held = max(exits) <= bound_ms
        print(f"{mode:14} SIGTERM -> exit: median {statistics.median(exits):.1f} ms, "
              f"max {max(exits):.1f} ms; exit codes {codes} (expected {expected}); "
              f"<= budget + 100 ms ({bound_ms:.0f} ms): {'ok' if held else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
