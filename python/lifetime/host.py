# SPDX-License-Identifier: MIT
"""Run Python services under lifetime's host: its signals, phases, budget and systemd messages.

    class Worker(lifetime.Service):
        name = "worker"
        async def run(self, token):        # cancelled (CancelledError) when the stop begins
            while True:
                await asyncio.sleep(1)

    host = lifetime.Host("my-daemon", shutdown_timeout=5)
    host.add_service(Worker())
    sys.exit(host.run())

Two modes:
- Host.run() (owning): the C++ host owns the process's stop signals (SIGTERM, SIGINT, SIGQUIT; a
  second one is a fast stop, a third exits at once; SIGHUP reloads; SIGUSR2 dumps the state),
  talks to systemd (READY=1, STOPPING=1, ...), logs each phase, and bounds the stop by the
  budget: an exit enforcer ends the process at budget + 100 ms whatever Python does. The hooks
  run as tasks on an asyncio loop in a thread of their own ("lifetime-asyncio"). run() returns
  the exit code (exit_when_stopped=False, the default here, so that Python flushes its files and
  runs its atexit handlers); exit_when_stopped=True ends the process as soon as the stop is over.
  If a service still blocks the loop when the stop is over, run() flushes sys.stdout and
  sys.stderr and ends the process with os._exit(code): it cannot finish cleanly.
- await Host(embedded=True).serve() (embedded): on the running asyncio loop, which watches the
  host's fd; no signals, no process exit; cancelling serve() stops the host gracefully.

Hooks: a Service may define any of these, as coroutine functions or plain functions:
starting(token), start(token), started(), stopping(), stop(token), stopped(), reload(),
run(token). Their order and meaning are those of lifetime/host/hosted_service.hpp. The hooks
that take a token run as a task that the token cancels: CancelledError (or OperationCancelled)
after the token fired is not a failure. Any other exception fails the hook (a failed start or run
gives exit code 1). A hook that ignores its token, or blocks the loop, is abandoned at the budget
and the exit code is 70; in owning mode the process still exits within budget + 100 ms.
"""
import asyncio
import ctypes
import inspect
import os
import sys
import itertools
import threading

from . import _native, aio
from ._native import lib
from .application import ApplicationLifetime
from .cancellation import CancellationToken, OperationCancelled

_HOOKS = ("starting", "start", "started", "stopping", "stop", "stopped", "reload", "run")
_WITH_TOKEN = {"starting", "start", "stop", "run"}

_services = {}
_services_lock = threading.Lock()
_keys = itertools.count(1)


class Service:
    """Base class of a Python service: override the hooks you need (all optional)."""

    name = "service"


def _defines(service, hook):
    method = getattr(type(service), hook, None)
    return method is not None and method is not getattr(Service, hook, None)


@_native.HOOK
def _hook_trampoline(user, call):
    with _services_lock:
        entry = _services.get(user)
    if entry is None:
        lib.lifetime_hook_complete(call, None)
        return
    host, service = entry
    host._dispatch(service, call)


async def _invoke(method, hook, token):
    """Runs one hook; returns None on success or the failure's message."""
    try:
        result = method(token) if hook in _WITH_TOKEN else method()
        if inspect.isawaitable(result):
            if hook in _WITH_TOKEN:
                await aio.run(result, token)
            else:
                await result
        return None
    except OperationCancelled:
        return None
    except asyncio.CancelledError:
        return None if token.is_cancelled else "cancelled"
    except BaseException as error:  # the hook failed: the host logs it with the service's name
        return f"{type(error).__name__}: {error}"


