# SPDX-License-Identifier: MIT
"""asyncio integration: a token cancels a task, or is awaited.

Token callbacks run on the cancelling thread, so everything here reaches the event loop with
loop.call_soon_threadsafe(): a task is cancelled on its own loop's thread, a few microseconds
after cancel() (the next loop iteration). A task cancelled by a token gets CancelledError whose
message is "lifetime: <reason name>"; run() turns that into OperationCancelled(reason).
"""
import asyncio
import contextlib

from .cancellation import OperationCancelled, Reason, reason_name

_PREFIX = "lifetime: "


def cancel_message(reason):
    return _PREFIX + reason_name(reason)


def _threadsafe(loop, fn, *args):
    try:
        loop.call_soon_threadsafe(fn, *args)
    except RuntimeError:  # the loop is closed: nothing is left to cancel
        pass


async def wait_cancelled(token):
    """Returns the token's Reason once it is cancelled (at once if it already is)."""
    loop = asyncio.get_running_loop()
    future = loop.create_future()

    def fire(reason):
        _threadsafe(loop, lambda: future.done() or future.set_result(reason))

    with token.register(fire):
        return await future


def cancel_task_on(token, task=None):
    """Cancels `task` (default: the current one) with the token's reason as the message when the
    token fires. Returns the Registration; close it when the task no longer needs it."""
    task = task or asyncio.current_task()
    loop = task.get_loop()

    def fire(reason):
        _threadsafe(loop, task.cancel, cancel_message(reason))

    return token.register(fire)


def cancelled_reason(error):
    """The Reason a CancelledError carries if a token caused it, else None."""
    message = error.args[0] if error.args else None
    if isinstance(message, str) and message.startswith(_PREFIX):
        name = message[len(_PREFIX):]
        for reason in Reason:
            if reason_name(reason) == name:
                return reason
        return Reason.USER
    return None


async def run(awaitable, token):
    """Runs `awaitable` as a task that `token` cancels. Returns its result; raises
    OperationCancelled(reason) if the token cut it short."""
    task = asyncio.ensure_future(awaitable)
    with cancel_task_on(token, task):
        try:
            return await task
        except asyncio.CancelledError as error:
            if token.is_cancelled and task.cancelled():
                raise OperationCancelled(token.reason) from error
            raise


@contextlib.asynccontextmanager
async def cancel_scope(token):
    """`async with cancel_scope(token):` the block's task is cancelled when the token fires; the
    block then ends with OperationCancelled(reason)."""
    task = asyncio.current_task()
    registration = cancel_task_on(token, task)
    try:
        yield
    except asyncio.CancelledError as error:
        if token.is_cancelled and cancelled_reason(error) is not None:
            task.uncancel()
            raise OperationCancelled(token.reason) from error
        raise
    finally:
        registration.close()
