# SPDX-License-Identifier: MIT
"""lifetime.aio: a token cancels an asyncio task with its reason, or is awaited."""
import asyncio
import threading

import pytest

import lifetime
from lifetime import CancellationSource, Reason, aio


def test_wait_cancelled_returns_the_reason_when_another_thread_cancels():
    async def main():
        source = CancellationSource()
        loop = asyncio.get_running_loop()
        loop.call_later(0.01, lambda: threading.Thread(
            target=source.cancel, args=(Reason.RESTART,)).start())
        return await asyncio.wait_for(aio.wait_cancelled(source.token), 10)

    assert asyncio.run(main()) == Reason.RESTART


def test_wait_cancelled_on_a_cancelled_token_returns_at_once():
    async def main():
        source = CancellationSource()
        source.cancel(Reason.DEADLINE_EXCEEDED)
        return await asyncio.wait_for(aio.wait_cancelled(source.token), 10)

    assert asyncio.run(main()) == Reason.DEADLINE_EXCEEDED


def test_run_raises_operation_cancelled_with_the_reason():
    async def main():
        source = CancellationSource()
        started = asyncio.Event()

        async def work():
            started.set()
            await asyncio.sleep(3600)

        async def cancel_soon():
            await started.wait()
            source.cancel(Reason.CLIENT_DISCONNECTED)

        asyncio.get_running_loop().create_task(cancel_soon())
        with pytest.raises(lifetime.OperationCancelled) as caught:
            await asyncio.wait_for(aio.run(work(), source.token), 10)
        return caught.value.reason

    assert asyncio.run(main()) == Reason.CLIENT_DISCONNECTED


def test_run_returns_the_result_when_the_token_does_not_fire():
    async def main():
        return await aio.run(asyncio.sleep(0, result=42), CancellationSource().token)

    assert asyncio.run(main()) == 42


def test_a_cancelled_task_sees_the_reason_in_its_cancelled_error():
    async def main():
        source = CancellationSource()
        seen = []

        async def work():
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError as error:
                seen.append(aio.cancelled_reason(error))
                raise

        task = asyncio.get_running_loop().create_task(work())
        with aio.cancel_task_on(source.token, task):
            await asyncio.sleep(0)
            source.cancel(Reason.APPLICATION_STOPPING)
            with pytest.raises(asyncio.CancelledError):
                await asyncio.wait_for(task, 10)
        return seen

    assert asyncio.run(main()) == [Reason.APPLICATION_STOPPING]


def test_cancel_scope_ends_the_block_with_operation_cancelled():
    async def main():
        source = CancellationSource()
        asyncio.get_running_loop().call_soon(source.cancel, Reason.RESTART)
        with pytest.raises(lifetime.OperationCancelled) as caught:
            async with aio.cancel_scope(source.token):
                await asyncio.sleep(3600)
        return caught.value.reason, asyncio.current_task().cancelling()

    assert asyncio.run(main()) == (Reason.RESTART, 0)
