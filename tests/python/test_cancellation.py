# SPDX-License-Identifier: MIT
"""lifetime's Python tokens: each guarantee of lifetime.cancellation as a case."""
import gc
import sys
import threading
import time

import pytest

import lifetime
from lifetime import CancellationSource, CancellationToken, Reason


def test_cancel_runs_a_callback_once_on_the_cancelling_thread_with_the_reason():
    source = CancellationSource()
    seen = []
    with source.token.register(lambda reason: seen.append((reason, threading.get_ident()))):
        assert source.cancel(Reason.CLIENT_DISCONNECTED) is True
        assert source.cancel(Reason.RESTART) is False
    assert seen == [(Reason.CLIENT_DISCONNECTED, threading.get_ident())]
    assert source.token.is_cancelled
    assert source.token.reason == Reason.CLIENT_DISCONNECTED
    assert lifetime.reason_name(source.reason) == "client_disconnected"


def test_registering_on_a_cancelled_token_runs_the_callback_inline():
    source = CancellationSource()
    source.cancel(Reason.USER + 3)
    seen = []
    registration = source.token.register(seen.append)
    assert seen == [Reason.USER + 3]
    assert not registration.is_registered
    registration.close()


def test_a_closed_registration_is_never_called():
    source = CancellationSource()
    seen = []
    source.token.register(seen.append).close()
    source.cancel()
    assert seen == []


def test_the_default_token_is_never_cancelled():
    token = CancellationToken()
    assert not token.is_cancelled
    assert not token.can_be_cancelled
    assert token.reason == Reason.NONE
    assert token.deadline is None
    token.raise_if_cancelled()


def test_raise_if_cancelled_carries_the_reason():
    source = CancellationSource()
    source.cancel(Reason.DEADLINE_EXCEEDED)
    with pytest.raises(lifetime.OperationCancelled) as caught:
        source.token.raise_if_cancelled()
    assert caught.value.reason == Reason.DEADLINE_EXCEEDED


def test_a_linked_source_fires_with_its_parents_reason_and_the_earliest_deadline():
    now = time.monotonic_ns()
    a = CancellationSource(deadline=now + 5_000_000_000)
    b = CancellationSource()
    child = CancellationSource.linked([a.token, b.token], deadline=now + 9_000_000_000)
    assert child.deadline == now + 5_000_000_000
    seen = []
    with child.token.register(seen.append):
        b.cancel(Reason.APPLICATION_STOPPING)
    assert seen == [Reason.APPLICATION_STOPPING]
    assert not a.token.is_cancelled


def test_deadlines_are_on_the_monotonic_clock():
    before = time.monotonic_ns()
    now = lifetime.now_ns()
    after = time.monotonic_ns()
    assert before <= now <= after


def test_a_callback_that_raises_does_not_stop_the_others(monkeypatch):
    source = CancellationSource()
    seen = []
    unraisable = []
    monkeypatch.setattr(sys, "unraisablehook", lambda info: unraisable.append(info.exc_value))

    def broken(reason):
        raise ValueError("broken callback")

    with source.token.register(seen.append), source.token.register(broken):
        source.cancel()
    assert seen == [Reason.REQUESTED]
    assert [str(e) for e in unraisable] == ["broken callback"]  # reported, not propagated


def test_closing_a_registration_waits_for_its_callback_on_another_thread():
    source = CancellationSource()
    entered, may_leave, released = threading.Event(), threading.Event(), threading.Event()
    left = []

    def slow(reason):
        entered.set()
        may_leave.wait(10)
        left.append(True)

    registration = source.token.register(slow)
    canceller = threading.Thread(target=source.cancel)
    canceller.start()
    assert entered.wait(10)
    results = []

    def release():
        registration.close()
        results.append(bool(left))
        released.set()

    releaser = threading.Thread(target=release)
    releaser.start()
    assert not released.wait(0.1)  # held by the running callback
    may_leave.set()
    assert released.wait(10)
    releaser.join()
    canceller.join()
    assert results == [True]


def test_tokens_are_released_when_collected():
    source = CancellationSource()
    for _ in range(10_000):
        source.token.register(lambda reason: None).close()
    gc.collect()
    assert not source.is_cancelled
