# SPDX-License-Identifier: MIT
"""Shared pieces of the HTTP benchmarks: find and start lifetime-demo, talk raw HTTP/1.1 to it,
read /metrics and process memory, summarise timings. Python standard library only."""

from __future__ import annotations

import glob
import os
import re
import resource
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


class Skip(Exception):
    """The benchmark cannot run here (nothing to measure); not a failure."""


def find_demo(explicit: str | None = None) -> str:
    """lifetime-demo: --demo, $LIFETIME_DEMO, or the newest optimised (Release or RelWithDebInfo,
    no sanitizer) build/*/demo/lifetime-demo, searched only when $LIFETIME_DEMO is unset."""
    for candidate in (explicit, os.environ.get("LIFETIME_DEMO")):
        if candidate:
            if not os.access(candidate, os.X_OK):
                raise SystemExit(f"{candidate} is not an executable")
            return candidate
    if explicit is None and os.environ.get("LIFETIME_DEMO") == "":
        raise Skip("LIFETIME_DEMO is empty: no lifetime-demo to measure")
    found = sorted(glob.glob(str(REPO / "build" / "*" / "demo" / "lifetime-demo")),
                   key=os.path.getmtime, reverse=True)
    if not found:
        raise Skip("no lifetime-demo binary (build/*/demo/lifetime-demo, --demo or $LIFETIME_DEMO)")
    optimised = [f for f in found if is_optimised_build(Path(f).parents[1])]
    chosen = (optimised or found)[0]
    if not optimised:
        print(f"warning: no optimised build of lifetime-demo found; using {chosen}",
              file=sys.stderr, flush=True)
    return chosen


