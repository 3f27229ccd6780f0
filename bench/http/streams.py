#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Idle connections of four kinds on one lifetime::http daemon: memory per connection and the
time the stop takes to close N of them.

Kinds (bench/http/stream_server.cpp, built as lifetime_stream_server):
  keep-alive  a connection idle after one GET /hello
  request     GET /wait: a plain request whose handler waits on its token
  events      GET /events: a server-sent event stream, its header sent, waiting on its token
  websocket   GET /socket: a WebSocket session waiting on its token
For each kind, in a fresh process: RSS before (after a warm-up) and with N of them open (VmRSS,
/proc/PID/status), then SIGTERM (--drain-delay 0, --shutdown-timeout 2s) and the time until
every client saw its connection end (EOF or reset; a WebSocket client answers the server's close
frame and closes its end once the server has, as browsers do) and until the process exited, with
its exit code. When the connections end depends on the stop's phases: idle keep-alive ones after
the closing linger (500 ms: a request already on its way is still answered), WebSocket sessions
at stop-accepting (phase 3), requests and event streams when the drain gives up (phase 5, the
reserve before the budget ends); "spread" is the first to the last of them, the stop's own work.

    bench/http/streams.py [--quick] [--count N] [--server PATH] [--threads N] [--budget SECONDS]
