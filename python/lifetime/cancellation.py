# SPDX-License-Identifier: MIT
"""Cancellation sources, tokens and registrations over liblifetime-c.

A CancellationSource requests cancellation with a Reason; CancellationTokens observe it;
token.register(callback) returns a Registration that runs callback(reason) once when the source is
cancelled (inline if it already is).

Guarantees, from the C ABI: callbacks run on the thread that cancelled (any thread: keep them
short, and use loop.call_soon_threadsafe to reach an event loop); closing a Registration whose
callback runs on another thread waits for it, from inside the callback it does not. An exception
raised by a callback is printed by ctypes and goes no further: the other callbacks still run.
Deadlines are time.monotonic_ns() values (CLOCK_MONOTONIC); None means no deadline.
Handles are released when the Python object is closed or collected.
"""
import ctypes
import enum
import itertools
import threading

from . import _native
from ._native import lib


class Reason(enum.IntEnum):
    NONE = 0
    REQUESTED = 1
    APPLICATION_STOPPING = 2
    CLIENT_DISCONNECTED = 3
    DEADLINE_EXCEEDED = 4
    RESTART = 5
    USER = 256

    @staticmethod
    def of(value):
        """The Reason for a raw value; application reasons (>= USER) stay plain ints."""
        try:
            return Reason(value)
        except ValueError:
            return int(value)


def reason_name(reason):
    """'requested', 'application_stopping', ...; 'user' for any application reason."""
    return lib.lifetime_reason_name(int(reason)).decode()


class OperationCancelled(Exception):
    """Work stopped because a token fired; `reason` says why."""

    def __init__(self, reason):
        super().__init__(f"operation cancelled: {reason_name(reason)}")
        self.reason = Reason.of(reason)


def _from_deadline(ns):
    return None if ns == _native.NO_DEADLINE else ns


def _to_deadline(ns):
    return _native.NO_DEADLINE if ns is None else int(ns)


# One C trampoline for every registration: the user pointer is a key into _callbacks.
_callbacks = {}
_callbacks_lock = threading.Lock()
_keys = itertools.count(1)


@_native.CALLBACK
def _trampoline(user, reason):
    with _callbacks_lock:
        callback = _callbacks.get(user)
    if callback is not None:
        callback(Reason.of(reason))


class Registration:
    """Runs a callback when a token is cancelled, until closed. A context manager."""

    __slots__ = ("_handle", "_key", "__weakref__")

    def __init__(self, handle, key):
        self._handle = handle
        self._key = key

    @property
    def is_registered(self):
        return self._handle is not None and lib.lifetime_registration_is_registered(self._handle) == 1

    def close(self):
        """Unregisters (waiting for the callback if it runs on another thread) and frees."""
        handle, self._handle = self._handle, None
        if handle is not None:
            lib.lifetime_registration_release(handle)
            with _callbacks_lock:
                _callbacks.pop(self._key, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        self.close()


class CancellationToken:
    """Observes one source. CancellationToken() is never cancelled."""

    __slots__ = ("_handle",)

    def __init__(self, _handle=None):
        self._handle = _handle

    @classmethod
    def _borrow(cls, pointer):
        """A token of our own for a borrowed lifetime_token*."""
        out = ctypes.c_void_p()
        lib.lifetime_token_clone(pointer, ctypes.byref(out))
        return cls(out.value)

    @property
    def is_cancelled(self):
        return lib.lifetime_token_is_cancelled(self._handle) == 1

    @property
    def can_be_cancelled(self):
        return lib.lifetime_token_can_be_cancelled(self._handle) == 1

    @property
    def reason(self):
        return Reason.of(lib.lifetime_token_reason(self._handle))

    @property
    def deadline(self):
        """time.monotonic_ns() of the deadline, or None."""
        return _from_deadline(lib.lifetime_token_deadline(self._handle))

    def raise_if_cancelled(self):
        """Raises OperationCancelled with the reason if cancellation was requested."""
        if self.is_cancelled:
            raise OperationCancelled(self.reason)

    def register(self, callback):
        """callback(reason) runs once when cancelled, on the cancelling thread; inline if the
        token already is. Returns the Registration; keep it (closing it unregisters)."""
        key = next(_keys)
        with _callbacks_lock:
            _callbacks[key] = callback
        out = ctypes.c_void_p()
        try:
            lib.lifetime_token_register(self._handle, _trampoline, key, ctypes.byref(out))
        except BaseException:
            with _callbacks_lock:
                _callbacks.pop(key, None)
            raise
        return Registration(out.value, key)

    def close(self):
        handle, self._handle = self._handle, None
        if handle is not None:
            lib.lifetime_token_release(handle)

    def __del__(self):
        self.close()


class CancellationSource:
    """Requests cancellation. CancellationSource(deadline=ns) carries a deadline (information: a
    timer must act on it); CancellationSource.linked(tokens) is cancelled when any parent is."""

    __slots__ = ("_handle",)

    def __init__(self, deadline=None, _handle=None):
        if _handle is None:
            out = ctypes.c_void_p()
            lib.lifetime_source_create(_to_deadline(deadline), ctypes.byref(out))
            _handle = out.value
        self._handle = _handle

    @classmethod
    def linked(cls, parents, deadline=None):
        parents = list(parents)
        array = (ctypes.c_void_p * max(len(parents), 1))(*[p._handle for p in parents])
        out = ctypes.c_void_p()
        lib.lifetime_source_create_linked(array, len(parents), _to_deadline(deadline),
                                          ctypes.byref(out))
        return cls(_handle=out.value)

    def cancel(self, reason=Reason.REQUESTED):
        """Runs every callback on this thread before returning. True for the call that
        cancelled."""
        return lib.lifetime_source_cancel(self._handle, int(reason)) == 1

    @property
    def token(self):
        out = ctypes.c_void_p()
        lib.lifetime_source_token(self._handle, ctypes.byref(out))
        return CancellationToken(out.value)

    @property
    def is_cancelled(self):
        return lib.lifetime_source_is_cancelled(self._handle) == 1

    @property
    def reason(self):
        return Reason.of(lib.lifetime_source_reason(self._handle))

    @property
    def deadline(self):
        return _from_deadline(lib.lifetime_source_deadline(self._handle))

    def close(self):
        handle, self._handle = self._handle, None
        if handle is not None:
            lib.lifetime_source_release(handle)

    def __del__(self):
        self.close()


def now_ns():
    """lifetime_now_ns(): the clock of deadlines, equal to time.monotonic_ns()."""
    return lib.lifetime_now_ns()
