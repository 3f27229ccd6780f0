# SPDX-License-Identifier: MIT
"""The parts of a Kubernetes cluster that a rolling update of lifetime-demo meets, played by
this process against real lifetime-demo processes behind a real nginx.

  LoadBalancer        nginx (Debian's nginx-light), unprivileged in a temporary folder, one
                      upstream of the ready pods; a change of endpoints rewrites its
                      configuration and runs `nginx -s reload` (graceful), and returns once the
                      workers that knew the old endpoints have exited.
  Pod + Kubelet       a lifetime-demo process on 127.0.0.1, probed by a thread of its own at the
                      manifest's periods (readiness /readyz, liveness /healthz); terminate() sends
                      SIGTERM and waits for the exit within the grace period, else SIGKILL.
  EndpointController  adds a pod to the load balancer once it is ready, and removes a stopping
                      one only after its readiness failure was observed *and* the endpoint
                      propagation lag has passed since, while nginx keeps sending to it.
  Clients             threads with persistent HTTP/1.1 connections through nginx, sending
                      GET /hello back to back and recording every outcome.

Every wait has a deadline and is on an event, a process or a polled condition (wait_until); the
only sleep that is not a poll is the propagation lag, which is the thing simulated.
Threads: each Kubelet, each pending endpoint change and each client runs on its own thread;
LoadBalancer.set_endpoints() is serialised by a lock.
"""
import http.client
import os
import select
import signal
import socket
import subprocess
import threading
import time

import demo_tools  # tests/reliability/demo_tools.py, on sys.path (conftest.py)

NGINX = os.environ.get("LIFETIME_NGINX", "nginx")  # ctest passes the one CMake found
NGINX_CONF = """
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
  log_format upstream '$msec $status "$upstream_addr" "$upstream_status"';
  access_log {dir}/access.log upstream;
  client_body_temp_path {dir}/body;
  proxy_temp_path {dir}/proxy;
  fastcgi_temp_path {dir}/fastcgi;
  uwsgi_temp_path {dir}/uwsgi;
  scgi_temp_path {dir}/scgi;
  # ingress-nginx's defaults: client keep-alive 75 s; upstream keep-alive pool of 320
  # connections kept 60 s for 10,000 requests. Retries to another pod are {next_upstream}.
  keepalive_timeout 75s;
  upstream pods {{
{servers}
    keepalive 320;
    keepalive_timeout 60s;
    keepalive_requests 10000;
  }}
  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass http://pods;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_next_upstream {next_upstream};
      proxy_connect_timeout 5s;
      proxy_read_timeout 60s;
      add_header X-Upstream $upstream_addr always;
    }}
  }}
}}
"""


def _children(pid):
    """Pids of the processes whose parent is `pid`."""
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(entry))
    return found


