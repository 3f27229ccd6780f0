#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Rolling restarts behind nginx: client-visible failures, counted by cause from nginx's own logs.

nginx (Debian's, run unprivileged from a temporary prefix: `daemon off`, master process on, one
worker) proxies to two backends of one peer: `keepalive 32`, `proxy_http_version 1.1`,
`proxy_set_header Connection ""`, and `proxy_next_upstream off` (with --retries: nginx's default
`error timeout`). wrk loads GET /hello through nginx while each backend in turn is restarted
--restarts times: SIGTERM, wait for its exit, start it again on the same port, wait for /readyz.
Both peers run in the same invocation, one after the other, with the same settings: lifetime-demo
and a Go net/http service (bench/peers/go, built here with Debian's golang-go), both with
--drain-delay 1s.

Counted from nginx's logs: requests and client-visible failures (non-2xx) from the access log
($status $upstream_addr $upstream_status), retried first attempts (more than one upstream in a
line), and every failed upstream attempt by its cause from the error log (connect() refused,
upstream prematurely closed, reset by peer, ...), with when it happened after the SIGTERM.

Listeners (--listener):
  own      each backend process binds its port; between an exit and the next start nothing
           listens (connect() is refused)
  handed   the listening socket outlives the process, as with systemd socket activation
           (LISTEN_FDS=1): this script binds it and hands it to every process of that backend

    bench/http/rolling_restart.py [--quick] [--restarts 6] [--retries] [--listener own,handed]
                                  [--peers demo,go] [--drain-delay 1s] [--demo PATH]
                                  [--max-fails 0] [--no-install]

Target: with retries off, 0 failed requests for lifetime-demo (at worst fewer than the Go peer).
"""

from __future__ import annotations

import argparse
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchlib  # noqa: E402

NGINX_CONF = """
worker_processes 1;
daemon off;
master_process on;
pid {dir}/nginx.pid;
error_log {dir}/error.log error;
events {{ worker_connections 4096; }}
http {{
  log_format lab '$msec $status "$upstream_addr" "$upstream_status"';
  access_log {dir}/access.log lab;
  client_body_temp_path {dir}/body;
  proxy_temp_path {dir}/proxy;
  fastcgi_temp_path {dir}/fastcgi;
  uwsgi_temp_path {dir}/uwsgi;
  scgi_temp_path {dir}/scgi;
  upstream peer {{
    server 127.0.0.1:{a} max_fails={max_fails};
    server 127.0.0.1:{b} max_fails={max_fails};
    keepalive 32;
  }}
  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass http://peer;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_next_upstream {next_upstream};
      proxy_connect_timeout 5s;
      proxy_read_timeout 30s;
    }}
  }}
}}
"""

# nginx error-log text → cause; the first that matches names the line.
CAUSES = [
    ("refused", "(111: Connection refused)"),
    ("closed", "upstream prematurely closed connection"),
    ("reset", "(104: Connection reset by peer)"),
    ("broken pipe", "(32: Broken pipe)"),
    ("timeout", "timed out"),
    ("no live upstreams", "no live upstreams"),
]


def listening_socket(port: int) -> socket.socket:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(1024)
    return s


class Backend:
    """One process of a backend on a fixed port; `handed`: the listening socket to pass as fd 3
    (LISTEN_FDS=1, LISTEN_PID set in the child)."""

    def __init__(self, argv: list[str], port: int, log_path: str, env: dict[str, str],
                 handed: socket.socket | None):
        self.port = port
        self._log = open(log_path, "ab")
        kwargs = {}
        if handed is not None:
            fd = handed.fileno()
            # LISTEN_PID is the process's own pid: set by a shell that then execs the backend.
            argv = ["/bin/sh", "-c", 'export LISTEN_PID=$$; exec "$0" "$@"'] + argv
            env = dict(env, LISTEN_FDS="1")
            kwargs = {"pass_fds": (3,), "preexec_fn": lambda: os.dup2(fd, 3)}
        self.proc = subprocess.Popen(argv, stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=env, **kwargs)
        self.pidfd = os.pidfd_open(self.proc.pid)

    def wait_ready(self, timeout: float = 20.0) -> None:
        if not benchlib.wait_answering(self.port, "/readyz", self.proc, timeout):
            if self.proc.poll() is not None:
                raise RuntimeError(f"backend on {self.port} exited with {self.proc.returncode}")
            raise RuntimeError(f"backend on {self.port} not ready after {timeout} s")

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM and wait for the exit; returns the exit code."""
        self.proc.send_signal(signal.SIGTERM)
        ready, _, _ = select.select([self.pidfd], [], [], timeout)
        if not ready:
            self.proc.kill()
        code = self.proc.wait()
        os.close(self.pidfd)
        self._log.close()
        return code


