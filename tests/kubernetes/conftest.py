# SPDX-License-Identifier: MIT
"""The Kubernetes tests' imports: kubernetes/check_manifests.py, tests/reliability/demo_tools.py
and simulated_cluster.py; the lifetime-demo binary from $LIFETIME_DEMO (set by ctest); the
container's arguments made fit for a process on this machine."""
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
MANIFESTS = os.path.join(REPO, "kubernetes")
sys.dont_write_bytecode = True  # keep the source tree clean
for path in (HERE, MANIFESTS, os.path.join(REPO, "tests", "reliability")):
    if path not in sys.path:
        sys.path.insert(0, path)

import check_manifests  # noqa: E402

SCALED_OPTIONS = ("--drain-delay", "--shutdown-timeout", "--supervisor-deadline")


def local_args(container_args, scale=1.0):
    """The container's args without --listen and --storage-dir (demo_tools.Demo passes its own),
    with the timing options multiplied by `scale`."""
    args, result = [str(a) for a in container_args], []
    while args:
        arg = args.pop(0)
        if arg in ("--listen", "--storage-dir"):
            args.pop(0)
        elif arg in SCALED_OPTIONS:
            seconds = check_manifests.parse_duration(args.pop(0)) * scale
            result += [arg, f"{round(seconds * 1000)}ms"]
        else:
            result.append(arg)
    return result


@pytest.fixture
def demo_binary():
    binary = os.environ.get("LIFETIME_DEMO")
    if not binary or not os.access(binary, os.X_OK):
        pytest.skip("LIFETIME_DEMO is not set to a built lifetime-demo (ctest sets it)")
    return binary