"""

from __future__ import annotations

import argparse
import base64
import glob
import os
import signal
import socket
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchlib  # noqa: E402

KINDS = ("keep-alive", "request", "events", "websocket")
WS_CLOSE_REPLY = b"\x88\x82\x00\x00\x00\x00\x03\xe8"  # masked close frame, 1000, zero mask


def find_server(explicit: str | None) -> str:
    if explicit:
        return explicit
    found = sorted(glob.glob(str(benchlib.REPO / "build" / "*" / "bench" / "http" /
                                "lifetime_stream_server")), key=os.path.getmtime, reverse=True)
    optimised = [f for f in found if benchlib.is_optimised_build(Path(f).parents[2])]
    if not (optimised or found):
        raise benchlib.Skip("no lifetime_stream_server (cmake --build --preset release)")
    return (optimised or found)[0]


class StreamServer(benchlib.Server):
    name = "stream-server"

    def __init__(self, binary: str, threads: int, budget_s: float):
        super().__init__(lambda port, work: [binary, "--listen", f"127.0.0.1:{port}", "--threads",
                                             str(threads), "--drain-delay", "0",
                                             "--shutdown-timeout", f"{int(budget_s * 1000)}ms",
                                             "--log-level", "warn"])


def request_for(kind: str) -> bytes:
    if kind == "keep-alive":
        return benchlib.request_bytes("GET", "/hello")
    if kind == "request":
        return benchlib.request_bytes("GET", "/wait")
    if kind == "events":
        return benchlib.request_bytes("GET", "/events", {"Accept": "text/event-stream"})
    key = base64.b64encode(os.urandom(16)).decode()
    return benchlib.request_bytes("GET", "/socket", {
        "Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": key})


def open_connections(server: StreamServer, kind: str, count: int) -> list[socket.socket]:
    socks = []
    for _ in range(count):
        s = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        s.sendall(request_for(kind))
        if kind == "keep-alive":
            response = benchlib.read_response(s, bytearray())
            if response is None or response.status != 200:
                raise RuntimeError(f"/hello answered {response and response.status}")
        socks.append(s)
    if kind != "keep-alive":
        benchlib.wait_for(lambda: benchlib.metric(server.metrics(), "bench_idle_handlers") >= count,
                          timeout=120, interval=0.01, what=f"{count} {kind} handlers to wait")
    return socks


def wait_all_closed(socks: list[socket.socket], pidfd: int, deadline: float) -> dict:
    """Reads every connection to its end (answering WebSocket close frames) and watches the
    process exit: when the first and the last connection ended and when the process exited."""
    ends: list[float] = []
    resets = [0]

    def on_data(s: socket.socket, chunk: bytes, now: float) -> None:
        if b"\x88" in chunk:  # a close frame (the 101 header has no 0x88 byte)
            try:
                s.send(WS_CLOSE_REPLY)
            except OSError:
                pass

    def on_end(s: socket.socket, now: float, reset: bool) -> None:
        s.close()  # the client's end too (a WebSocket server waits for it)
        ends.append(now)
        resets[0] += reset

    exited = benchlib.read_until_closed(socks, pidfd, deadline, on_data, on_end)
    return {"still_open": len(socks) - len(ends), "first_closed": min(ends, default=None),
            "last_closed": max(ends, default=None), "exited": exited, "resets": resets[0]}


def measure(binary: str, kind: str, count: int, threads: int, budget_s: float) -> dict:
    server = StreamServer(binary, threads, budget_s)
    socks: list[socket.socket] = []
    try:
        warm = benchlib.Connection(server.port)
        for _ in range(200):
            warm.get("/hello")
        warm.close()
        before = server.rss_bytes()
        socks = open_connections(server, kind, count)
        after = server.rss_bytes()
        t0 = server.signal(signal.SIGTERM)
        result = wait_all_closed(socks, server.pidfd, t0 + budget_s + 30)
        if result["exited"] is not None:
            server.reap()
        result.update(kind=kind, per_connection=(after - before) / count, rss_before=before,
                      rss_after=after, exit_code=server.proc.returncode, t0=t0)
        return result
    finally:
        for s in socks:
            s.close()
        server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--count", type=int, default=10000)
    parser.add_argument("--server")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--budget", type=float, default=2.0, help="--shutdown-timeout, seconds")
    args = parser.parse_args()
    count = 500 if args.quick else args.count
    benchlib.raise_fd_limit(2 * count + 1024)
    binary = find_server(args.server)
    print(f"lifetime_stream_server: {binary}, {args.threads} thread(s), {count:,} of each kind",
          flush=True)

    rows = []
    for kind in KINDS:
        r = measure(binary, kind, count, args.threads, args.budget)
        rows.append(r)
        last = 1000 * (r["last_closed"] - r["t0"]) if r["last_closed"] else float("nan")
        print(f"  {kind}: {r['per_connection'] / 1024:.2f} KiB each; all closed {last:.0f} ms "
              f"after SIGTERM, exit code {r['exit_code']}", flush=True)

    print()
    print(f"| {count:,} idle, one kind per run, --shutdown-timeout {args.budget:g}s | memory per "
          "connection | SIGTERM → first connection ends | spread, first → last | SIGTERM → exit "
          "(code) | left open |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in rows:
        ms = lambda t: f"{1000 * (t - r['t0']):.0f} ms" if t is not None else "never"  # noqa: E731
        spread = (f"{1000 * (r['last_closed'] - r['first_closed']):.1f} ms"
                  if r["last_closed"] is not None else "n/a")
        print(f"| {r['kind']} | {r['per_connection'] / 1024:.2f} KiB | {ms(r['first_closed'])} | "
              f"{spread} | {ms(r['exited'])} ({r['exit_code']}) | {r['still_open']} |")
    by = {r["kind"]: r for r in rows}
    print()
    for kind in ("events", "websocket"):
        r, base = by[kind], by["request"]
        if r["last_closed"] and base["last_closed"]:
            spread = r["last_closed"] - r["first_closed"]
            base_spread = base["last_closed"] - base["first_closed"]
            print(f"- {kind}: memory {r['per_connection'] / base['per_connection']:.2f}x a plain "
                  f"waiting request, {r['per_connection'] / by['keep-alive']['per_connection']:.2f}x "
                  f"an idle keep-alive connection; closing all of them takes "
                  f"{spread / base_spread if base_spread > 0 else float('nan'):.2f}x the plain "
                  f"requests' spread")
    failed = [r["kind"] for r in rows if r["still_open"] or r["exit_code"] != 0]
    if failed:
        print(f"FAILED: {', '.join(failed)} left connections open or exited with an error")
        return 1
    return 0


if __name__ == "__main__":
    benchlib.run_main(main)
