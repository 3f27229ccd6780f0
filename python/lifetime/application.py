# SPDX-License-Identifier: MIT
"""The application lifetime of a Host: its three tokens, the stop, stopping callbacks, leases.

Every member may be called from any thread. on_stopping() callbacks run once, after the stop
began, on a worker thread of the library (never the signal thread), within their time box; one
still running at the end of its box is abandoned and the exit code becomes 70. A Lease holds the
shutdown open until released or until its box (and never past the budget) ends.
"""
import ctypes
import itertools
import threading

from . import _native
from ._native import lib
from .cancellation import CancellationToken, Reason

_STATES = ("starting", "started", "stopping", "stopped")

_stopping_callbacks = {}
_stopping_lock = threading.Lock()
_keys = itertools.count(1)


@_native.STOPPING
def _stopping_trampoline(user, token):
    with _stopping_lock:
        callback = _stopping_callbacks.get(user)
    if callback is not None:
        callback(CancellationToken._borrow(token))


def _millis(seconds):
    return -1 if seconds is None else int(seconds * 1000)


class Lease:
    """Holds the shutdown open until released (or its time box ends). A context manager."""

    __slots__ = ("_handle",)

    def __init__(self, handle):
        self._handle = handle

    @property
    def is_holding(self):
        return lib.lifetime_lease_is_holding(self._handle) == 1

    def release(self):
        handle, self._handle = self._handle, None
        if handle is not None:
            lib.lifetime_lease_release(handle)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()

    def __del__(self):
        self.release()


class ApplicationLifetime:
    """Borrowed from a Host; valid while the Host is."""

    def __init__(self, pointer):
        self._app = pointer
        self._keys = []

    def _token(self, fn):
        out = ctypes.c_void_p()
        fn(self._app, ctypes.byref(out))
        return CancellationToken(out.value)

    @property
    def started(self):
        return self._token(lib.lifetime_app_started)

    @property
    def stopping(self):
        return self._token(lib.lifetime_app_stopping)

    @property
    def stopped(self):
        return self._token(lib.lifetime_app_stopped)

    @property
    def state(self):
        """'starting', 'started', 'stopping' or 'stopped'."""
        return _STATES[lib.lifetime_app_state(self._app)]

    def stop(self, reason=Reason.APPLICATION_STOPPING):
        """Begins the stop; True for the call that began it. Not from a signal handler."""
        return lib.lifetime_app_stop(self._app, int(reason)) == 1

    @property
    def stop_reason(self):
        return Reason.of(lib.lifetime_app_stop_reason(self._app))

    def on_stopping(self, name, callback, max_seconds=None):
        """callback(token) runs once on a library thread after the stop began; `token` fires
        (deadline_exceeded) when its box (max_seconds, and the budget) ends."""
        key = next(_keys)
        with _stopping_lock:
            _stopping_callbacks[key] = callback
        self._keys.append(key)
        lib.lifetime_app_on_stopping(self._app, name.encode(), _stopping_trampoline, key,
                                     _millis(max_seconds))

    def delay_shutdown(self, name, max_seconds):
        """A Lease holding the shutdown open for at most max_seconds."""
        out = ctypes.c_void_p()
        lib.lifetime_app_delay_shutdown(self._app, name.encode(), _millis(max_seconds),
                                        ctypes.byref(out))
        return Lease(out.value)

    def _forget(self):
        with _stopping_lock:
            for key in self._keys:
                _stopping_callbacks.pop(key, None)
        self._keys.clear()
