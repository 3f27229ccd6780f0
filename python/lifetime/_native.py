# SPDX-License-Identifier: MIT
"""The ctypes binding of liblifetime-c (<lifetime/lifetime.h>): loading and prototypes.

The library is found, in order, at $LIFETIME_C_LIBRARY (a path), in the prefix this package was
installed with, then by the dynamic loader's usual search (liblifetime-c.so.1). Every call that
can fail is checked: a non-zero status raises LifetimeError with the library's message.
"""
import ctypes
import os

c_void_p = ctypes.c_void_p
_P = ctypes.POINTER(ctypes.c_void_p)

CALLBACK = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_uint16)
STOPPING = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p)
HOOK = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p)
EXIT = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int)
DESTROY = ctypes.CFUNCTYPE(None, ctypes.c_void_p)

NO_DEADLINE = 2**63 - 1


class HostOptions(ctypes.Structure):
    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("shutdown_timeout_ms", ctypes.c_int64),
        ("drain_delay_ms", ctypes.c_int64),
        ("threads", ctypes.c_uint),
        ("handle_signals", ctypes.c_int),
        ("configure_logging", ctypes.c_int),
        ("exit_when_stopped", ctypes.c_int),
        ("name", ctypes.c_char_p),
        ("log_level", ctypes.c_char_p),
    ]


class ServiceStruct(ctypes.Structure):
    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("name", ctypes.c_char_p),
        ("user", ctypes.c_void_p),
        ("starting", HOOK),
        ("start", HOOK),
        ("started", HOOK),
        ("stopping", HOOK),
        ("stop", HOOK),
        ("stopped", HOOK),
        ("reload", HOOK),
        ("run", HOOK),
        ("destroy", DESTROY),
    ]


class LifetimeError(RuntimeError):
    """A call into liblifetime-c failed: `status` is its code, the message the library's."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def _candidates():
    explicit = os.environ.get("LIFETIME_C_LIBRARY")
    if explicit:
        yield explicit
        return
    try:
        from . import _installed  # written at install time
        yield os.path.join(_installed.LIBDIR, "liblifetime-c.so.1")
    except ImportError:
        pass
    yield "liblifetime-c.so.1"


def _load():
    errors = []
    for candidate in _candidates():
        try:
            return ctypes.CDLL(candidate)
        except OSError as error:
            errors.append(f"{candidate}: {error}")
    raise ImportError("liblifetime-c not found (set LIFETIME_C_LIBRARY): " + "; ".join(errors))


lib = _load()


def _check(status, func, args):
    if status != 0:
        message = lib.lifetime_last_error().decode(errors="replace")
        raise LifetimeError(status, f"{func.__name__}: {message}")
    return status


def _proto(name, restype, *argtypes, checked=False):
    fn = getattr(lib, name)
    fn.restype = restype
    fn.argtypes = list(argtypes)
    if checked:
        fn.errcheck = _check
    return fn


_S = ctypes.c_int32
_proto("lifetime_last_error", ctypes.c_char_p)
_proto("lifetime_reason_name", ctypes.c_char_p, ctypes.c_uint16)
_proto("lifetime_now_ns", ctypes.c_int64)
_proto("lifetime_source_create", _S, ctypes.c_int64, _P, checked=True)
_proto("lifetime_source_create_linked", _S, _P, ctypes.c_size_t, ctypes.c_int64, _P, checked=True)
_proto("lifetime_source_release", None, c_void_p)
_proto("lifetime_source_cancel", ctypes.c_int, c_void_p, ctypes.c_uint16)
_proto("lifetime_source_token", _S, c_void_p, _P, checked=True)
_proto("lifetime_source_is_cancelled", ctypes.c_int, c_void_p)
_proto("lifetime_source_reason", ctypes.c_uint16, c_void_p)
_proto("lifetime_source_deadline", ctypes.c_int64, c_void_p)
_proto("lifetime_token_clone", _S, c_void_p, _P, checked=True)
_proto("lifetime_token_release", None, c_void_p)
_proto("lifetime_token_is_cancelled", ctypes.c_int, c_void_p)
_proto("lifetime_token_can_be_cancelled", ctypes.c_int, c_void_p)
_proto("lifetime_token_reason", ctypes.c_uint16, c_void_p)
_proto("lifetime_token_deadline", ctypes.c_int64, c_void_p)
_proto("lifetime_token_register", _S, c_void_p, CALLBACK, c_void_p, _P, checked=True)
_proto("lifetime_registration_unregister", None, c_void_p)
_proto("lifetime_registration_release", None, c_void_p)
_proto("lifetime_registration_is_registered", ctypes.c_int, c_void_p)
_proto("lifetime_app_started", _S, c_void_p, _P, checked=True)
_proto("lifetime_app_stopping", _S, c_void_p, _P, checked=True)
_proto("lifetime_app_stopped", _S, c_void_p, _P, checked=True)
_proto("lifetime_app_state", ctypes.c_int, c_void_p)
_proto("lifetime_app_stop", ctypes.c_int, c_void_p, ctypes.c_uint16)
_proto("lifetime_app_stop_reason", ctypes.c_uint16, c_void_p)
_proto("lifetime_app_on_stopping", _S, c_void_p, ctypes.c_char_p, STOPPING, c_void_p,
       ctypes.c_int64, checked=True)
_proto("lifetime_app_delay_shutdown", _S, c_void_p, ctypes.c_char_p, ctypes.c_int64, _P,
       checked=True)
_proto("lifetime_lease_release", None, c_void_p)
_proto("lifetime_lease_is_holding", ctypes.c_int, c_void_p)
_proto("lifetime_hook_kind", ctypes.c_int, c_void_p)
_proto("lifetime_hook_token", c_void_p, c_void_p)
_proto("lifetime_hook_complete", None, c_void_p, ctypes.c_char_p)
_proto("lifetime_host_options_init", None, ctypes.POINTER(HostOptions))
_proto("lifetime_host_create", _S, ctypes.POINTER(HostOptions), _P, checked=True)
_proto("lifetime_host_create_embedded", _S, ctypes.POINTER(HostOptions), _P, checked=True)
_proto("lifetime_host_release", None, c_void_p)
_proto("lifetime_host_app", c_void_p, c_void_p)
_proto("lifetime_host_add_service", _S, c_void_p, ctypes.POINTER(ServiceStruct), checked=True)
_proto("lifetime_host_link_parent", _S, c_void_p, c_void_p, checked=True)
_proto("lifetime_host_run", ctypes.c_int, c_void_p)
_proto("lifetime_host_start", _S, c_void_p, EXIT, c_void_p, checked=True)
_proto("lifetime_host_fd", ctypes.c_int, c_void_p)
_proto("lifetime_host_poll", ctypes.c_int, c_void_p)
_proto("lifetime_host_exit_code", ctypes.c_int, c_void_p)
_proto("lifetime_host_request_reload", None, c_void_p)


def out_pointer():
    return ctypes.c_void_p()


def last_error():
    return lib.lifetime_last_error().decode(errors="replace")