class Host:
    def __init__(self, name="host", *, shutdown_timeout=30.0, drain_delay=0.0, threads=1,
                 handle_signals=True, configure_logging=True, log_level="info",
                 exit_when_stopped=False, embedded=False):
        options = _native.HostOptions()
        lib.lifetime_host_options_init(ctypes.byref(options))
        options.shutdown_timeout_ms = int(shutdown_timeout * 1000)
        options.drain_delay_ms = int(drain_delay * 1000)
        options.threads = threads
        options.handle_signals = int(handle_signals)
        options.configure_logging = int(configure_logging)
        options.exit_when_stopped = int(exit_when_stopped)
        options.name = name.encode()
        options.log_level = log_level.encode()
        out = ctypes.c_void_p()
        create = lib.lifetime_host_create_embedded if embedded else lib.lifetime_host_create
        create(ctypes.byref(options), ctypes.byref(out))
        self._handle = out.value
        self._embedded = embedded
        self._loop = None
        self._keys = []
        self._structs = []
        self._on_exit = None
        self.app = ApplicationLifetime(lib.lifetime_host_app(self._handle))

    def add_service(self, service):
        """Adds a service, started after those added before. Before run()/serve()."""
        key = next(_keys)
        with _services_lock:
            _services[key] = (self, service)
        self._keys.append(key)
        struct = _native.ServiceStruct()
        struct.struct_size = ctypes.sizeof(struct)
        struct.name = str(getattr(service, "name", type(service).__name__)).encode()
        struct.user = key
        for hook in _HOOKS:
            if _defines(service, hook):
                setattr(struct, hook, _hook_trampoline)
        self._structs.append(struct)
        lib.lifetime_host_add_service(self._handle, ctypes.byref(struct))
        return service

    def link_parent(self, token):
        """The host stops gracefully when `token` fires. Before run()/serve()."""
        lib.lifetime_host_link_parent(self._handle, token._handle)

    def request_reload(self):
        lib.lifetime_host_request_reload(self._handle)

    def _dispatch(self, service, call):
        hook = _HOOKS[lib.lifetime_hook_kind(call)]
        token = CancellationToken._borrow(lib.lifetime_hook_token(call))
        method = getattr(service, hook)

        async def invoke_and_complete():
            error = await _invoke(method, hook, token)
            lib.lifetime_hook_complete(call, None if error is None else error.encode())
            token.close()

        if self._embedded:  # inside lifetime_host_poll(), on the loop's thread
            self._loop.create_task(invoke_and_complete())
        else:  # on the host's sequencing thread
            asyncio.run_coroutine_threadsafe(invoke_and_complete(), self._loop)

    def run(self):
        """Owning mode: runs until stopped (a signal, app.stop(), a parent token); returns the
        exit code. When the stop abandoned something (exit code 70: a service that blocked or
        ignored its token), Python code may still be running on other threads, and tearing the
        interpreter down under it is not safe: run() then flushes stdout and stderr and ends the
        process with 70 instead of returning."""
        if self._embedded:
            raise RuntimeError("an embedded Host is run with await serve()")
        loop = asyncio.new_event_loop()
        self._loop = loop
        thread = threading.Thread(target=loop.run_forever, name="lifetime-asyncio", daemon=True)
        thread.start()
        try:
            code = lib.lifetime_host_run(self._handle)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=0.02)
        if code < 0:
            raise _native.LifetimeError(-1, _native.last_error())
        if thread.is_alive():
            # A service blocks the loop: Python cannot finish cleanly, and the process must still
            # exit within the budget. Flush what was written and end it now with the code.
            for stream in (sys.stdout, sys.stderr):
                try:
                    stream.flush()
                except Exception:  # a closed or broken stream: nothing more to save
                    pass
            os._exit(code)
        loop.close()
        return code

    async def serve(self):
        """Embedded mode: runs on the running loop until the host stops; returns the exit code.
        Cancelling it stops the host gracefully and waits for the stop."""
        if not self._embedded:
            raise RuntimeError("serve() needs Host(embedded=True)")
        loop = asyncio.get_running_loop()
        self._loop = loop
        done = loop.create_future()

        @_native.EXIT
        def on_exit(user, code):  # inside lifetime_host_poll(), on this loop
            if not done.done():
                done.set_result(code)

        self._on_exit = on_exit
        lib.lifetime_host_start(self._handle, on_exit, None)
        fd = lib.lifetime_host_fd(self._handle)
        loop.add_reader(fd, lib.lifetime_host_poll, self._handle)
        try:
            try:
                return await asyncio.shield(done)
            except asyncio.CancelledError:
                self.app.stop()
                await done
                raise
        finally:
            loop.remove_reader(fd)

    def close(self):
        """Releases the host (after run() returned or serve() ended)."""
        handle, self._handle = self._handle, None
        if handle is None:
            return
        lib.lifetime_host_release(handle)
        self.app._forget()
        with _services_lock:
            for key in self._keys:
                _services.pop(key, None)
        self._keys.clear()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
