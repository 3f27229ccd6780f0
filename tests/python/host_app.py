# SPDX-License-Identifier: MIT
"""A Python daemon under lifetime's host, for the tests and the shutdown benchmark.

    python3 host_app.py MODE [BUDGET_SECONDS]

Modes: asyncio (run() awaits until its token cancels it), ignores-token (run() swallows the
cancellation and goes on), blocks (once started, run() blocks the event loop: no later hook can
run), failing (run() raises),
lease (a lease released by a stopping callback). It prints "ready" when started and every event
as one line ending with time.monotonic_ns().
"""
import asyncio
import os
import sys
import time

import lifetime


def say(*words):
    # One write(2) per line: the host's log lines share the pipe and must not split it.
    os.write(1, (" ".join(map(str, words)) + f" {time.monotonic_ns()}\n").encode())


class Worker(lifetime.Service):
    name = "worker"

    def __init__(self, mode):
        self.mode = mode
        self.running = None

    async def started(self):
        self.running.set()
        say("ready")

    async def start(self, token):
        self.running = asyncio.Event()

    async def run(self, token):
        if self.mode == "failing":
            raise ValueError("the worker broke")
        if self.mode == "blocks":  # once the host has started, block the event loop for good
            await self.running.wait()
            await asyncio.sleep(0)
            say("blocking")
            time.sleep(3600)
        while True:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError as error:
                say("run cancelled", lifetime.aio.cancelled_reason(error).name)
                if self.mode != "ignores-token":
                    raise

    async def stop(self, token):
        say("stop")


def main():
    mode = sys.argv[1]
    budget = float(sys.argv[2]) if len(sys.argv) > 2 else 2.0
    host = lifetime.Host("python-app", shutdown_timeout=budget)
    host.add_service(Worker(mode))
    if mode == "lease":
        lease = host.app.delay_shutdown("flush", 10)

        def release(token):
            say("stopping callback")
            lease.release()

        host.app.on_stopping("release-flush", release)
    code = host.run()
    say("run returned", code)
    return code


if __name__ == "__main__":
    sys.exit(main())
