#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Runs lifetime_capi_bench and prints the C ABI's cost as a ratio to the C++ calls.

    python3 bench/capi/capi_ratios.py [--binary build/release/bench/capi/lifetime_capi_bench]
                                      [--repetitions 5] [--min-time 0.2]

Each case runs --repetitions times, interleaved at random; the median is used (CPU time, or
wall-clock time for the cancel cases, which time themselves). A ratio is C / C++ (lower is
better), "ok" at or below 1.5, "within noise" above it by less than the run's spread, else
MISSED. Always exits 0: the table is the result.
"""
import argparse
import json
import os
import shlex
import subprocess
import sys

RATIOS = [
    ("register + unregister: C / C++", "register_unregister", 1.5),
    ("cancel, 1 callback: C / C++", "cancel/1", 1.5),
]
UNIT_NS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}


def collect(report):
    samples = {}
    for entry in report.get("benchmarks", []):
        if entry.get("run_type") != "iteration" or entry.get("error_occurred"):
            continue
        name = entry.get("run_name", entry["name"])
        wall = "manual_time" in name
        case, _, impl = name.split("/iterations")[0].split("/manual_time")[0].rpartition("/")
        value = entry["real_time" if wall else "cpu_time"] * UNIT_NS[entry.get("time_unit", "ns")]
        samples.setdefault((case, impl), []).append(value)
    stats = {}
    for key, values in samples.items():
        values.sort()
        n = len(values)
        median = values[n // 2] if n % 2 else (values[n // 2 - 1] + values[n // 2]) / 2
        stats[key] = {"median": median, "min": values[0], "max": values[-1]}
    return stats


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary",
                        default=os.path.join(root, "build/release/bench/capi/lifetime_capi_bench"))
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument("--min-time", type=float, default=0.2)
    args = parser.parse_args()
    if not os.access(args.binary, os.X_OK):
        print(f"{args.binary} not built: cmake --build --preset release --target "
              "lifetime_capi_bench", file=sys.stderr)
        return 0
    command = [args.binary, "--benchmark_format=json",
               f"--benchmark_repetitions={args.repetitions}",
               f"--benchmark_min_time={args.min_time}",
               "--benchmark_enable_random_interleaving=true"]
    print("$ " + " ".join(shlex.quote(c) for c in command), flush=True)
    result = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=False)
    report = json.loads(result.stdout)
    context = report.get("context", {})
    print(f"{context.get('num_cpus', '?')} CPUs, load average "
          f"{', '.join(f'{x:.2f}' for x in context.get('load_avg', []))}; "
          f"median of {args.repetitions} repetitions\n")
    stats = collect(report)
    print(f"{'ratio':34} {'C':>10} {'C++':>10} {'value':>7} {'target':>7} {'spread':>7}  verdict")
    for label, case, target in RATIOS:
        c, cpp = stats.get((case, "c")), stats.get((case, "cpp"))
        if c is None or cpp is None:
            print(f"{label:34} not run")
            continue
        ratio = c["median"] / cpp["median"]
        spread = max((s["max"] - s["min"]) / s["median"] for s in (c, cpp))
        verdict = ("ok" if ratio <= target else
                   "within noise" if ratio <= target * (1 + spread) else "MISSED")
        print(f"{label:34} {c['median']:8.2f}ns {cpp['median']:8.2f}ns {ratio:7.3f} "
              f"{'<= ' + format(target, 'g'):>7} {spread * 100:6.0f}%  {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