def peer_argv(peer: str, binaries: dict[str, str], port: int, workdir: str, args) -> list[str]:
    if peer == "demo":
        return [binaries["demo"], "--listen", f"127.0.0.1:{port}", "--storage-dir",
                os.path.join(workdir, f"storage-{port}"), "--threads", "1", "--log-level", args.log_level,
                "--drain-delay", args.drain_delay, "--shutdown-timeout", args.shutdown_timeout]
    return [binaries["go"], "--listen", f"127.0.0.1:{port}", "--drain-delay", args.drain_delay,
            "--shutdown-timeout", args.shutdown_timeout]


def run_session(peer: str, listener: str, binaries: dict[str, str], args) -> dict:
    work = tempfile.mkdtemp(prefix=f"lifetime-rolling-{peer}-")
    ports = {"a": benchlib.free_port(), "b": benchlib.free_port()}
    nginx_port = benchlib.free_port()
    env = dict(os.environ, GOMAXPROCS="1")  # both peers serve on one thread
    sockets = {n: listening_socket(p) for n, p in ports.items()} if listener == "handed" else {}
    backends: dict[str, Backend] = {}
    nginx = wrk = None
    sigterms: list[float] = []
    exit_codes: list[int] = []
    timings: list[tuple[float, float]] = []  # SIGTERM → exit, exit → ready (s)
    try:
        def start(name: str) -> Backend:
            b = Backend(peer_argv(peer, binaries, ports[name], work, args), ports[name],
                        os.path.join(work, f"{name}.log"), env, sockets.get(name))
            b.wait_ready()
            return b

        for name in ports:
            backends[name] = start(name)
        conf = os.path.join(work, "nginx.conf")
        Path(conf).write_text(NGINX_CONF.format(
            dir=work, a=ports["a"], b=ports["b"], port=nginx_port, max_fails=args.max_fails,
            next_upstream="error timeout" if args.retries else "off"))
        nginx = subprocess.Popen([args.nginx, "-p", work, "-c", conf], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.STDOUT)
        benchlib.wait_for(lambda: _connects(nginx_port), timeout=10, what="nginx to listen")
        duration = args.restarts * 2 * (float(args.drain_delay.rstrip("s")) + 1.0) + 30
        wrk = benchlib.Wrk(f"http://127.0.0.1:{nginx_port}/hello", seconds=duration,
                           connections=args.connections, threads=1, delay_ms=args.delay_ms)
        time.sleep(1.0)  # pools filled before the first restart
        for _ in range(args.restarts):
            for name in ports:
                sigterms.append(time.time())
                t0 = time.monotonic()
                exit_codes.append(backends[name].stop())
                t1 = time.monotonic()
                backends[name] = start(name)
                timings.append((t1 - t0, time.monotonic() - t1))
                time.sleep(args.interval)
        time.sleep(0.5)
        wrk.stop()
        result = wrk.result()
    finally:
        if wrk is not None and wrk.proc is not None and wrk.proc.poll() is None:
            wrk.proc.kill()
        if nginx is not None:
            nginx.send_signal(signal.SIGQUIT)
            try:
                nginx.wait(10)
            except subprocess.TimeoutExpired:
                nginx.kill()
        for b in backends.values():
            if b.proc.poll() is None:
                b.stop()
        for s in sockets.values():
            s.close()
    figures = count_logs(work, sigterms)
    figures.update(peer=peer, listener=listener, restarts=len(sigterms), exit_codes=exit_codes,
                   timings=timings,
                   wrk_requests=result.get("requests", 0), wrk_socket_errors=result.get(
                       "socket_errors", 0), wrk_non_2xx=result.get("non_2xx", 0))
    if args.keep:
        print(f"  logs kept in {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return figures


def _connects(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def since_sigterm(t: float, sigterms: list[float]) -> float | None:
    """Milliseconds from the latest SIGTERM before t (None if before the first)."""
    before = [s for s in sigterms if s <= t]
    return (t - before[-1]) * 1000 if before else None


LINE = re.compile(r'^([0-9.]+) (\d+) "([^"]*)" "([^"]*)"$')
ERROR_TIME = re.compile(r"^(\d{4}/\d\d/\d\d \d\d:\d\d:\d\d) ")


def count_logs(work: str, sigterms: list[float]) -> dict:
    requests = failed = retried = 0
    statuses: dict[int, int] = {}
    at: list[float] = []
    with open(os.path.join(work, "access.log"), errors="replace") as f:
        for line in f:
            m = LINE.match(line.strip())
            if not m:
                continue
            requests += 1
            t, status, upstreams = float(m.group(1)), int(m.group(2)), m.group(3)
            several = "," in upstreams or ":" in upstreams.replace("127.0.0.1:", "")
            if several:
                retried += 1
            # 499: wrk itself closed the connection when it was stopped.
            bad = not 200 <= status < 300 and status != 499
            if bad:
                failed += 1
            if not 200 <= status < 300:
                statuses[status] = statuses.get(status, 0) + 1
            if several or bad:
                offset = since_sigterm(t, sigterms)
                if offset is not None:
                    at.append(offset)
    causes = {name: 0 for name, _ in CAUSES}
    causes["other"] = 0
    other_examples: list[str] = []
    with open(os.path.join(work, "error.log"), errors="replace") as f:
        for line in f:
            if "[error]" not in line and "[crit]" not in line:
                continue
            for name, text in CAUSES:
                if text in line:
                    causes[name] += 1
                    break
            else:
                causes["other"] += 1
                if len(other_examples) < 3:
                    other_examples.append(line.strip()[:200])
    return {"requests": requests, "failed": failed, "statuses": statuses, "retried": retried,
            "causes": causes,
            "at_ms": at, "other_examples": other_examples}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 restarts per backend")
    parser.add_argument("--restarts", type=int, default=6, help="restarts of each backend")
    parser.add_argument("--retries", action="store_true",
                        help="proxy_next_upstream error timeout (default: off)")
    parser.add_argument("--listener", default="own,handed", help="own, handed or both")
    parser.add_argument("--peers", default="demo,go", help="demo, go or both")
    parser.add_argument("--drain-delay", default="1s")
    parser.add_argument("--shutdown-timeout", default="10s")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    parser.add_argument("--delay-ms", type=int, default=1,
                        help="wrk: pause per connection between requests (0: as fast as it can)")
    parser.add_argument("--interval", type=float, default=0.5,
                        help="seconds between a backend's /readyz and the next SIGTERM")
    parser.add_argument("--max-fails", type=int, default=0,
                        help="nginx max_fails (0: a backend is never marked down)")
    parser.add_argument("--demo")
    parser.add_argument("--nginx", default=shutil.which("nginx") or "/usr/sbin/nginx")
    parser.add_argument("--keep", action="store_true", help="keep the logs")
    parser.add_argument("--log-level", default="warn", help="lifetime-demo's --log-level")
    parser.add_argument("--no-install", action="store_true",
                        help="skip instead of installing nginx-light, wrk, golang-go")
    args = parser.parse_args()
    if args.quick:
        args.restarts = 2
    benchlib.ensure_tools(("nginx", "wrk", "go"), install=not args.no_install)
    peers = [p.strip() for p in args.peers.split(",") if p.strip()]
    listeners = [x.strip() for x in args.listener.split(",") if x.strip()]
    if any(p not in ("demo", "go") for p in peers) or any(
            x not in ("own", "handed") for x in listeners):
        parser.error("--peers takes demo,go and --listener own,handed")
    binaries = {}
    if "demo" in peers:
        binaries["demo"] = benchlib.find_demo(args.demo)
    if "go" in peers:
        build_dir = (Path(binaries["demo"]).parents[1] if "demo" in binaries
                     else benchlib.REPO / "build" / "release")
        binaries["go"] = benchlib.build_go_peer(build_dir / "bench" / "peers" / "go")
    benchlib.raise_fd_limit(8192)
    next_upstream = "error timeout" if args.retries else "off"
    print(f"nginx keepalive 32, proxy_next_upstream {next_upstream}, max_fails={args.max_fails}; "
          f"wrk -t1 -c{args.connections} (delay {args.delay_ms} ms) on /hello; "
          f"{args.restarts} restarts of each of 2 backends, --drain-delay {args.drain_delay}",
          flush=True)
    rows = []
    for listener in listeners:
        for peer in peers:
            print(f"{peer}, {listener} listener ...", flush=True)
            rows.append(run_session(peer, listener, binaries, args))
    names = ["lifetime-demo" if r["peer"] == "demo" else "Go net/http" for r in rows]
    cause_names = [c for c, _ in CAUSES] + ["other"]
    print()
    print("| peer | listener | restarts | requests | failed | failed attempts by cause | "
          "retried first attempts | when, after SIGTERM |")
    print("|---|---|---|---|---|---|---|---|")
    for name, r in zip(names, rows):
        causes = ", ".join(f"{c} {r['causes'][c]}" for c in cause_names if r["causes"][c]) or "none"
        when = (f"+{min(r['at_ms']):.0f}…+{max(r['at_ms']):.0f} ms" if r["at_ms"] else "—")
        print(f"| {name} | {r['listener']} | {r['restarts']} | {r['requests']} | "
              f"**{r['failed']}** | {causes} | {r['retried']} | {when} |")
    print()
    for name, r in zip(names, rows):
        bad_exits = [c for c in r["exit_codes"] if c != 0]
        notes = [f"SIGTERM → exit max {max(t[0] for t in r['timings']) * 1000:.0f} ms, "
                 f"exit → ready max {max(t[1] for t in r['timings']) * 1000:.0f} ms"]
        if r["statuses"]:
            notes.append("non-2xx by status " + ", ".join(
                f"{code}: {n}" for code, n in sorted(r["statuses"].items())))
        if r["wrk_socket_errors"]:
            notes.append(f"wrk socket errors {r['wrk_socket_errors']:.0f}")
        if bad_exits:
            notes.append(f"exit codes {bad_exits}")
        if r["other_examples"]:
            notes.append(f"other: {r['other_examples']}")
        print(f"{name} ({r['listener']}): " + "; ".join(notes))
    demo_rows = [r for r in rows if r["peer"] == "demo"]
    if demo_rows and not args.retries:
        for r in demo_rows:
            go = [g for g in rows if g["peer"] == "go" and g["listener"] == r["listener"]]
            versus = f" (Go net/http: {go[0]['failed']})" if go else ""
            verdict = ("met" if r["failed"] == 0 else
                       "fewer than Go" if go and r["failed"] < go[0]["failed"] else "MISSED")
            print(f"lifetime-demo, {r['listener']} listener, retries off: {r['failed']} failed"
                  f"{versus}: {verdict}")
    return 0


if __name__ == "__main__":
    benchlib.run_main(main)