def is_optimised_build(build_dir: Path) -> bool:
    """A Release or RelWithDebInfo build without sanitizers, from its CMakeCache.txt."""
    try:
        cache = (build_dir / "CMakeCache.txt").read_text(errors="replace")
    except OSError:
        return False
    build_type = re.search(r"^CMAKE_BUILD_TYPE:\w+=(.*)$", cache, re.M)
    flags = re.search(r"^CMAKE_CXX_FLAGS:\w+=(.*)$", cache, re.M)
    return (build_type is not None and build_type.group(1) in ("Release", "RelWithDebInfo")
            and (flags is None or "-fsanitize" not in flags.group(1)))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def raise_fd_limit(want: int) -> int:
    """Raises RLIMIT_NOFILE (soft, and hard when root) to at least `want`; returns the soft limit.
    Children started afterwards inherit it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= want:
        return soft
    if hard != resource.RLIM_INFINITY and hard < want:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, want))
            return want
        except (ValueError, OSError):
            want = hard
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return want


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), int(-(-p * len(ordered) // 100))))
    return ordered[rank - 1]


def summary_ms(values_s: list[float]) -> str:
    ms = [v * 1000 for v in values_s]
    return (f"median {statistics.median(ms):.3f} ms, p99 {percentile(ms, 99):.3f} ms, "
            f"max {max(ms):.3f} ms (n={len(ms)})")


# --- raw HTTP/1.1 -------------------------------------------------------------------------------

def request_bytes(method: str, target: str, headers: dict[str, str] | None = None,
                  body: bytes = b"") -> bytes:
    lines = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1"]
    for k, v in (headers or {}).items():
        lines.append(f"{k}: {v}")
    if body or method in ("POST", "PUT"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class Response:
    def __init__(self, status: int, headers: dict[str, str], body: bytes):
        self.status = status
        self.headers = headers
        self.body = body


def read_response(sock: socket.socket, buffer: bytearray) -> Response | None:
    """Reads one response (Content-Length or chunked) from a blocking socket. `buffer` carries
    bytes across calls. None on EOF before a status line."""
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        buffer += chunk
    head_end = buffer.index(b"\r\n\r\n")
    head = bytes(buffer[:head_end]).decode("latin-1").split("\r\n")
    del buffer[:head_end + 4]
    status = int(head[0].split()[1])
    headers = {}
    for line in head[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = bytearray()
        while True:
            while b"\r\n" not in buffer:
                chunk = sock.recv(65536)
                if not chunk:
                    raise ConnectionError("EOF inside chunked body")
                buffer += chunk
            line_end = buffer.index(b"\r\n")
            size = int(bytes(buffer[:line_end]).split(b";")[0], 16)
            while len(buffer) < line_end + 2 + size + 2:
                chunk = sock.recv(65536)
                if not chunk:
                    raise ConnectionError("EOF inside chunked body")
                buffer += chunk
            body += buffer[line_end + 2:line_end + 2 + size]
            del buffer[:line_end + 2 + size + 2]
            if size == 0:
                return Response(status, headers, bytes(body))
    length = int(headers.get("content-length", "0"))
    while len(buffer) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("EOF inside body")
        buffer += chunk
    body = bytes(buffer[:length])
    del buffer[:length]
    return Response(status, headers, body)


class Connection:
    """One keep-alive client connection."""

    def __init__(self, port: int, timeout: float = 10.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = bytearray()

    def request(self, method: str, target: str, headers: dict[str, str] | None = None,
                body: bytes = b"") -> Response:
        self.sock.sendall(request_bytes(method, target, headers, body))
        response = read_response(self.sock, self.buffer)
        if response is None:
            raise ConnectionError(f"connection closed before the response to {target}")
        return response

    def get(self, target: str) -> Response:
        return self.request("GET", target)

    def close(self) -> None:
        self.sock.close()


_METRIC_LINE = re.compile(rb"^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?)\s+([-+0-9.eE]+|NaN)\s*$",
                          re.M)


def parse_metrics(body: bytes) -> dict[str, float]:
    """Prometheus text → {'name{labels}': value}; labels exactly as the server wrote them."""
    return {m.group(1).decode(): float(m.group(2)) for m in _METRIC_LINE.finditer(body)}


def metric(metrics: dict[str, float], name: str, **labels: str) -> float:
    """The value of `name` with exactly these labels (any label order); 0 when absent."""
    wanted = set(f'{k}="{v}"' for k, v in labels.items())
    for key, value in metrics.items():
        base, _, rest = key.partition("{")
        if base != name:
            continue
        have = set(p for p in rest.rstrip("}").split(",") if p) if rest else set()
        if have == wanted:
            return value
    return 0.0


# --- the demo process ---------------------------------------------------------------------------

def wait_answering(port: int, path: str, proc: subprocess.Popen, timeout: float) -> bool:
    """Polls GET `path` on a new connection until it answers 200: True; False once `proc` has
    exited or `timeout` seconds have passed."""
    deadline = time.monotonic() + timeout
    while proc.poll() is None:
        try:
            c = Connection(port, timeout=2)
            try:
                if c.get(path).status == 200:
                    return True
            finally:
                c.close()
        except OSError:
            pass
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return False


class Server:
    """A server process on a free 127.0.0.1 port, logging to a file, ready once GET /healthz
    answers; /metrics in Prometheus text. `argv(port, workdir)` gives its command line."""

    name = "server"

    def __init__(self, argv, env: dict[str, str] | None = None, workdir: str | None = None):
        self.port = free_port()
        self.workdir = workdir or tempfile.mkdtemp(prefix="lifetime-bench-")
        self._own_workdir = workdir is None
        self.log_path = os.path.join(self.workdir, f"{self.name}.log")
        self.argv = argv(self.port, self.workdir)
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(self.argv, stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=env)
        self.pidfd = os.pidfd_open(self.proc.pid)
        self.wait_ready()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def wait_ready(self, timeout: float = 15.0) -> None:
        if not wait_answering(self.port, "/healthz", self.proc, timeout):
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n"
                                   + self.log())
            raise RuntimeError(f"{self.name} did not become ready:\n" + self.log())

    def log(self) -> str:
        self._log.flush()
        try:
            return Path(self.log_path).read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def metrics(self, conn: Connection | None = None) -> dict[str, float]:
        own = conn is None
        c = conn or Connection(self.port)
        try:
            return parse_metrics(c.get("/metrics").body)
        finally:
            if own:
                c.close()

    def rss_bytes(self) -> int:
        return rss_of(self.pid)

    def wait_exit(self, timeout: float) -> float | None:
        """Waits for the process to exit; returns the monotonic time it was seen exiting (pidfd
        readable), or None on timeout."""
        ready, _, _ = select.select([self.pidfd], [], [], timeout)
        if not ready:
            return None
        seen = time.monotonic()
        self.reap()
        return seen

    def reap(self) -> None:
        """Waits for the process and keeps its resource usage (self.rusage)."""
        if self.proc.returncode is None:
            _, status, self.rusage = os.wait4(self.pid, 0)
            self.proc.returncode = os.waitstatus_to_exitcode(status)

    def cpu_seconds(self) -> float:
        """User + system CPU time so far (10 ms resolution while running; exact once reaped)."""
        if self.proc.returncode is not None and getattr(self, "rusage", None) is not None:
            return self.rusage.ru_utime + self.rusage.ru_stime
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def signal(self, sig: int = signal.SIGTERM) -> float:
        t = time.monotonic()
        os.kill(self.pid, sig)
        return t

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        os.close(self.pidfd)
        self._log.close()
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


class Demo(Server):
    """lifetime-demo with its storage in the work directory."""

    name = "lifetime-demo"

    def __init__(self, binary: str, *args: str, threads: int | None = None,
                 log_level: str = "warn", workdir: str | None = None):
        self.binary = binary

        def argv(port: int, work: str) -> list[str]:
            line = [binary, "--listen", f"127.0.0.1:{port}",
                    "--storage-dir", os.path.join(work, "storage")]
            if threads is not None:
                line += ["--threads", str(threads)]
            if log_level:
                line += ["--log-level", log_level]
            return line + list(args) + os.environ.get("LIFETIME_DEMO_ARGS", "").split()

        super().__init__(argv, workdir=workdir)


class GoPeer(Server):
    """bench/peers/go (Go net/http with the same /hello, /api/work, /metrics contract) on
    `threads` OS threads (GOMAXPROCS)."""

    name = "go-peer"

    def __init__(self, binary: str, *args: str, threads: int | None = None):
        env = dict(os.environ)
        if threads is not None:
            env["GOMAXPROCS"] = str(threads)
        super().__init__(lambda port, work: [binary, "--listen", f"127.0.0.1:{port}", *args],
                         env=env)


def ensure_tools(tools: tuple[str, ...], install: bool = True) -> None:
    """Debian's nginx, wrk or go, installed by scripts/install-deps --bench when missing (with
    install=False: Skip instead)."""
    missing = [t for t in tools if not (shutil.which(t) or os.path.exists(f"/usr/sbin/{t}"))]
    if not missing:
        return
    if not install:
        raise Skip(f"{', '.join(missing)} not installed (scripts/install-deps --bench)")
    subprocess.run([str(REPO / "scripts" / "install-deps"), "--bench"], check=True)


def build_go_peer(out_dir: Path | None = None) -> str:
    """bench/peers/go built with Debian's go into out_dir (default: $LIFETIME_BENCH_CACHE/go, its
    caches there too; no network). Rebuilt when the source is newer."""
    source = REPO / "bench" / "peers" / "go" / "main.go"
    out_dir = (out_dir or bench_cache() / "go").resolve()
    binary = out_dir / "go-peer"
    if binary.exists() and binary.stat().st_mtime >= source.stat().st_mtime:
        return str(binary)
    out_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, GOCACHE=str(out_dir / "cache"), GOPATH=str(out_dir / "gopath"),
               GO111MODULE="off", GOFLAGS="", GOPROXY="off", CGO_ENABLED="0")
    subprocess.run(["go", "build", "-o", str(binary), str(source)], check=True, env=env,
                   cwd=source.parent)
    return str(binary)


def bench_cache() -> Path:
    """Where peers built by the benchmarks are kept: $LIFETIME_BENCH_CACHE, default
    /tmp/lifetime-bench-cache."""
    cache = Path(os.environ.get("LIFETIME_BENCH_CACHE", "/tmp/lifetime-bench-cache"))
    cache.mkdir(parents=True, exist_ok=True)
    return cache


def read_until_closed(socks: list[socket.socket], pidfd: int, deadline: float,
                      on_data=None, on_end=None) -> float | None:
    """Reads every socket until its connection ends (EOF or reset) while watching a process
    exit through `pidfd`, until both or `deadline` (monotonic). `on_data(sock, chunk, now)` sees
    each chunk; `on_end(sock, now, reset)` each end. Returns when the process was seen exiting,
    or None."""
    ep = select.epoll()
    by_fd = {}
    for s in socks:
        s.setblocking(False)
        ep.register(s.fileno(), select.EPOLLIN | select.EPOLLRDHUP)
        by_fd[s.fileno()] = s
    ep.register(pidfd, select.EPOLLIN)
    exited = None
    while (by_fd or exited is None) and time.monotonic() < deadline:
        for fd, _ in ep.poll(max(0.0, deadline - time.monotonic())):
            now = time.monotonic()
            if fd == pidfd:
                exited = now
                ep.unregister(pidfd)
                continue
            s = by_fd[fd]
            reset = False
            try:
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    if on_data is not None:
                        on_data(s, chunk, now)
            except BlockingIOError:
                continue
            except ConnectionResetError:
                reset = True
            ep.unregister(fd)
            del by_fd[fd]
            if on_end is not None:
                on_end(s, now, reset)
    ep.close()
    return exited


class NewConnectionProber(threading.Thread):
    """GET `target` on a new connection each time, as fast as it can: when each 200 arrived
    (`ok`, monotonic times) and every failure (`failures`: (time, "status N" or the exception's
    name, e.g. ConnectionRefusedError))."""

    def __init__(self, port: int, target: str = "/hello"):
        super().__init__(daemon=True)
        self.port = port
        self.target = target
        self.ok: list[float] = []
        self.failures: list[tuple[float, str]] = []
        self.stopping = threading.Event()

    @property
    def refused(self) -> int:
        return sum(1 for _, kind in self.failures if kind == "ConnectionRefusedError")

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                c = Connection(self.port, timeout=5)
                try:
                    r = c.get(self.target)
                finally:
                    c.close()
                if r.status == 200:
                    self.ok.append(time.monotonic())
                else:
                    self.failures.append((time.monotonic(), f"status {r.status}"))
            except OSError as e:
                self.failures.append((time.monotonic(), type(e).__name__))


def wait_for(predicate, timeout: float, interval: float = 0.002, what: str = "condition"):
    """Polls `predicate` until it returns a truthy value or `timeout` passes (then raises)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(interval)


