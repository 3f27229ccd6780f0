#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""How fast lifetime-demo notices that a client went away in the middle of a request.

A client starts GET /api/work?seconds=30 (which answers nothing until it is done), waits until
the handler runs (demo_work_in_progress), then closes its socket — with FIN (close()) or with RST
(SO_LINGER 0, close()) — and polls /metrics on a second keep-alive connection as fast as it can
until http_requests_aborted_total{reason="client_disconnected"} moves. The latency of a round is
the time from close() to the arrival of the first /metrics answer that shows the new count, so
it includes up to one /metrics round trip (reported as the resolution of the measurement; the
round trip's own p99 shows how much of a tail the machine adds to any request at that moment).
Rounds run idle, under a steady wrk load on /hello (each connection pauses --load-delay-ms
between requests) and under a saturating one.

    bench/http/disconnect_latency.py [--quick] [--rounds N] [--demo PATH] [--threads N]

Targets (issue: performance): median <= 0.5 ms, p99 <= 2 ms.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import struct
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchlib  # noqa: E402

COUNTER = "http_requests_aborted_total"


def aborted(metrics: dict[str, float]) -> float:
    return benchlib.metric(metrics, COUNTER, reason="client_disconnected")


def one_round(demo: benchlib.Demo, poller: benchlib.Connection, mode: str,
              poll_rtts: list[float]) -> float:
    before = demo.metrics(poller)
    base_work = benchlib.metric(before, "demo_work_in_progress")
    base_aborted = aborted(before)

    client = socket.create_connection(("127.0.0.1", demo.port))
    client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    client.sendall(benchlib.request_bytes("GET", "/api/work?seconds=30"))
    benchlib.wait_for(
        lambda: benchlib.metric(demo.metrics(poller), "demo_work_in_progress") > base_work,
        timeout=10, interval=0, what="the /api/work handler to start")

    if mode == "rst":
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    t0 = time.perf_counter()
    client.close()
    deadline = t0 + 5.0
    while True:
        sent = time.perf_counter()
        current = aborted(demo.metrics(poller))
        now = time.perf_counter()
        poll_rtts.append(now - sent)
        if current > base_aborted:
            return now - t0
        if now > deadline:
            raise TimeoutError(f"{COUNTER} did not move within 5 s of a {mode} close")


def run_series(demo: benchlib.Demo, rounds: int, label: str, rows: list[tuple]) -> None:
    poller = benchlib.Connection(demo.port)
    try:
        for mode in ("fin", "rst"):
            latencies: list[float] = []
            rtts: list[float] = []
            for _ in range(rounds):
                latencies.append(one_round(demo, poller, mode, rtts))
            rows.append((label, mode, latencies, rtts))
            print(f"  {label:<22} {mode.upper()}: {benchlib.summary_ms(latencies)}; "
                  f"/metrics round trip median {1000 * statistics.median(rtts):.3f} ms",
                  flush=True)
    finally:
        poller.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="10 rounds each, short load")
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--demo", help="lifetime-demo binary")
    parser.add_argument("--threads", type=int, default=None, help="server threads (--threads)")
    parser.add_argument("--load-connections", type=int, default=16)
    parser.add_argument("--load-delay-ms", type=int, default=2,
                        help="pause of each wrk connection between requests for the steady load")
    args = parser.parse_args()
    rounds = 10 if args.quick else args.rounds

    binary = benchlib.find_demo(args.demo)
    rows: list[tuple] = []
    with benchlib.Demo(binary, threads=args.threads) as demo:
        print(f"{binary}: {rounds} rounds each")
        run_series(demo, rounds, "idle", rows)
        # Two loads on /hello: steady (each connection pauses between requests, well below
        # saturation) and saturating (as fast as wrk can). Long enough for the series; stopped as
        # soon as it is done.
        for delay_ms in (args.load_delay_ms, 0):
            wrk = benchlib.Wrk(f"http://127.0.0.1:{demo.port}/hello", seconds=600,
                               connections=args.load_connections, delay_ms=delay_ms)
            if not wrk.available:
                print("  wrk not installed: the series under load are skipped")
                break
            time.sleep(0.5)  # let the load reach its steady state before measuring
            started = time.monotonic()
            before = benchlib.metric(demo.metrics(), "http_requests_total")
            label = (f"steady load, wrk -c{args.load_connections} delay {delay_ms}ms" if delay_ms
                     else f"saturating load, wrk -c{args.load_connections}")
            try:
                run_series(demo, rounds, label, rows)
            finally:
                served = benchlib.metric(demo.metrics(), "http_requests_total") - before
                rate = served / (time.monotonic() - started)
                wrk.stop()
                wrk.result()
                rows[-1] = rows[-1] + (rate,)
                rows[-2] = rows[-2] + (rate,)
                print(f"  load: {rate:,.0f} req/s")

    print()
    print("| condition | load req/s | close | median ms | p99 ms | max ms | rounds | "
          "/metrics RTT median ms | /metrics RTT p99 ms | median ≤ 0.5, p99 ≤ 2 |")
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|---|")
    ok = True
    for label, mode, latencies, rtts, *rate in rows:
        ms = [x * 1000 for x in latencies]
        med, p99 = statistics.median(ms), benchlib.percentile(ms, 99)
        row_ok = med <= 0.5 and p99 <= 2.0
        ok = ok and row_ok
        load = f"{rate[0]:,.0f}" if rate else "0"
        print(f"| {label} | {load} | {mode.upper()} | {med:.3f} | {p99:.3f} | {max(ms):.3f} | "
              f"{len(ms)} | {1000 * statistics.median(rtts):.3f} | "
              f"{1000 * benchlib.percentile(rtts, 99):.3f} | {'met' if row_ok else 'missed'} |")
    print()
    print(f"targets (median <= 0.5 ms, p99 <= 2 ms): {'met' if ok else 'MISSED'}")
    return 0


if __name__ == "__main__":
    benchlib.run_main(main)
