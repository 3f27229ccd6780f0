# SPDX-License-Identifier: MIT
"""lifetime for Python: cancellation tokens, asyncio integration and the graceful-shutdown host,
over liblifetime-c (ctypes, standard library only).

    import lifetime
    source = lifetime.CancellationSource()
    with source.token.register(lambda reason: print("cancelled:", reason.name)):
        source.cancel(lifetime.Reason.CLIENT_DISCONNECTED)

See lifetime.aio for asyncio and lifetime.host for running services under the host.
"""
from ._native import LifetimeError
from .application import ApplicationLifetime, Lease
from .cancellation import (CancellationSource, CancellationToken, OperationCancelled, Reason,
                           Registration, now_ns, reason_name)
from .host import Host, Service
from . import aio

__all__ = [
    "ApplicationLifetime", "CancellationSource", "CancellationToken", "Host", "Lease",
    "LifetimeError", "OperationCancelled", "Reason", "Registration", "Service", "aio", "now_ns",
    "reason_name",
]