class Wrk:
    """wrk in the background for a steady load; None-safe when wrk is missing."""

    def __init__(self, url: str, seconds: float, connections: int = 16, threads: int = 1,
                 delay_ms: int = 0):
        """`delay_ms` > 0: each connection waits that long before each request (wrk's delay()
        hook), a steady load below saturation; 0: as fast as possible."""
        self.path = shutil.which("wrk")
        self.proc = None
        self.script = None
        if self.path is None:
            return
        argv = [self.path, f"-t{threads}", f"-c{connections}",
                f"-d{max(1, int(seconds + 0.999))}s"]
        if delay_ms > 0:
            fd, self.script = tempfile.mkstemp(prefix="lifetime-wrk-", suffix=".lua")
            with os.fdopen(fd, "w") as f:
                f.write(f"function delay()\n  return {int(delay_ms)}\nend\n")
            argv += ["-s", self.script]
        self.proc = subprocess.Popen(argv + [url], stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)

    @property
    def available(self) -> bool:
        return self.proc is not None

    def result(self) -> dict[str, float]:
        """Waits for wrk and returns requests/s and socket errors."""
        if self.proc is None:
            return {}
        out, _ = self.proc.communicate()
        if self.script is not None:
            os.unlink(self.script)
            self.script = None
        result: dict[str, float] = {"output": out}  # type: ignore[dict-item]
        m = re.search(r"Requests/sec:\s+([0-9.]+)", out)
        result["rps"] = float(m.group(1)) if m else float("nan")
        m = re.search(r"(\d+) requests in", out)
        result["requests"] = float(m.group(1)) if m else float("nan")
        m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
        result["socket_errors"] = float(sum(int(x) for x in m.groups())) if m else 0.0
        m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        result["non_2xx"] = float(m.group(1)) if m else 0.0
        return result

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            self.proc.wait()


