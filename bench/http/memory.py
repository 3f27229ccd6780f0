#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Resident memory of lifetime-demo per connection and per in-flight request.

- idle: N keep-alive connections, each after one GET /hello, left idle. Baseline in the same
  run: Boost.Beast's http_server_async example with the same N idle keep-alive connections.
- in flight: N connections each with GET /api/work?seconds=600 running (demo_work_in_progress
  reaches N), in a fresh process so that freed memory of the idle run is not reused.
Per-connection figure = (RSS with the connections - RSS before, after a warm-up) / N. RSS is
VmRSS from /proc/PID/status. Target: <= 16 KiB per in-flight request in total (lifetime's own
share is measured by bench/bookkeeping).

    bench/http/memory.py [--quick] [--count N] [--demo PATH] [--threads N]
"""

from __future__ import annotations

import argparse
import socket
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchlib  # noqa: E402


def warm_up(port: int) -> None:
    c = benchlib.Connection(port)
    for _ in range(200):
        c.get("/hello")
    c.close()


def open_idle(port: int, count: int) -> list[benchlib.Connection]:
    conns = []
    for _ in range(count):
        c = benchlib.Connection(port)
        r = c.get("/hello")
        if r.status != 200:
            raise RuntimeError(f"/hello answered {r.status}")
        conns.append(c)
    return conns


def open_in_flight(port: int, count: int) -> list[socket.socket]:
    request = benchlib.request_bytes("GET", "/api/work?seconds=600")
    socks = []
    for _ in range(count):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(request)
        socks.append(s)
    return socks


def measure_idle(server, port: int, count: int) -> tuple[int, int]:
    warm_up(port)
    before = server.rss_bytes()
    conns = open_idle(port, count)
    after = server.rss_bytes()
    for c in conns:
        c.close()
    return before, after


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--count", type=int, default=10000)
    parser.add_argument("--demo")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    count = 500 if args.quick else args.count
    benchlib.raise_fd_limit(count + 1024)
    binary = benchlib.find_demo(args.demo)

    rows = []
    with benchlib.Demo(binary, threads=args.threads) as demo:
        body = benchlib.Connection(demo.port).get("/hello").body
        before, after = measure_idle(demo, demo.port, count)
        rows.append(("lifetime-demo, idle keep-alive", before, after))
    try:
        beast = benchlib.BeastExample(body, threads=args.threads or 1)
        try:
            before, after = measure_idle(beast, beast.port, count)
            rows.append(("Beast http_server_async, idle keep-alive", before, after))
        finally:
            beast.stop()
    except benchlib.Skip as skip:
        print(f"Beast baseline skipped: {skip}")

    with benchlib.Demo(binary, threads=args.threads) as demo:
        warm_up(demo.port)
        before = demo.rss_bytes()
        socks = open_in_flight(demo.port, count)
        benchlib.wait_for(
            lambda: benchlib.metric(demo.metrics(), "demo_work_in_progress") >= count,
            timeout=120, interval=0.01, what=f"{count} handlers to start")
        after = demo.rss_bytes()
        rows.append(("lifetime-demo, /api/work in flight", before, after))
        for s in socks:
            s.close()

    print()
    print(f"| {count:,} connections | RSS before | RSS with them | per connection | target |")
    print("|---|---:|---:|---:|---|")
    for label, before, after in rows:
        per = (after - before) / count
        target = "≤ 16 KiB" if "in flight" in label else ""
        print(f"| {label} | {before / 2**20:.1f} MiB | {after / 2**20:.1f} MiB | "
              f"{per / 1024:.2f} KiB | {target} |")
    per = {label: (after - before) / count for label, before, after in rows}
    idle = per.get("lifetime-demo, idle keep-alive")
    beast = per.get("Beast http_server_async, idle keep-alive")
    flight = per.get("lifetime-demo, /api/work in flight")
    print()
    if idle and beast:
        print(f"- idle connection, lifetime-demo / Beast example: {idle / beast:.2f}x")
    if flight is not None and idle is not None:
        print(f"- an in-flight /api/work request above an idle connection: {(flight - idle) / 1024:.2f} KiB")
    if flight is not None:
        print(f"- in flight, per request: {flight / 1024:.2f} KiB "
              f"({'met' if flight <= 16 * 1024 else 'MISSED'}: target ≤ 16 KiB)")
    return 0


if __name__ == "__main__":
    benchlib.run_main(main)
