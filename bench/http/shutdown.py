#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Shutdown latency and scale of lifetime-demo.

1. idle: SIGTERM with nothing in flight (--drain-delay 0) until the process has exited
   (seen through a pidfd). Target <= 20 ms.
2. last request: one /api/work?seconds=0.5 in flight, SIGTERM, the request completes inside the
   budget; time from its response reaching the client to the process exit. Target <= 5 ms.
3. scale: N (1,000 and 10,000) in-flight /api/work?seconds=600 with --shutdown-timeout 1s; every
   client must get a 503 or a clean close (FIN), and the process must exit within the budget
   + 200 ms. Reports when the first and last client were answered (the cancel phase) and how
   that grows from 1k to 10k.

    bench/http/shutdown.py [--quick] [--demo PATH] [--threads N] [--counts 1000,10000]

RLIMIT_NOFILE is raised as needed (the server and this script each hold N sockets).
"""

from __future__ import annotations

import argparse
import errno
import os
import re
import signal
import socket
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchlib  # noqa: E402


def idle_shutdown(binary: str, rounds: int, threads: int | None) -> list[float]:
    times = []
    for _ in range(rounds):
        demo = benchlib.Demo(binary, "--drain-delay", "0", threads=threads)
        try:
            t0 = demo.signal(signal.SIGTERM)
            seen = demo.wait_exit(10)
            if seen is None:
                raise TimeoutError("no exit within 10 s of SIGTERM")
            if demo.proc.returncode != 0:
                raise RuntimeError(f"exit code {demo.proc.returncode}:\n{demo.log()}")
            times.append(seen - t0)
        finally:
            demo.stop()
    return times


def last_request_shutdown(binary: str, rounds: int, threads: int | None) -> list[float]:
    lags = []
    for _ in range(rounds):
        demo = benchlib.Demo(binary, "--drain-delay", "0", "--shutdown-timeout", "5s",
                             threads=threads)
        try:
            client = benchlib.Connection(demo.port)
            client.sock.sendall(benchlib.request_bytes("GET", "/api/work?seconds=0.5"))
            benchlib.wait_for(lambda: benchlib.metric(demo.metrics(), "demo_work_in_progress") >= 1,
                              timeout=5, what="the handler to start")
            demo.signal(signal.SIGTERM)
            response = benchlib.read_response(client.sock, client.buffer)
            answered = time.monotonic()
            seen = demo.wait_exit(10)
            if response is None or response.status != 200:
                raise RuntimeError(f"the in-flight request got {response and response.status}")
            if seen is None:
                raise TimeoutError("no exit within 10 s of the last response")
            lags.append(seen - answered)
            client.close()
        finally:
            demo.stop()
    return lags


class Crowd:
    """N client connections, each with one request sent, watched with epoll."""

    def __init__(self, port: int, count: int, target: str):
        self.socks: list[socket.socket] = []
        request = benchlib.request_bytes("GET", target)
        for _ in range(count):
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            s.sendall(request)
            s.setblocking(False)
            self.socks.append(s)

    def collect(self, pidfd: int, deadline: float, on_first_answer=None) -> dict:
        """Reads every connection to its end and watches the process exit. `on_first_answer` is
        called once, when the first connection answers or closes."""
        data = {s.fileno(): bytearray() for s in self.socks}
        first_byte: dict[int, float] = {}
        outcome: dict[int, str] = {}
        first = [on_first_answer]

        def answered() -> None:
            if first[0] is not None:
                first[0]()
                first[0] = None

        def on_data(s: socket.socket, chunk: bytes, now: float) -> None:
            answered()
            first_byte.setdefault(s.fileno(), now)
            data[s.fileno()] += chunk

        def on_end(s: socket.socket, now: float, reset: bool) -> None:
            answered()
            fd = s.fileno()
            first_byte.setdefault(fd, now)
            if reset:
                outcome[fd] = "reset after data" if data[fd] else "reset"
            elif data[fd]:
                m = re.match(rb"HTTP/1\.1 (\d{3})", data[fd])
                outcome[fd] = m.group(1).decode() if m else "garbage"
            else:
                outcome[fd] = "clean close"

        exited = benchlib.read_until_closed(self.socks, pidfd, deadline, on_data, on_end)
        counts: dict[str, int] = {}
        for s in self.socks:
            key = outcome.get(s.fileno(), "no answer")
            counts[key] = counts.get(key, 0) + 1
        times = sorted(first_byte.values())
        return {"counts": counts, "first": times[0] if times else None,
                "last": times[-1] if times else None, "exited": exited}

    def close(self) -> None:
        for s in self.socks:
            s.close()


def scale_shutdown(binary: str, count: int, threads: int | None, budget_s: float) -> dict:
    demo = benchlib.Demo(binary, "--drain-delay", "0", "--shutdown-timeout",
                         f"{int(budget_s * 1000)}ms", threads=threads, log_level="info")
    crowd = None
    try:
        crowd = Crowd(demo.port, count, "/api/work?seconds=600")
        benchlib.wait_for(
            lambda: benchlib.metric(demo.metrics(), "demo_work_in_progress") >= count,
            timeout=60, interval=0.01, what=f"{count} handlers to start")
        rss = demo.rss_bytes()
        cpu0 = demo.cpu_seconds()
        t0 = demo.signal(signal.SIGTERM)
        cpu_at_first = []
        result = crowd.collect(demo.pidfd, t0 + budget_s + 10,
                               on_first_answer=lambda: cpu_at_first.append(demo.cpu_seconds()))
        result["t0"] = t0
        result["rss"] = rss
        if result["exited"]:
            demo.reap()
            result["exit_code"] = demo.proc.returncode
            result["cpu"] = demo.cpu_seconds() - cpu0
            # From the first answer on the server does little but cancel, answer and exit.
            result["cancel_cpu"] = demo.cpu_seconds() - (cpu_at_first or [cpu0])[0]
        else:
            result["exit_code"] = None
            result["cpu"] = result["cancel_cpu"] = float("nan")
        log = Path(demo.log_path).read_text(errors="replace")
        result["log"] = [line for line in log.splitlines()
                         if '"GET ' not in line and re.search(r"phase|stopped in", line)]
        m = re.search(r"phases:.*\bcancel (\d+)ms", log)
        result["cancel_phase_ms"] = float(m.group(1)) if m else float("nan")
        result["access_503"] = len(re.findall(r'" 503 \d+ms cancelled=application_stopping', log))
        return result
    finally:
        if crowd is not None:
            crowd.close()
        demo.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--demo")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--counts", default="1000,10000")
    parser.add_argument("--budget", type=float, default=1.0, help="--shutdown-timeout, seconds")
    args = parser.parse_args()
    counts = [100] if args.quick else [int(x) for x in args.counts.split(",")]
    benchlib.raise_fd_limit(2 * max(counts) + 1024)

    binary = benchlib.find_demo(args.demo)
    idle_rounds, last_rounds = (3, 2) if args.quick else (20, 10)

    idle = idle_shutdown(binary, idle_rounds, args.threads)
    print(f"SIGTERM -> exit, nothing in flight: {benchlib.summary_ms(idle)}", flush=True)
    lag = last_request_shutdown(binary, last_rounds, args.threads)
    print(f"last response -> exit: {benchlib.summary_ms(lag)}", flush=True)

    scale = []
    for n in counts:
        r = scale_shutdown(binary, n, args.threads, args.budget)
        t0 = r["t0"]
        ms = lambda t: (t - t0) * 1000 if t is not None else float("nan")  # noqa: E731
        ok_clients = sum(v for k, v in r["counts"].items() if k in ("503", "clean close"))
        exit_ms = ms(r["exited"])
        cancel_ms = ms(r["last"]) - ms(r["first"]) if r["first"] is not None else float("nan")
        scale.append((n, ms(r["first"]), ms(r["last"]), cancel_ms, exit_ms, ok_clients, r))
        print(f"{n} in flight (RSS {r['rss'] / 2**20:.1f} MiB): first answer {ms(r['first']):.1f} ms, "
              f"last {ms(r['last']):.1f} ms, exit {exit_ms:.1f} ms (code {r['exit_code']}); "
              f"outcomes {r['counts']}; access log: {r['access_503']} cancelled with "
              f"application_stopping; cancel phase {r['cancel_phase_ms']:.0f} ms; server CPU from "
              f"SIGTERM to exit {1000 * r['cpu']:.0f} ms", flush=True)
        for line in r["log"]:
            print(f"    log: {line}")

    budget_ms = args.budget * 1000
    print()
    print("| measurement | result | target |")
    print("|---|---|---|")
    print(f"| SIGTERM → exit, idle, --drain-delay 0 | median {1000 * statistics.median(idle):.1f} ms, "
          f"max {1000 * max(idle):.1f} ms ({len(idle)} runs) | ≤ 20 ms |")
    print(f"| last in-flight response → exit | median {1000 * statistics.median(lag):.2f} ms, "
          f"max {1000 * max(lag):.2f} ms ({len(lag)} runs) | ≤ 5 ms |")
    for n, first, last, cancel, exit_ms, ok_clients, r in scale:
        print(f"| {n:,} in flight, --shutdown-timeout {args.budget:g}s | answers {first:.0f}–{last:.0f} ms "
              f"after SIGTERM (spread {cancel:.1f} ms; server's cancel phase "
              f"{r['cancel_phase_ms']:.0f} ms), exit {exit_ms:.0f} ms (code {r['exit_code']}); "
              f"server CPU from the first answer to exit {1000 * r['cancel_cpu']:.0f} ms = "
              f"{1e6 * r['cancel_cpu'] / n:.0f} µs/request; "
              f"{ok_clients}/{n} got 503 or a clean close, {r['access_503']} logged as cancelled "
              f"| exit ≤ {budget_ms + 200:.0f} ms, all 503/close |")
    if len(scale) >= 2:
        n1, n2 = scale[0][0], scale[-1][0]
        cpu1, cpu2 = scale[0][6]["cancel_cpu"], scale[-1][6]["cancel_cpu"]
        if cpu1 > 0:
            print(f"\nserver CPU from the first answer to exit grows {cpu2 / cpu1:.1f}x for {n2 / n1:.0f}x the "
                  f"requests ({'linear or better' if cpu2 / cpu1 <= 1.2 * n2 / n1 else 'WORSE than linear'})")
        c1, c2 = scale[0][3], scale[-1][3]
        if c1 > 0:
            print(f"cancel spread (first to last 503) grows {c2 / c1:.1f}x for {n2 / n1:.0f}x the "
                  f"requests ({'linear or better' if c2 / c1 <= 1.2 * n2 / n1 else 'WORSE than linear'})")
    return 0


if __name__ == "__main__":
    benchlib.run_main(main)
