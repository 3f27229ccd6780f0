#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Checks that the timings in the lifetime-demo manifests fit together.

usage: check_manifests.py [DIR]     (default: the folder of this script)

Reads every .yaml/.yml/.json file of DIR (Debian's python3-yaml), finds the Deployment whose
container runs lifetime-demo, and checks, printing "ok   ..." or "FAIL ..." per check:
  grace      terminationGracePeriodSeconds >= preStop sleep + --shutdown-timeout + 1 s: the
             host's own rule for --supervisor-deadline (its budget holds the drain delay), so
             the host, not SIGKILL, ends the slowest stop;
  deadline   --supervisor-deadline = terminationGracePeriodSeconds - preStop sleep (the time
             between SIGTERM and SIGKILL), so the host's own check at start-up agrees;
  readiness  a readinessProbe on /readyz whose periodSeconds x failureThreshold + timeoutSeconds,
             plus the endpoint propagation the Deployment's annotation
             lifetime-demo/endpoint-propagation-seconds assumes, fit in --drain-delay: the
             endpoint is gone from every proxy before the listener closes;
  liveness   a livenessProbe on /healthz;
  rollout    RollingUpdate with maxUnavailable 0 and maxSurge >= 1;
  service    each Service's selector picks the pods, its targetPort is a container port;
  disruption each PodDisruptionBudget picks the pods and lets one be evicted while others serve.
Options come from the container's args, else its env (LIFETIME_DRAIN_DELAY, ...), else the
host's defaults (drain delay 0, shutdown timeout 30 s). Exit status 0 when every check passes.

As a module: load(dir) -> documents; pod_timing(documents) -> Timing;
check(documents) -> [(ok, line)].
"""
import dataclasses
import os
import re
import sys

import yaml

PROPAGATION_ANNOTATION = "lifetime-demo/endpoint-propagation-seconds"
HOST_MARGIN = 1.0  # seconds: the host's own margin (host_options.hpp, supervisor_margin)
HOST_DEFAULTS = {"drain-delay": "0", "shutdown-timeout": "30s", "supervisor-deadline": "0"}
_DURATION_GROUP = re.compile(r"(\d+)(?:\.(\d{1,9}))?(ms|s|m|h)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


class ManifestError(Exception):
    """A manifest lacks what the checks need; the text names the file and the field."""


def parse_duration(text):
    """Seconds in `text`, in the host's one grammar ("250ms", "1.5s", "1m30s", "0")."""
    if text == "0":
        return 0.0
    pos, total = 0, 0.0
    while pos < len(text):
        m = _DURATION_GROUP.match(text, pos)
        if not m:
            raise ValueError(f"not a duration: {text!r} (expected e.g. 250ms, 30s, 1m30s)")
        whole, fraction, unit = m.groups()
        total += float(f"{whole}.{fraction or 0}") * _UNIT_SECONDS[unit]
        pos = m.end()
    if not text:
        raise ValueError("empty duration")
    return total


def load(directory):
    """Every document of every manifest file in `directory`, as (file name, object)."""
    documents = []
    for name in sorted(os.listdir(directory)):
        if not re.search(r"\.(ya?ml|json)$", name):
            continue
        with open(os.path.join(directory, name), encoding="utf-8") as f:
            for doc in yaml.safe_load_all(f):
                if doc:
                    documents.append((name, doc))
    return documents


@dataclasses.dataclass
class Probe:
    path: str
    port: object
    period: float
    failure_threshold: int
    timeout: float

    @classmethod
    def of(cls, spec):
        if not spec:
            return None
        get = spec.get("httpGet") or {}
        return cls(get.get("path"), get.get("port"), spec.get("periodSeconds", 10),
                   spec.get("failureThreshold", 3), spec.get("timeoutSeconds", 1))

    def detection(self):
        """Seconds from the first failing answer until the kubelet marks the pod failed."""
        return self.period * self.failure_threshold + self.timeout


@dataclasses.dataclass
class Timing:
    """What the checks read from the Deployment, durations in seconds."""
    file: str
    deployment: dict
    container: dict
    args: list
    drain_delay: float
    shutdown_timeout: float
    supervisor_deadline: float
    grace_period: float
    pre_stop: float
    propagation: float
    readiness: Probe
    liveness: Probe


def _option(container, name):
    """The value of --NAME from the container's args, else LIFETIME_NAME from its env."""
    args = [str(a) for a in container.get("args") or container.get("command") or []]
    for i, arg in enumerate(args):
        if arg == f"--{name}" and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith(f"--{name}="):
            return arg.split("=", 1)[1]
    variable = "LIFETIME_" + name.upper().replace("-", "_")
    for env in container.get("env") or []:
        if env.get("name") == variable and "value" in env:
            return str(env["value"])
    return HOST_DEFAULTS[name]


def _pre_stop_seconds(container, where):
    hook = ((container.get("lifecycle") or {}).get("preStop")) or {}
    if not hook:
        return 0.0
    if "sleep" in hook:
        return float(hook["sleep"].get("seconds", 0))
    command = " ".join(str(c) for c in (hook.get("exec") or {}).get("command") or [])
    m = re.fullmatch(r"(?:/bin/|/usr/bin/)?(?:sh -c )?['\"]?sleep (\d+(?:\.\d+)?)['\"]?", command)
    if not m:
        raise ManifestError(f"{where}: lifecycle.preStop: only a sleep can be accounted for "
                            f"(sleep: seconds, or exec: [sleep, N])")
    return float(m.group(1))


def demo_deployment(documents):
    """(file, Deployment, container) of the container that runs lifetime-demo."""
    for file, doc in documents:
        if doc.get("kind") != "Deployment":
            continue
        for container in doc["spec"]["template"]["spec"].get("containers") or []:
            if "lifetime-demo" in str(container.get("image", "")) + container.get("name", ""):
                return file, doc, container
    raise ManifestError("no Deployment with a lifetime-demo container")


def pod_timing(documents):
    """The Timing of the lifetime-demo Deployment among `documents`."""
    file, deployment, container = demo_deployment(documents)
    where = f"{file}: Deployment/{deployment['metadata']['name']}"
    pod = deployment["spec"]["template"]["spec"]
    annotations = deployment["metadata"].get("annotations") or {}
    if PROPAGATION_ANNOTATION not in annotations:
        raise ManifestError(f"{where}: metadata.annotations.{PROPAGATION_ANNOTATION} is missing")
    options = {}
    for name in HOST_DEFAULTS:
        try:
            options[name] = parse_duration(_option(container, name))
        except ValueError as e:
            raise ManifestError(f"{where}: --{name}: {e}") from None
    return Timing(file=file, deployment=deployment, container=container,
                  args=[str(a) for a in container.get("args") or []],
                  drain_delay=options["drain-delay"],
                  shutdown_timeout=options["shutdown-timeout"],
                  supervisor_deadline=options["supervisor-deadline"],
                  grace_period=float(pod.get("terminationGracePeriodSeconds", 30)),
                  pre_stop=_pre_stop_seconds(container, where),
                  propagation=float(annotations[PROPAGATION_ANNOTATION]),
                  readiness=Probe.of(container.get("readinessProbe")),
                  liveness=Probe.of(container.get("livenessProbe")))


def _seconds(value):
    return f"{value:g}s"


def _port_ok(container, port):
    ports = container.get("ports") or []
    return any(port in (p.get("name"), p.get("containerPort")) for p in ports)


def _selects(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def _timing_checks(t):
    needed = t.pre_stop + t.shutdown_timeout + HOST_MARGIN
    yield (t.grace_period >= needed,
           f"grace: terminationGracePeriodSeconds {_seconds(t.grace_period)} >= preStop "
           f"{_seconds(t.pre_stop)} + --shutdown-timeout {_seconds(t.shutdown_timeout)} "
           f"(drain delay included) + {_seconds(HOST_MARGIN)} margin = {_seconds(needed)}")
    told = t.grace_period - t.pre_stop
    yield (t.supervisor_deadline == told,
           f"deadline: --supervisor-deadline {_seconds(t.supervisor_deadline)} = "
           f"terminationGracePeriodSeconds {_seconds(t.grace_period)} - preStop "
           f"{_seconds(t.pre_stop)} (the time from SIGTERM to SIGKILL)")
    r = t.readiness
    if r is None or r.path != "/readyz" or not _port_ok(t.container, r.port):
        yield False, "readiness: a readinessProbe with httpGet /readyz on a container port"
    else:
        gone = r.detection() + t.propagation
        yield (gone <= t.drain_delay,
               f"readiness: periodSeconds {r.period} x failureThreshold {r.failure_threshold} "
               f"+ timeoutSeconds {r.timeout} + endpoint propagation {_seconds(t.propagation)} "
               f"= {_seconds(gone)} <= --drain-delay {_seconds(t.drain_delay)}")
    live = t.liveness
    yield (live is not None and live.path == "/healthz" and _port_ok(t.container, live.port),
           "liveness: a livenessProbe with httpGet /healthz on a container port")
    strategy = t.deployment["spec"].get("strategy") or {}
    rolling = strategy.get("rollingUpdate") or {}
    yield (strategy.get("type", "RollingUpdate") == "RollingUpdate"
           and str(rolling.get("maxUnavailable")) in ("0", "0%")
           and str(rolling.get("maxSurge", "25%")) not in ("0", "0%"),
           "rollout: RollingUpdate, maxUnavailable 0, maxSurge >= 1 (a new pod is ready before "
           "an old one stops)")


def _object_checks(t, documents):
    labels = t.deployment["spec"]["template"]["metadata"].get("labels") or {}
    replicas = t.deployment["spec"].get("replicas", 1)
    for file, doc in documents:
        name = f"{file}: {doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
        if doc.get("kind") == "Service":
            spec = doc.get("spec") or {}
            targets = [p.get("targetPort", p.get("port")) for p in spec.get("ports") or []]
            yield (_selects(spec.get("selector"), labels) and targets
                   and all(_port_ok(t.container, p) for p in targets),
                   f"service: {name} selects the pods and targets a container port")
        elif doc.get("kind") == "PodDisruptionBudget":
            spec = doc.get("spec") or {}
            selector = (spec.get("selector") or {}).get("matchLabels")
            budget = spec.get("maxUnavailable")
            if budget is None and isinstance(spec.get("minAvailable"), int):
                budget = replicas - spec["minAvailable"]
            yield (_selects(selector, labels) and isinstance(budget, int)
                   and 1 <= budget < replicas,
                   f"disruption: {name} selects the pods and lets 1 to {replicas - 1} of "
                   f"{replicas} be evicted at once")


def check(documents):
    """[(ok, line)] for every check; raises ManifestError when a needed field is missing."""
    t = pod_timing(documents)
    return list(_timing_checks(t)) + list(_object_checks(t, documents))


def main(argv):
    directory = argv[1] if len(argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    try:
        results = check(load(directory))
    except (ManifestError, OSError, yaml.YAMLError, KeyError, TypeError) as e:
        print(f"FAIL {e}", file=sys.stderr)
        return 1
    for ok, line in results:
        print(("ok   " if ok else "FAIL ") + line)
    return 0 if all(ok for ok, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
