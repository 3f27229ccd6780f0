# SPDX-License-Identifier: MIT
"""The Kubernetes tests' imports: kubernetes/check_manifests.py, tests/reliability/demo_tools.py
and simulated_cluster.py; the lifetime-demo binary from $LIFETIME_DEMO (set by ctest)."""
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


@pytest.fixture
def demo_binary():
    binary = os.environ.get("LIFETIME_DEMO")
    if not binary or not os.access(binary, os.X_OK):
        pytest.skip("LIFETIME_DEMO is not set to a built lifetime-demo (ctest sets it)")
    return binary
