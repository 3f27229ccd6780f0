# SPDX-License-Identifier: MIT
"""Uses the installed Python package against the installed liblifetime-c: tokens, asyncio and an
embedded Host. Prints where the library was loaded from."""
import asyncio
import sys

import lifetime
from lifetime import _native


class Service(lifetime.Service):
    name = "consumer"

    def __init__(self):
        self.reason = None

    async def run(self, token):  # the host cancels this task when the stop begins
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError as error:
            self.reason = lifetime.aio.cancelled_reason(error)
            raise


async def main():
    source = lifetime.CancellationSource()
    service = Service()
    with lifetime.Host("python-consumer", embedded=True, shutdown_timeout=5) as host:
        host.add_service(service)
        host.link_parent(source.token)
        serving = asyncio.get_running_loop().create_task(host.serve())
        await asyncio.wait_for(lifetime.aio.wait_cancelled(host.app.started), 10)
        source.cancel(lifetime.Reason.REQUESTED)
        code = await asyncio.wait_for(serving, 10)
    return code == 0 and service.reason == lifetime.Reason.APPLICATION_STOPPING


ok = asyncio.run(main())
print(f"lifetime Python consumer: {'ok' if ok else 'FAILED'} ({_native.lib._name})")
sys.exit(0 if ok else 1)
