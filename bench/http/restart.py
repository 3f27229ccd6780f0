#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""POST /admin/restart under load: socket errors, how long the server was not serving, and
whether requests in flight across a restart finish.

wrk keeps a steady load on GET /hello while this script restarts the web host K times through
POST /admin/restart (Authorization: Bearer <token>). A prober thread meanwhile opens a new
connection for every GET /hello, as fast as it can, and records when each answer arrived and
every failure (refused, reset, non-200). For each restart the "not serving" time is the longest
gap between two successful probes in the 2 s after the restart was asked for; the same gap
measured outside restarts in the same run is the baseline (the prober's own resolution).
Meanwhile long requesters keep GET /api/work?seconds=L (L shorter than --restart-grace) in flight
on keep-alive connections: with a reload that drains, none of them is cancelled.

    bench/http/restart.py [--quick] [--restarts K] [--demo PATH] [--threads N]
                          [--restart-grace 10s] [--long 0.4]

Targets: zero socket errors in wrk and in the prober; no long request cancelled.
"""

from __future__ import annotations

import argparse
import bisect
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchlib  # noqa: E402

TOKEN = "bench-admin-token"


class LongRequester(threading.Thread):
    """Keeps one GET /api/work?seconds=L in flight at a time on a keep-alive connection."""

    def __init__(self, port: int, seconds: float):
        super().__init__(daemon=True)
        self.port = port
        self.seconds = seconds
        self.statuses: dict[int, int] = {}
        self.errors: list[str] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        c = None
        while not self.stopping.is_set():
            try:
                if c is None:
                    c = benchlib.Connection(self.port, timeout=30)
                r = c.get(f"/api/work?seconds={self.seconds}")
                self.statuses[r.status] = self.statuses.get(r.status, 0) + 1
                if r.headers.get("connection", "").lower() == "close":
                    c.close()
                    c = None
            except OSError as e:
                self.errors.append(type(e).__name__)
                c = None


def max_gap(times: list[float], start: float, end: float) -> float:
    i = max(0, bisect.bisect_left(times, start) - 1)
    j = bisect.bisect_right(times, end)
    window = times[i:j + 1]
    return max((b - a for a, b in zip(window, window[1:])), default=float("nan"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--restarts", type=int, default=10)
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between restarts")
    parser.add_argument("--demo")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--load-connections", type=int, default=16)
    parser.add_argument("--restart-grace", default="10s")
    parser.add_argument("--long", type=float, default=0.4,
                        help="seconds of each long request kept in flight across restarts")
    parser.add_argument("--long-requesters", type=int, default=4)
    args = parser.parse_args()
    restarts, interval = (2, 0.5) if args.quick else (args.restarts, args.interval)
    binary = benchlib.find_demo(args.demo)

    with benchlib.Demo(binary, "--admin-token", TOKEN, "--restart-grace", args.restart_grace,
                       threads=args.threads) as demo:
        wrk = benchlib.Wrk(f"http://127.0.0.1:{demo.port}/hello",
                           seconds=restarts * interval + 3, connections=args.load_connections)
        if not wrk.available:
            print("wrk not installed: restarting under the prober's load only")
        prober = benchlib.NewConnectionProber(demo.port)
        prober.start()
        longs = [LongRequester(demo.port, args.long) for _ in range(args.long_requesters)]
        for long in longs:
            long.start()
        # Baseline windows: load and prober running, no restart.
        baseline_starts = []
        for _ in range(max(1, min(restarts, 5))):
            baseline_starts.append(time.monotonic())
            time.sleep(min(interval, 2.0))
        asked: list[float] = []
        done: list[float] = []
        for _ in range(restarts):
            before = benchlib.metric(demo.metrics(), "demo_web_host_restarts_total")
            c = benchlib.Connection(demo.port)
            t = time.monotonic()
            r = c.request("POST", "/admin/restart", {"Authorization": f"Bearer {TOKEN}"})
            c.close()
            if r.status != 200:
                raise RuntimeError(f"/admin/restart answered {r.status}: {r.body!r}")
            asked.append(t)
            benchlib.wait_for(
                lambda: benchlib.metric(demo.metrics(), "demo_web_host_restarts_total") > before,
                timeout=10, interval=0.001, what="the restart to be counted")
            done.append(time.monotonic())
            time.sleep(interval)
        prober.stopping.set()
        prober.join()
        for long in longs:
            long.stopping.set()
        for long in longs:
            long.join()
        result = wrk.result() if wrk.available else {}

    ok = sorted(prober.ok)
    window = min(interval, 2.0)
    # Same-length windows without a restart: the prober's own longest gaps (its resolution).
    baseline = [max_gap(ok, t, t + window) for t in baseline_starts]
    gaps = [max_gap(ok, t, t + window) for t in asked]
    counted = [d - a for a, d in zip(asked, done)]
    socket_failures = [f for f in prober.failures if not f[1].startswith("status")]
    status_failures = [f for f in prober.failures if f[1].startswith("status")]

    print()
    print("| measurement | result |")
    print("|---|---|")
    load = f"wrk -c{args.load_connections} on /hello + " if result else ""
    print(f"| restarts under load | {restarts} ({load}a new-connection prober) |")
    if result:
        print(f"| wrk: requests, socket errors, non-2xx | {result['requests']:.0f}, "
              f"{result['socket_errors']:.0f}, {result['non_2xx']:.0f} |")
    print(f"| prober: answers, socket errors, non-200 | {len(ok)}, {len(socket_failures)}, "
          f"{len(status_failures)} {sorted(set(f[1] for f in prober.failures))} |")
    print(f"| longest gap between successful probes, {1000 * window:.0f} ms after each restart | "
          f"median {1000 * statistics.median(gaps):.2f} ms, max {1000 * max(gaps):.2f} ms |")
    print(f"| same, {1000 * window:.0f} ms windows without a restart (baseline) | median "
          f"{1000 * statistics.median(baseline):.2f} ms, max {1000 * max(baseline):.2f} ms |")
    print(f"| not serving per restart (median gap with restart − median gap without) | "
          f"{1000 * (statistics.median(gaps) - statistics.median(baseline)):.2f} ms |")
    print(f"| POST /admin/restart → restart counted | median "
          f"{1000 * statistics.median(counted):.2f} ms |")
    long_statuses: dict[int, int] = {}
    for long in longs:
        for status, n in long.statuses.items():
            long_statuses[status] = long_statuses.get(status, 0) + n
    long_errors = sum(len(long.errors) for long in longs)
    long_failed = sum(n for status, n in long_statuses.items() if status != 200) + long_errors
    print(f"| long requests ({args.long} s, grace {args.restart_grace}, {len(longs)} in flight): "
          f"by status, socket errors | {dict(sorted(long_statuses.items()))}, {long_errors} |")
    errors = (result.get("socket_errors", 0) if result else 0) + len(socket_failures)
    print()
    print(f"zero socket errors: {'met' if errors == 0 else 'MISSED'}")
    print(f"no long request cancelled by a restart: {'met' if long_failed == 0 else 'MISSED'}")
    return 0


if __name__ == "__main__":
    benchlib.run_main(main)