def wait_until(predicate, timeout, what):
    """Polls `predicate` every 10 ms until true; raises AssertionError naming `what` at timeout."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.01)


class LoadBalancer:
    """nginx as the Service's load balancer (see the module comment)."""

    def __init__(self, directory, next_upstream="off"):
        self.dir = directory
        self.port = demo_tools.free_port()
        self.next_upstream = next_upstream
        self.endpoints = []
        self.reloads = []  # (start, end) of each reload: from the rewrite to the old workers' exit
        self._lock = threading.Lock()
        self._conf = os.path.join(directory, "nginx.conf")
        self.proc = None

    def _write(self, ports):
        servers = "\n".join(f"    server 127.0.0.1:{p} max_fails=0;" for p in ports)
        with open(self._conf, "w") as f:
            f.write(NGINX_CONF.format(dir=self.dir, port=self.port, servers=servers,
                                      next_upstream=self.next_upstream))

    def _nginx(self, *args):
        return [NGINX, "-p", self.dir, "-c", self._conf, "-e", f"{self.dir}/error.log", *args]

    def start(self, ports):
        self.endpoints = list(ports)
        self._write(ports)
        self.proc = subprocess.Popen(self._nginx(), stdin=subprocess.DEVNULL)

        def accepting():
            assert self.proc.poll() is None, f"nginx exited: {self.error_log()}"
            with socket.socket() as s:
                return s.connect_ex(("127.0.0.1", self.port)) == 0
        wait_until(accepting, 10, "nginx to accept connections")
        wait_until(lambda: _children(self.proc.pid), 10, "nginx's worker")

    def set_endpoints(self, ports, timeout=10):
        """Rewrites the upstream and reloads; returns once no worker with the old one is left."""
        with self._lock:
            start = time.monotonic()
            old_workers = _children(self.proc.pid)
            self.endpoints = list(ports)
            self._write(ports)
            subprocess.run(self._nginx("-s", "reload"), check=True, timeout=timeout,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            wait_until(lambda: not (old_workers & _children(self.proc.pid)), timeout,
                       f"nginx's old workers {sorted(old_workers)} to exit after a reload")
            self.reloads.append((start, time.monotonic()))

    def during_reload(self, when, slack=0.5):
        """Whether `when` (monotonic) falls in a reload, or within `slack` seconds after one."""
        return any(start <= when <= end + slack for start, end in self.reloads)

    def error_log(self):
        try:
            with open(os.path.join(self.dir, "error.log")) as f:
                return f.read()
        except OSError:
            return ""

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Kubelet:
    """One pod (a lifetime-demo process) and the kubelet's probes and termination of it."""

    def __init__(self, name, binary, args, storage, readiness, liveness, grace_period):
        self.name = name
        self.readiness = readiness  # (period, failure_threshold, timeout), seconds
        self.liveness = liveness
        self.grace_period = grace_period
        self.pod = demo_tools.Demo(binary, args, storage=storage, name=name)
        self.port = self.pod.port
        self.ready = threading.Event()
        self.unready = threading.Event()  # failureThreshold readiness failures in a row
        self.exited = threading.Event()
        self.sigterm_at = None
        self.unready_at = None
        self.exit_code = None
        self.exit_after = None
        self.killed = False
        self.liveness_failures_before_sigterm = []
        self.readiness_probes = 0
        self._thread = threading.Thread(target=self._probe, daemon=True, name=f"kubelet {name}")
        self._thread.start()

    def _get(self, path, timeout):
        try:
            return demo_tools.get(self.port, path, timeout=timeout)[0]
        except OSError as e:
            return f"{type(e).__name__}: {e}"

    def _probe(self):
        period, threshold, timeout = self.readiness
        live_period, _, live_timeout = self.liveness
        failures = 0
        next_ready = next_live = time.monotonic()
        while not self.exited.is_set():
            now = time.monotonic()
            if now >= next_ready:
                next_ready += period
                self.readiness_probes += 1
                if self._get("/readyz", timeout) == 200:
                    failures = 0
                    self.ready.set()
                elif self.ready.is_set():
                    failures += 1
                    if failures >= threshold and not self.unready.is_set():
                        self.unready_at = time.monotonic()
                        self.unready.set()
            if now >= next_live:
                next_live += live_period
                status = self._get("/healthz", live_timeout)
                if status != 200 and self.sigterm_at is None:
                    self.liveness_failures_before_sigterm.append(status)
            self.exited.wait(max(0.0, min(next_ready, next_live) - time.monotonic()))

    def terminate(self):
        """SIGTERM now; a thread waits for the exit within the grace period, else SIGKILL."""
        self.sigterm_at = time.monotonic()
        self.pod.signal(signal.SIGTERM)

        def wait_for_exit():
            self.exit_code = self.pod.wait(self.grace_period)  # kills at the deadline
            self.killed = self.exit_code is None
            self.exit_after = time.monotonic() - self.sigterm_at
            self.exited.set()
        threading.Thread(target=wait_for_exit, daemon=True, name=f"exit {self.name}").start()

    def kill(self):
        self.pod.kill()
        self.exited.set()


class EndpointController:
    """Keeps the load balancer's endpoints to the ready pods, with a propagation lag."""

    def __init__(self, balancer, propagation):
        self.balancer = balancer
        self.propagation = propagation
        self.removed_at = {}  # pod name -> time its removal took effect
        self.errors = []
        self._ports = set(balancer.endpoints)
        self._lock = threading.Lock()
        self._threads = []

    def _change(self, add=None, remove=None):
        # Held through the reload, so that changes reach nginx in the order they were made.
        with self._lock:
            if add:
                self._ports.add(add)
            if remove:
                self._ports.discard(remove)
            self.balancer.set_endpoints(sorted(self._ports))

    def _later(self, name, job):
        def run():
            try:
                job()
            except Exception as e:  # reported by the test, not lost on a thread
                self.errors.append(f"{name}: {type(e).__name__}: {e}")
        thread = threading.Thread(target=run, daemon=True, name=name)
        thread.start()
        self._threads.append(thread)

    def add_when_ready(self, kubelet, timeout):
        """Adds the pod `propagation` after its first successful readiness probe."""
        def job():
            if not kubelet.ready.wait(timeout):
                raise AssertionError(f"{kubelet.name} not ready within {timeout}s")
            time.sleep(self.propagation)  # the endpoint change travelling to the proxies
            self._change(add=kubelet.port)
        self._later(f"add {kubelet.name}", job)

    def remove_when_unready(self, kubelet, timeout):
        """Removes the pod `propagation` after the kubelet saw its readiness fail, or saw it exit
        (a pod that is gone leaves the endpoints whatever its probes said)."""
        def job():
            wait_until(lambda: kubelet.unready.is_set() or kubelet.exited.is_set(), timeout,
                       f"{kubelet.name}'s readiness to fail")
            time.sleep(self.propagation)  # the endpoint change travelling to the proxies
            self._change(remove=kubelet.port)
            self.removed_at[kubelet.name] = time.monotonic()
        self._later(f"remove {kubelet.name}", job)

    def join(self, timeout):
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return not any(t.is_alive() for t in self._threads)


class Clients:
    """`count` keep-alive clients sending GET /hello through the load balancer until stopped.

    A connection is reused while the server keeps it open; one the server closed while it was
    idle is noticed before reuse (as HTTP client pools do) and replaced. A request sent on a
    reused connection that the server closed before sending any byte of a response is sent once
    more on a new connection, as RFC 9112 section 9.3.1 allows for idempotent requests and as
    browsers and most client libraries do: nginx's graceful reload closes idle keep-alive
    connections, and a request may cross that close on the wire. Such retries are recorded with
    their time (`retries`); any other socket error, a failed retry, or a status other than 200 is
    a failure."""

    def __init__(self, port, count):
        self.port = port
        self.stop_event = threading.Event()
        self.ok = 0
        self.failures = []
        self.retries = []  # monotonic times of requests sent again on a new connection
        self.reconnects = 0
        self.by_upstream = {}  # upstream port -> (count, last response time)
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, daemon=True, name=f"client {i}")
                         for i in range(count)]
        for thread in self._threads:
            thread.start()

    def _record(self, upstream, failure=None):
        with self._lock:
            if failure:
                self.failures.append(failure)
                return
            self.ok += 1
            port = int(upstream.rsplit(":", 1)[1]) if upstream else None
            count, _ = self.by_upstream.get(port, (0, 0))
            self.by_upstream[port] = (count + 1, time.monotonic())

    def _exchange(self, conn):
        """(response, body) of one GET /hello; retries once when a reused connection was closed
        before any byte of the response."""
        reused = conn.sock is not None
        try:
            conn.request("GET", "/hello")
            response = conn.getresponse()
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            conn.close()
            if not reused:
                raise
            with self._lock:
                self.retries.append(time.monotonic())
            conn.request("GET", "/hello")
            response = conn.getresponse()
        return response, response.read()

    def _run(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        while not self.stop_event.is_set():
            if conn.sock is not None and select.select([conn.sock], [], [], 0)[0]:
                conn.close()  # closed by the server while idle: a pool would not reuse it
                with self._lock:
                    self.reconnects += 1
            try:
                response, _ = self._exchange(conn)
            except (OSError, http.client.HTTPException) as e:
                conn.close()
                self._record(None, f"{time.monotonic():.3f} {type(e).__name__}: {e}")
                continue
            upstream = response.getheader("X-Upstream")
            if response.status != 200:
                self._record(None, f"{time.monotonic():.3f} status {response.status} from "
                                   f"{upstream}")
            else:
                self._record(upstream)
        conn.close()

    def stop(self):
        self.stop_event.set()
        for thread in self._threads:
            thread.join(15)
