#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""How fast a server notices that a client went away in the middle of a request: lifetime-demo
against Go's net/http (bench/peers/go, built here with Debian's golang-go) in the same run.

A client starts GET /api/work?seconds=30 (which answers nothing until it is done), waits until
the handler runs (http_requests_in_flight), then closes its socket — with FIN (close()) or with
RST (SO_LINGER 0, close()) — and polls /metrics on a second keep-alive connection as fast as it
can until http_requests_aborted_total{reason="client_disconnected"} moves. Each round gives two
bounds on when the counter moved:

  upper bound  close() → arrival of the first /metrics answer that shows the new count
  lower bound  close() → sending of that /metrics request (the one before it did not see it)

Rounds alternate between the servers (FIN and RST each), so both see the same machine. Both
serve on --threads threads (lifetime-demo --threads, Go GOMAXPROCS). With --compare PATH an
earlier lifetime-demo build is measured alongside. With --load, a second series runs under a
steady wrk load on /hello of the server being measured.

    bench/http/disconnect_latency.py [--quick] [--rounds N] [--demo PATH] [--compare PATH]
                                     [--threads N] [--load] [--no-install]

Target (issue: performance): each median (upper and lower bound, FIN and RST) at most Go's.
The path inside lifetime-demo hop by hop: build/release/bench/http/lifetime_disconnect_bench.
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


def one_round(server: benchlib.Server, poller: benchlib.Connection,
              mode: str) -> tuple[float, float]:
    """(upper bound, lower bound) in seconds."""
    before = server.metrics(poller)
    base_in_flight = benchlib.metric(before, "http_requests_in_flight")
    base_aborted = aborted(before)

    client = socket.create_connection(("127.0.0.1", server.port))
    client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    client.sendall(benchlib.request_bytes("GET", "/api/work?seconds=30"))
    benchlib.wait_for(
        lambda: benchlib.metric(server.metrics(poller), "http_requests_in_flight")
        > base_in_flight, timeout=10, interval=0, what="the /api/work handler to start")

    if mode == "rst":
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    t0 = time.perf_counter()
    client.close()
    deadline = t0 + 5.0
    while True:
        sent = time.perf_counter()
        answer = poller.get("/metrics")
        now = time.perf_counter()  # the answer has arrived; reading it is the client's time
        if aborted(benchlib.parse_metrics(answer.body)) > base_aborted:
            return now - t0, sent - t0
        if now > deadline:
            raise TimeoutError(f"{COUNTER} did not move within 5 s of a {mode} close")


def run_rounds(servers: dict[str, benchlib.Server], rounds: int,
               results: dict[tuple[str, str], list[tuple[float, float]]]) -> None:
    pollers = {name: benchlib.Connection(s.port) for name, s in servers.items()}
    try:
        for _ in range(rounds):
            for name, server in servers.items():
                for mode in ("fin", "rst"):
                    results.setdefault((name, mode), []).append(
                        one_round(server, pollers[name], mode))
    finally:
        for p in pollers.values():
            p.close()


def medians(samples: list[tuple[float, float]]) -> tuple[float, float]:
    return (1000 * statistics.median(u for u, _ in samples),
            1000 * statistics.median(low for _, low in samples))


def print_table(title: str, results: dict[tuple[str, str], list[tuple[float, float]]]) -> bool:
    print(f"\n{title}\n")
    print("| server | close | upper median ms | upper p99 ms | lower median ms | lower p99 ms | "
          "rounds | upper / Go | lower / Go |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    ok = True
    for (name, mode), samples in results.items():
        upper, lower = medians(samples)
        p99u = 1000 * benchlib.percentile([u for u, _ in samples], 99)
        p99l = 1000 * benchlib.percentile([low for _, low in samples], 99)
        go = results.get(("go", mode))
        ratios = ""
        if go and name != "go":
            go_upper, go_lower = medians(go)
            ratios = f"{upper / go_upper:.2f} | {lower / go_lower:.2f}"
            if name == "demo":
                ok = ok and upper <= go_upper and lower <= go_lower
        else:
            ratios = " | "
        print(f"| {name} | {mode.upper()} | {upper:.3f} | {p99u:.3f} | {lower:.3f} | {p99l:.3f} "
              f"| {len(samples)} | {ratios} |")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="10 rounds each")
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--demo", help="lifetime-demo binary")
    parser.add_argument("--compare", help="an earlier lifetime-demo binary to measure alongside")
    parser.add_argument("--threads", type=int, default=2, help="server threads")
    parser.add_argument("--load", action="store_true",
                        help="also measure under a steady wrk load (16 connections, 2 ms pauses)")
    parser.add_argument("--no-install", action="store_true",
                        help="skip instead of installing golang-go and wrk")
    args = parser.parse_args()
    rounds = 10 if args.quick else args.rounds

    benchlib.ensure_tools(("go", "wrk") if args.load else ("go",), install=not args.no_install)
    binary = benchlib.find_demo(args.demo)
    go_binary = benchlib.build_go_peer()
    servers: dict[str, benchlib.Server] = {}
    try:
        servers["demo"] = benchlib.Demo(binary, threads=args.threads)
        if args.compare:
            servers["compare"] = benchlib.Demo(args.compare, threads=args.threads)
        servers["go"] = benchlib.GoPeer(go_binary, threads=args.threads)
        print(f"demo: {binary}" + (f"; compare: {args.compare}" if args.compare else "")
              + f"; go: {go_binary}; {args.threads} server threads; {rounds} rounds of FIN and "
              "RST each", flush=True)
        results: dict[tuple[str, str], list[tuple[float, float]]] = {}
        run_rounds(servers, rounds, results)
        ok = print_table("idle: close → counter moved", results)
        if args.load:
            loaded: dict[tuple[str, str], list[tuple[float, float]]] = {}
            for name, server in servers.items():
                wrk = benchlib.Wrk(f"http://127.0.0.1:{server.port}/hello", seconds=600,
                                   connections=16, delay_ms=2)
                try:
                    run_rounds({name: server}, rounds, loaded)
                finally:
                    wrk.stop()
                    wrk.result()
            print_table("steady wrk load on /hello (16 connections, 2 ms pauses)", loaded)
    finally:
        for s in servers.values():
            s.stop()
    print(f"\ntarget (lifetime-demo's medians at most Go's, FIN and RST, upper and lower bound): "
          f"{'met' if ok else 'MISSED'}")
    return 0


if __name__ == "__main__":
    benchlib.run_main(main)
