# SPDX-License-Identifier: MIT
"""kubernetes/check_manifests.py accepts the shipped manifests, rejects each mistake in timing it
is meant to catch, and agrees with the host's own outer-deadline check at start-up."""
import copy
import subprocess

import pytest
import yaml

import check_manifests
import demo_tools
from conftest import MANIFESTS, local_args


@pytest.fixture
def documents():
    return check_manifests.load(MANIFESTS)


def container(documents):
    return check_manifests.demo_deployment(documents)[2]


def pod(documents):
    return check_manifests.demo_deployment(documents)[1]["spec"]["template"]["spec"]


def set_arg(documents, name, value):
    args = container(documents)["args"]
    args[args.index(name) + 1] = value


def failed(documents):
    """The check lines that failed, each starting with its check's name."""
    return [line for ok, line in check_manifests.check(documents) if not ok]


def failed_names(documents):
    return sorted(line.split(":", 1)[0] for line in failed(documents))


def test_the_shipped_manifests_pass_every_check(documents):
    results = check_manifests.check(documents)
    assert failed(documents) == []
    names = {line.split(":", 1)[0] for _, line in results}
    assert names == {"grace", "deadline", "readiness", "liveness", "rollout", "service",
                     "disruption"}


def test_a_grace_period_shorter_than_shutdown_timeout_plus_1s_fails(documents):
    pod(documents)["terminationGracePeriodSeconds"] = 30  # 30 + 1 = 31: the drain delay is inside
    set_arg(documents, "--supervisor-deadline", "30s")
    assert failed_names(documents) == ["grace"]
    assert "terminationGracePeriodSeconds 30s >= preStop 0s + --shutdown-timeout 30s " \
           "(drain delay included) + 1s margin = 31s" in failed(documents)[0]


def test_a_supervisor_deadline_other_than_the_grace_period_fails(documents):
    set_arg(documents, "--supervisor-deadline", "50s")
    assert failed_names(documents) == ["deadline"]


def test_the_supervisor_deadline_may_come_from_the_environment(documents):
    args = container(documents)["args"]
    at = args.index("--supervisor-deadline")
    del args[at:at + 2]
    assert failed_names(documents) == ["deadline"]  # not told: 0 is not 45 s
    container(documents)["env"] = [{"name": "LIFETIME_SUPERVISOR_DEADLINE", "value": "45s"}]
    assert failed(documents) == []


def test_a_prestop_sleep_counts_against_the_grace_period_and_the_deadline(documents):
    container(documents)["lifecycle"] = {"preStop": {"exec": {"command": ["sleep", "15"]}}}
    assert failed_names(documents) == ["deadline", "grace"]  # 15 + 31 > 45; 45 != 45 - 15
    container(documents)["lifecycle"] = {"preStop": {"exec": {"command": ["sleep", "5"]}}}
    pod(documents)["terminationGracePeriodSeconds"] = 50  # 36 <= 50; SIGTERM to SIGKILL: 45 s
    assert failed(documents) == []
    set_arg(documents, "--supervisor-deadline", "50s")
    assert failed_names(documents) == ["deadline"]
    assert failed(documents)[0].startswith("deadline: --supervisor-deadline 50s = "
                                           "terminationGracePeriodSeconds 50s - preStop 5s")


def test_a_prestop_hook_that_is_not_a_sleep_cannot_be_accounted_for(documents):
    container(documents)["lifecycle"] = {"preStop": {"httpGet": {"path": "/drain", "port": 8080}}}
    with pytest.raises(check_manifests.ManifestError, match="only a sleep"):
        check_manifests.check(documents)


def test_readiness_that_notices_the_stop_too_late_for_the_drain_delay_fails(documents):
    container(documents)["readinessProbe"]["periodSeconds"] = 4  # 4 x 2 + 1 + 4 = 13 > 12
    assert failed_names(documents) == ["readiness"]
    assert "= 13s <= --drain-delay 12s" in failed(documents)[0]


def test_a_readiness_probe_on_another_path_fails(documents):
    container(documents)["readinessProbe"]["httpGet"]["path"] = "/healthz"
    assert failed_names(documents) == ["readiness"]


def test_a_rollout_that_may_stop_an_old_pod_first_fails(documents):
    deployment = check_manifests.demo_deployment(documents)[1]
    deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] = 1
    assert failed_names(documents) == ["rollout"]


def test_a_service_aimed_at_a_port_the_pod_lacks_fails(documents):
    service = next(doc for _, doc in documents if doc["kind"] == "Service")
    service["spec"]["ports"][0]["targetPort"] = "web"
    assert failed_names(documents) == ["service"]


def test_a_disruption_budget_that_allows_no_eviction_fails(documents):
    budget = next(doc for _, doc in documents if doc["kind"] == "PodDisruptionBudget")
    budget["spec"]["maxUnavailable"] = 0
    assert failed_names(documents) == ["disruption"]


def test_the_propagation_annotation_is_required(documents):
    deployment = check_manifests.demo_deployment(documents)[1]
    del deployment["metadata"]["annotations"][check_manifests.PROPAGATION_ANNOTATION]
    with pytest.raises(check_manifests.ManifestError, match="endpoint-propagation-seconds"):
        check_manifests.check(documents)


@pytest.mark.parametrize("grace", [30, 31, 32, 45])
def test_the_host_refuses_to_start_exactly_when_the_checker_rejects_the_grace_period(
        documents, demo_binary, tmp_path, grace):
    pod(documents)["terminationGracePeriodSeconds"] = grace
    set_arg(documents, "--supervisor-deadline", f"{grace}s")
    checker_accepts = failed(documents) == []
    assert checker_accepts == (grace >= 31)  # 30 s (the 12 s drain delay inside) + 1 s
    args = local_args(container(documents)["args"])
    if checker_accepts:
        # Starts and becomes ready; killed, not stopped (the stop is the rollout test's).
        demo = demo_tools.Demo(demo_binary, args, storage=str(tmp_path))
        try:
            assert demo.wait_ready(10), demo.lines
        finally:
            demo.kill()
    else:
        run = subprocess.run([demo_binary, "--listen", "127.0.0.1:0", "--storage-dir",
                              str(tmp_path), *args], capture_output=True, text=True, timeout=30)
        output = run.stdout + run.stderr
        assert run.returncode == 78, output
        assert "--supervisor-deadline" in output and f"{grace}s" in output, output


def test_checker_command_line_passes_on_the_shipped_manifests():
    run = subprocess.run([check_manifests.sys.executable, check_manifests.__file__, MANIFESTS],
                         capture_output=True, text=True, timeout=30)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.count("ok   ") == 7 and "FAIL" not in run.stdout


def test_checker_command_line_names_the_failed_check(tmp_path, documents):
    broken = copy.deepcopy(documents)
    pod(broken)["terminationGracePeriodSeconds"] = 30
    for index, (_, doc) in enumerate(broken):
        (tmp_path / f"{index}.yaml").write_text(yaml.safe_dump(doc))
    run = subprocess.run([check_manifests.sys.executable, check_manifests.__file__,
                          str(tmp_path)], capture_output=True, text=True, timeout=30)
    assert run.returncode == 1
    assert "FAIL grace: terminationGracePeriodSeconds 30s" in run.stdout
    assert "FAIL deadline: --supervisor-deadline 45s = terminationGracePeriodSeconds 30s" \
        in run.stdout