BEAST_EXAMPLE = ("/usr/share/doc/libboost1.81-doc/examples/libs/beast/example/http/server/async/"
                 "http_server_async.cpp")


def beast_example() -> str:
    """Boost.Beast's own http_server_async example (Debian's libboost1.81-doc), built once with
    g++ -O2 into $LIFETIME_BENCH_CACHE (default /tmp/lifetime-bench-cache). Skip if the source is
    not installed."""
    if not os.path.exists(BEAST_EXAMPLE):
        raise Skip(f"{BEAST_EXAMPLE} missing (apt-get install libboost1.81-doc)")
    import hashlib
    digest = hashlib.sha256(Path(BEAST_EXAMPLE).read_bytes()).hexdigest()[:16]
    binary = bench_cache() / f"http_server_async-{digest}"
    if not binary.exists():
        print("building Boost.Beast's http_server_async (g++ -O2) ...", flush=True)
        tmp = binary.with_suffix(".tmp")
        subprocess.run(["g++", "-O2", "-std=c++17", "-w", "-o", str(tmp), BEAST_EXAMPLE,
                        "-pthread"], check=True)
        tmp.rename(binary)
    return str(binary)


class BeastExample:
    """The Beast example serving `body` as /hello on a free 127.0.0.1 port."""

    def __init__(self, body: bytes = b"Hello, world!\n", threads: int = 1):
        self.binary = beast_example()
        self.port = free_port()
        self.workdir = tempfile.mkdtemp(prefix="lifetime-bench-beast-")
        Path(self.workdir, "hello").write_bytes(body)
        self.proc = subprocess.Popen([self.binary, "127.0.0.1", str(self.port), self.workdir,
                                      str(threads)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                c = Connection(self.port, timeout=2)
                c.get("/hello")
                c.close()
                return
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("the Beast example did not start")
                time.sleep(0.01)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def rss_bytes(self) -> int:
        return rss_of(self.pid)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait()
        shutil.rmtree(self.workdir, ignore_errors=True)


def rss_of(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def run_main(main) -> None:
    """Runs a benchmark's main(); a Skip prints its reason and exits 0."""
    try:
        sys.exit(main())
    except Skip as skip:
        print(f"{Path(sys.argv[0]).name}: skipped: {skip}")
        sys.exit(0)
