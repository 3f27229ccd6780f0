# SPDX-License-Identifier: MIT
"""A rolling update of the lifetime-demo Deployment, played against real processes: three
replicas behind a real nginx are replaced one at a time (maxSurge 1, maxUnavailable 0) while
keep-alive clients send requests through nginx, and not one request fails.

The kubelet, the endpoint controller and the Deployment controller are this test (see
simulated_cluster.py); the numbers are the manifest's, every duration multiplied by TIME_SCALE
(0.5 unless $LIFETIME_K8S_TIME_SCALE says otherwise) so that the test takes about 20 s: drain
delay 12 s -> 6 s, readiness period 2 s -> 1 s, endpoint propagation 4 s -> 2 s, grace period
45 s -> 22.5 s. The host's 1 s margin is not scaled, so the scaled options still satisfy the
host's own check (which they must, or a pod would exit 78).
"""
import os
import time

import check_manifests
from conftest import MANIFESTS, local_args
from simulated_cluster import Clients, EndpointController, Kubelet, LoadBalancer, wait_until

TIME_SCALE = float(os.environ.get("LIFETIME_K8S_TIME_SCALE", "0.5"))
# nginx's retries to another pod: off, so that a request a pod drops shows; ingress-nginx's
# default, "error timeout", can be tried with $LIFETIME_K8S_NEXT_UPSTREAM.
NEXT_UPSTREAM = os.environ.get("LIFETIME_K8S_NEXT_UPSTREAM", "off")
CLIENTS = 6
def probe(spec):
    return (spec.period * TIME_SCALE, spec.failure_threshold, spec.timeout * TIME_SCALE)


def test_a_rolling_update_of_three_replicas_behind_nginx_fails_no_request(demo_binary, tmp_path):
    timing = check_manifests.pod_timing(check_manifests.load(MANIFESTS))
    replicas = timing.deployment["spec"]["replicas"]
    drain_delay = timing.drain_delay * TIME_SCALE
    grace = timing.grace_period * TIME_SCALE
    args = local_args(timing.args, TIME_SCALE)
    (tmp_path / "nginx").mkdir()
    balancer = LoadBalancer(str(tmp_path / "nginx"), NEXT_UPSTREAM)
    kubelets, clients = [], None

    def start_pod(name):
        storage = tmp_path / name
        storage.mkdir()
        kubelet = Kubelet(name, demo_binary, args, str(storage), probe(timing.readiness),
                          probe(timing.liveness), grace)
        kubelets.append(kubelet)
        return kubelet

    try:
        old = [start_pod(f"old-{i}") for i in range(replicas)]
        for kubelet in old:
            assert kubelet.ready.wait(10), f"{kubelet.name} never ready: {kubelet.pod.lines}"
        balancer.start([k.port for k in old])
        controller = EndpointController(balancer, timing.propagation * TIME_SCALE)
        clients = Clients(balancer.port, CLIENTS)
        wait_until(lambda: clients.ok >= 100 or clients.failures, 10, "the first responses")
        started = time.monotonic()

        # The Deployment controller: a new pod; once it is ready, an old one is deleted. A
        # terminating pod does not count against maxSurge, so the next new pod starts at once.
        new = []
        for old_pod in old:
            pod = start_pod(old_pod.name.replace("old", "new"))
            new.append(pod)
            assert pod.ready.wait(10), f"{pod.name} never ready: {pod.pod.lines}"
            controller.add_when_ready(pod, 10)
            old_pod.terminate()  # the kubelet: SIGTERM, SIGKILL after the grace period
            controller.remove_when_unready(old_pod, grace)
        for old_pod in old:
            assert old_pod.exited.wait(grace + 5), f"{old_pod.name} still running"
        assert controller.join(grace), "an endpoint change is still pending"
        served = clients.ok
        wait_until(lambda: clients.ok >= served + 100 or clients.failures, 10,
                   "responses from the new pods")
        clients.stop()
        elapsed = time.monotonic() - started

        lines = [f"rolling update: {clients.ok} requests, {len(clients.failures)} failed, "
                 f"{len(clients.retries)} sent again after an nginx reload closed their "
                 f"keep-alive connection, {clients.reconnects} idle connections closed by nginx "
                 f"and reopened, {len(balancer.reloads)} nginx reloads, {elapsed:.1f}s (time "
                 f"scale {TIME_SCALE}, proxy_next_upstream {NEXT_UPSTREAM})"]
        for kubelet in old:
            count, last = clients.by_upstream.get(kubelet.port, (0, 0.0))
            unready = (kubelet.unready_at or float("nan")) - kubelet.sigterm_at
            lines.append(
                f"  {kubelet.name}: {count} responses; after SIGTERM: unready at "
                f"{unready:.2f}s, out of nginx at "
                f"{controller.removed_at[kubelet.name] - kubelet.sigterm_at:.2f}s, last "
                f"response at {last - kubelet.sigterm_at:.2f}s, drain delay ends at "
                f"{drain_delay:.2f}s, exit {kubelet.exit_code} at {kubelet.exit_after:.2f}s "
                f"(grace {grace:g}s)")
        for kubelet in new:
            lines.append(f"  {kubelet.name}: {clients.by_upstream.get(kubelet.port, (0,))[0]} "
                         f"responses")
        print("\n".join(lines))

        assert controller.errors == []
        assert clients.failures == [], "\n".join(lines + clients.failures[:20])
        for kubelet in old:
            assert not kubelet.killed and kubelet.exit_code == 0, kubelet.pod.lines[-20:]
            assert kubelet.exit_after <= grace
            # The endpoint left nginx before the pod stopped accepting connections.
            assert controller.removed_at[kubelet.name] - kubelet.sigterm_at < drain_delay
        for kubelet in old + new:
            assert kubelet.liveness_failures_before_sigterm == [], kubelet.name
        for kubelet in new:
            assert clients.by_upstream.get(kubelet.port, (0,))[0] > 0, f"{kubelet.name} idle"
        assert len(balancer.reloads) == 2 * replicas
        # Requests sent again were all cut by nginx's reload, none by a pod.
        assert [t for t in clients.retries if not balancer.during_reload(t)] == []
    finally:
        if clients:
            clients.stop()
        for kubelet in kubelets:
            kubelet.kill()
        balancer.stop()
