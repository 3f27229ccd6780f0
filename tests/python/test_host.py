# SPDX-License-Identifier: MIT
"""Python services under lifetime's host: real processes, real signals, the budget."""
import asyncio
import signal
import time

import lifetime


def test_sigterm_cancels_an_asyncio_service_with_the_reason_and_exits_0(child):
    app = child("asyncio", "2")
    assert app.wait_for_line("ready")[0], app.output()
    sent = time.monotonic_ns()
    app.signal(signal.SIGTERM)
    line, _ = app.wait_for_line("run cancelled")
    assert line is not None, app.output()
    assert "APPLICATION_STOPPING" in line
    cancelled_at = int(line.split()[-1])
    assert (cancelled_at - sent) / 1e6 < 100  # milliseconds
    assert app.wait() == 0, app.output()
    assert "run returned 0" in app.output()


def test_a_service_that_ignores_its_token_is_stopped_within_the_budget(child):
    app = child("ignores-token", "1")
    assert app.wait_for_line("ready")[0], app.output()
    sent = time.monotonic()
    app.signal(signal.SIGTERM)
    assert app.wait_for_line("run cancelled")[0], app.output()
    code = app.wait()
    took = time.monotonic() - sent
    assert code == 70, (code, app.output())
    assert took < 1.0 + 0.1 + 0.15, (took, app.output())  # budget + enforcer margin + noise


def test_a_service_that_blocks_the_loop_is_stopped_within_the_budget(child):
    app = child("blocks", "1")
    assert app.wait_for_line("blocking")[0], app.output()
    sent = time.monotonic()
    app.signal(signal.SIGTERM)
    code = app.wait()
    took = time.monotonic() - sent
    assert code == 70, (code, app.output())
    assert took < 1.0 + 0.1 + 0.15, (took, app.output())


def test_a_failing_run_exits_1_with_the_error_in_the_log(child):
    app = child("failing", "2")
    assert app.wait() == 1, app.output()
    assert "the worker broke" in app.output()


def test_a_lease_holds_the_stop_until_a_stopping_callback_releases_it(child):
    app = child("lease", "5")
    assert app.wait_for_line("ready")[0], app.output()
    app.signal(signal.SIGTERM)
    assert app.wait_for_line("stopping callback")[0], app.output()
    assert app.wait() == 0, app.output()


class Recorder(lifetime.Service):
    name = "recorder"

    def __init__(self, log):
        self.log = log

    async def start(self, token):
        self.log.append("start")

    def started(self):  # a plain function is a hook too
        self.log.append("started")

    async def run(self, token):
        try:
            await asyncio.sleep(3600)
        finally:
            self.log.append(("run ended", token.reason))

    async def stop(self, token):
        self.log.append("stop")


def test_an_embedded_host_serves_on_the_running_loop_and_stops_with_its_parent():
    log = []

    async def main():
        parent = lifetime.CancellationSource()
        with lifetime.Host("embedded", embedded=True, shutdown_timeout=5) as host:
            host.add_service(Recorder(log))
            host.link_parent(parent.token)
            serving = asyncio.get_running_loop().create_task(host.serve())
            await asyncio.wait_for(lifetime.aio.wait_cancelled(host.app.started), 10)
            parent.cancel(lifetime.Reason.RESTART)
            return await asyncio.wait_for(serving, 10)

    assert asyncio.run(main()) == 0
    # A parent token stops the host gracefully: run's token carries the stop's reason.
    assert log == ["start", "started", ("run ended", lifetime.Reason.APPLICATION_STOPPING), "stop"]


def test_cancelling_serve_stops_the_embedded_host_gracefully():
    log = []

    async def main():
        with lifetime.Host("embedded", embedded=True, shutdown_timeout=5) as host:
            host.add_service(Recorder(log))
            serving = asyncio.get_running_loop().create_task(host.serve())
            await asyncio.wait_for(lifetime.aio.wait_cancelled(host.app.started), 10)
            serving.cancel()
            try:
                await serving
            except asyncio.CancelledError:
                pass
            return host.app.state

    assert asyncio.run(main()) == "stopped"
    assert log[-1] == "stop"


def test_a_python_host_tells_systemd_it_is_ready_and_stopping(child, tmp_path, monkeypatch):
    import socket

    path = str(tmp_path / "notify.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(path)
    listener.settimeout(10)
    monkeypatch.setenv("NOTIFY_SOCKET", path)
    try:
        app = child("asyncio", "2")

        def receive_until(text):
            while True:
                message = listener.recv(4096).decode()
                if text in message.split("\n"):
                    return message

        assert "READY=1" in receive_until("READY=1")
        app.signal(signal.SIGTERM)
        assert "STOPPING=1" in receive_until("STOPPING=1")
        assert app.wait() == 0, app.output()
    finally:
        listener.close()
